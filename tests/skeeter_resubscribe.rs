//! skeeter's re-subscribe (`skeeter_resubscribe_set`) against the scripted fake
//! broker, byte for byte: after a reconnect whose CONNACK says the session is
//! gone, the program's subscriptions (minus what it unsubscribed) go first,
//! before the queued messages, and their SUBACK reaches `on_subscribe`. The
//! program runs its own loop here (`mosquitto_loop` and `mosquitto_reconnect`).
//! Ours only.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mosquitto::client::{Client, Target};
use support::fake_broker::FakeBroker;
use support::own_loop::loop_until;
use support::stage::against_debian;

const CONNACK_NO_SESSION: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const CONNACK_SESSION_PRESENT: [u8; 4] = [0x20, 0x02, 0x01, 0x00];
/// CONNECT from client "c1", MQTT 3.1.1, clean session off, keepalive 60.
const CONNECT_C1: [u8; 16] = [
    0x10, 0x0e, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x00, 0x00, 0x3c, 0x00, 0x02, b'c', b'1',
];
/// SUBSCRIBE mid 1 to "a/#" at QoS 1, and its SUBACK.
const SUBSCRIBE_A: [u8; 10] = [0x82, 0x08, 0x00, 0x01, 0x00, 0x03, b'a', b'/', b'#', 0x01];
const SUBACK_1: [u8; 5] = [0x90, 0x03, 0x00, 0x01, 0x01];
/// PUBLISH mid 2, QoS 1, "t" "hi"; the same again with DUP.
const PUBLISH_2: [u8; 9] = [0x32, 0x07, 0x00, 0x01, b't', 0x00, 0x02, b'h', b'i'];
const PUBLISH_2_DUP: [u8; 9] = [0x3a, 0x07, 0x00, 0x01, b't', 0x00, 0x02, b'h', b'i'];
/// SUBSCRIBE mid 3 to "b" at QoS 0 and its SUBACK; UNSUBSCRIBE mid 4 and its UNSUBACK.
const SUBSCRIBE_B: [u8; 8] = [0x82, 0x06, 0x00, 0x03, 0x00, 0x01, b'b', 0x00];
const SUBACK_3: [u8; 5] = [0x90, 0x03, 0x00, 0x03, 0x00];
const UNSUBSCRIBE_B: [u8; 7] = [0xa2, 0x05, 0x00, 0x04, 0x00, 0x01, b'b'];
const UNSUBACK_4: [u8; 4] = [0xb0, 0x02, 0x00, 0x04];
/// The renewal: "a/#" again, at QoS 1, as mid 5; its SUBACK.
const RESUBSCRIBE_A: [u8; 10] = [0x82, 0x08, 0x00, 0x05, 0x00, 0x03, b'a', b'/', b'#', 0x01];
const SUBACK_5: [u8; 5] = [0x90, 0x03, 0x00, 0x05, 0x01];

/// The callbacks' record, in order.
type Seen = Arc<Mutex<Vec<String>>>;

fn client(resubscribe: bool) -> (Arc<Client>, Seen) {
    let client = Arc::new(Client::new(Some(b"c1"), false, 0).unwrap());
    client.set_resubscribe(resubscribe);
    let seen: Seen = Arc::default();
    let (a, b) = (seen.clone(), seen.clone());
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |rc| {
            a.lock().unwrap().push(format!("connect {rc}"))
        }));
        cb.on_subscribe = Some(Arc::new(move |mid, granted| {
            b.lock()
                .unwrap()
                .push(format!("subscribe {mid} {granted:?}"))
        }));
    });
    (client, seen)
}

fn has(seen: &Seen, what: &str) -> bool {
    seen.lock().unwrap().iter().any(|s| s == what)
}

/// The first connection: subscribe to "a/#", publish a QoS 1 message left
/// unacknowledged, subscribe to "b" and unsubscribe it; the broker then drops the connection.
fn first_connection(broker: &FakeBroker, client: &Client, seen: &Seen) {
    let target = Target::new("127.0.0.1".into(), i32::from(broker.port()), 60, None).unwrap();
    client.connect(target, true).unwrap();
    loop_until(client, || has(seen, "connect 0"));
    client
        .subscribe(vec![("a/#".into(), 1)], Vec::new())
        .unwrap();
    loop_until(client, || has(seen, "subscribe 1 [1]"));
    client.publish("t", b"hi", 1, false, Vec::new()).unwrap();
    client.subscribe(vec![("b".into(), 0)], Vec::new()).unwrap();
    loop_until(client, || has(seen, "subscribe 3 [0]"));
    client.unsubscribe(vec!["b".into()], Vec::new()).unwrap();
    loop_until(client, || client.socket() == -1);
}

