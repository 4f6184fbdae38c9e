//! skeeter's bounded offline queue (`skeeter_offline_queue_set`) against real
//! brokers: a publisher whose broker dies publishes five messages, QoS 0 and 1,
//! while offline with a bound of three (drop the oldest, keep QoS 0); the two
//! oldest are dropped, counted and logged; when the server list takes it to a
//! second broker, the three kept arrive there in order. Ours only.

mod support;

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use mosquitto::client::server_list::Server;
use mosquitto::client::{Client, Target};
use mosquitto::session::offline_queue::{OfflineBound, WhenFull};
use support::broker::Broker;
use support::publisher::wait_until;
use support::stage::against_debian;

type Seen = Arc<Mutex<Vec<String>>>;

/// A subscriber to `q/#` on `broker`, on its loop thread, recording payloads.
fn subscriber(broker: &Broker) -> (Arc<Client>, Seen) {
    let client = Arc::new(Client::new(Some(b"offline-sub"), true, 0).unwrap());
    let seen: Seen = Arc::default();
    let (heard, connected) = (seen.clone(), Arc::new(Mutex::new(false)));
    let up = connected.clone();
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |rc| *up.lock().unwrap() = rc == 0));
        cb.on_message = Some(Arc::new(move |m| {
            heard
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&m.payload).into_owned())
        }));
    });
    let target = Target::new("127.0.0.1".into(), i32::from(broker.port), 60, None).unwrap();
    client.connect(target, true).unwrap();
    client.loop_start().unwrap();
    wait_until(10, "the subscriber did not connect", || {
        *connected.lock().unwrap()
    });
    client
        .subscribe(vec![("q/#".into(), 1)], Vec::new())
        .unwrap();
    thread::sleep(Duration::from_millis(200));
    (client, seen)
}

#[test]
fn messages_published_offline_beyond_the_bound_drop_the_oldest_and_the_rest_arrive_in_order() {
    if against_debian() {
        return;
    }
    let mut first = Broker::start();
    let second = Broker::start();
    let (sub, heard) = subscriber(&second);

    let publisher = Arc::new(Client::new(Some(b"offline-pub"), true, 0).unwrap());
    publisher.set_servers(vec![
        Server::parse(&format!("mqtt://127.0.0.1:{}", first.port)).unwrap(),
        Server::parse(&format!("mqtt://127.0.0.1:{}", second.port)).unwrap(),
    ]);
    publisher.with_options(|o| o.set_reconnect_delay(1, 1, false));
    publisher.set_offline_bound(Some(OfflineBound {
        max_messages: 3,
        max_bytes: 0,
        when_full: WhenFull::DropOldest,
        keep_qos0: true,
    }));
    let log: Seen = Arc::default();
    let lines = log.clone();
    publisher.set_callbacks(|cb| {
        cb.on_log = Some(Arc::new(move |_, line| {
            lines.lock().unwrap().push(line.to_string())
        }))
    });
    let target = Target::new("ignored".into(), 1, 60, None).unwrap();
    publisher.connect(target, true).unwrap();
    publisher.loop_start().unwrap();
    let stats = || publisher.with_state(|s| s.stats());
    wait_until(10, "the publisher did not connect", || {
        stats().connected_since.is_some()
    });

    first.stop();
    wait_until(5, "the publisher did not notice", || {
        stats().connected_since.is_none()
    });
    // Within the reconnect delay (1 s): all five are published offline.
    for (n, qos) in [1, 0, 1, 0, 1].into_iter().enumerate() {
        publisher
            .publish("q/x", format!("m{n}").as_bytes(), qos, false, Vec::new())
            .unwrap();
    }
    let offline = stats();
    assert_eq!((offline.messages_queued, offline.dropped), (3, 2));

    wait_until(15, "the kept messages did not arrive", || {
        heard.lock().unwrap().len() >= 3
    });
    thread::sleep(Duration::from_millis(300));
    assert_eq!(*heard.lock().unwrap(), ["m2", "m3", "m4"]);
    let dropped_lines = log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("dropped message") && l.contains("offline queue"))
        .count();
    assert_eq!(dropped_lines, 2, "each dropped message logged once");
    assert_eq!(stats().dropped, 2);
    publisher.loop_stop(true).unwrap();
    sub.loop_stop(true).unwrap();
}