/// The script of `first_connection`, then the second connection's CONNECT.
fn first_connection_script() -> support::fake_broker::Script {
    FakeBroker::script()
        .expect(&CONNECT_C1)
        .send(&CONNACK_NO_SESSION)
        .expect(&SUBSCRIBE_A)
        .send(&SUBACK_1)
        .expect(&PUBLISH_2)
        .expect(&SUBSCRIBE_B)
        .send(&SUBACK_3)
        .expect(&UNSUBSCRIBE_B)
        .send(&UNSUBACK_4)
        .close()
        .accept()
        .expect(&CONNECT_C1)
}

#[test]
fn after_a_reconnect_without_a_session_the_subscriptions_go_before_the_queued_message() {
    if against_debian() {
        return;
    }
    let broker = first_connection_script()
        .send(&CONNACK_NO_SESSION)
        .expect(&RESUBSCRIBE_A)
        .expect(&PUBLISH_2_DUP)
        .send(&SUBACK_5)
        .expect_silence(Duration::from_millis(300))
        .start();
    let (client, seen) = client(true);
    first_connection(&broker, &client, &seen);
    client.reconnect(true).unwrap();
    loop_until(&client, || has(&seen, "subscribe 5 [1]"));
    loop_until(&client, || broker.is_finished());
    broker.finish();
}

#[test]
fn after_a_reconnect_that_kept_the_session_nothing_is_subscribed_again() {
    if against_debian() {
        return;
    }
    let broker = first_connection_script()
        .send(&CONNACK_SESSION_PRESENT)
        .expect(&PUBLISH_2_DUP)
        .expect_silence(Duration::from_millis(300))
        .start();
    let (client, seen) = client(true);
    first_connection(&broker, &client, &seen);
    client.reconnect(true).unwrap();
    loop_until(&client, || broker.is_finished());
    broker.finish();
}

#[test]
fn without_re_subscribe_a_lost_session_loses_the_subscriptions_as_in_libmosquitto() {
    if against_debian() {
        return;
    }
    let broker = first_connection_script()
        .send(&CONNACK_NO_SESSION)
        .expect(&PUBLISH_2_DUP)
        .expect_silence(Duration::from_millis(300))
        .start();
    let (client, seen) = client(false);
    first_connection(&broker, &client, &seen);
    client.reconnect(true).unwrap();
    loop_until(&client, || broker.is_finished());
    broker.finish();
}

/// SUBSCRIBE mid 1 to "lost" at QoS 1, never answered; the renewal as mid 2
/// and its SUBACK.
const SUBSCRIBE_LOST: [u8; 11] = [
    0x82, 0x09, 0x00, 0x01, 0x00, 0x04, b'l', b'o', b's', b't', 0x01,
];
const RESUBSCRIBE_LOST: [u8; 11] = [
    0x82, 0x09, 0x00, 0x02, 0x00, 0x04, b'l', b'o', b's', b't', 0x01,
];
const SUBACK_2: [u8; 5] = [0x90, 0x03, 0x00, 0x02, 0x01];

/// A first connection whose SUBSCRIBE to "lost" is read and never answered
/// (the connection drops first), then a reconnect that keeps the session.
fn lost_before_its_suback(resubscribe: bool) -> (FakeBroker, Arc<Client>, Seen) {
    let script = FakeBroker::script()
        .expect(&CONNECT_C1)
        .send(&CONNACK_NO_SESSION)
        .expect(&SUBSCRIBE_LOST)
        .close()
        .accept()
        .expect(&CONNECT_C1)
        .send(&CONNACK_SESSION_PRESENT);
    let script = if resubscribe {
        script.expect(&RESUBSCRIBE_LOST).send(&SUBACK_2)
    } else {
        script
    };
    let broker = script.expect_silence(Duration::from_millis(300)).start();
    let (client, seen) = client(resubscribe);
    let target = Target::new("127.0.0.1".into(), i32::from(broker.port()), 60, None).unwrap();
    client.connect(target, true).unwrap();
    loop_until(&client, || has(&seen, "connect 0"));
    client
        .subscribe(vec![("lost".into(), 1)], Vec::new())
        .unwrap();
    loop_until(&client, || client.socket() == -1);
    client.reconnect(true).unwrap();
    (broker, client, seen)
}

#[test]
fn a_subscribe_lost_before_its_suback_is_sent_again_when_the_broker_kept_the_session() {
    if against_debian() {
        return;
    }
    let (broker, client, seen) = lost_before_its_suback(true);
    loop_until(&client, || has(&seen, "subscribe 2 [1]"));
    loop_until(&client, || broker.is_finished());
    broker.finish();
}

#[test]
fn without_re_subscribe_a_subscribe_lost_before_its_suback_stays_lost_as_in_libmosquitto() {
    if against_debian() {
        return;
    }
    let (broker, client, _seen) = lost_before_its_suback(false);
    loop_until(&client, || broker.is_finished());
    broker.finish();
}
