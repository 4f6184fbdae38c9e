//! skeeter's cap on incoming packets (`skeeter_max_incoming_packet_set`)
//! against the scripted fake broker: a packet under the cap arrives, one whose
//! header announces more ends the connection before it is read, over MQTT 3.1.1
//! as over MQTT 5, where the cap is also the CONNECT's Maximum Packet Size.
//! Ours only.

mod support;

use std::sync::{Arc, Mutex};

use mosquitto::client::{Client, Target};
use mosquitto::error::Error;
use support::fake_broker::{packet, FakeBroker};
use support::own_loop::loop_until;
use support::stage::against_debian;

const CONNACK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const CONNACK_V5: [u8; 5] = [0x20, 0x03, 0x00, 0x00, 0x00];
/// The header of a QoS 0 PUBLISH announcing 1 MiB, and the first bytes of it.
const PUBLISH_1_MIB: [u8; 8] = [0x30, 0x80, 0x80, 0x40, 0x00, 0x01, b't', b'x'];
/// Maximum Packet Size 100, as CONNECT carries it.
const MAXIMUM_PACKET_SIZE_100: [u8; 5] = [0x27, 0x00, 0x00, 0x00, 100];

/// A QoS 0 PUBLISH to "t" of `payload_len` bytes, MQTT 3.1.1.
fn publish(payload_len: usize) -> Vec<u8> {
    let mut bytes = vec![0x30, (3 + payload_len) as u8, 0x00, 0x01, b't'];
    bytes.resize(5 + payload_len, b'p');
    bytes
}

type Seen = Arc<Mutex<Vec<String>>>;

fn client(broker: &FakeBroker, protocol: i32, cap: u32) -> (Client, Seen) {
    let client = Client::new(Some(b"c1"), true, 0).unwrap();
    client
        .with_options(|o| o.set_protocol_level(protocol))
        .unwrap();
    client.with_state(|s| s.resilience.incoming_cap = Some(cap));
    let seen: Seen = Arc::default();
    let (a, b) = (seen.clone(), seen.clone());
    client.set_callbacks(|cb| {
        cb.on_message = Some(Arc::new(move |m| {
            a.lock()
                .unwrap()
                .push(format!("message {}", m.payload.len()))
        }));
        cb.on_disconnect = Some(Arc::new(move |rc| {
            b.lock().unwrap().push(format!("disconnect {rc}"))
        }));
    });
    let target = Target::new("127.0.0.1".into(), i32::from(broker.port()), 60, None).unwrap();
    client.connect(target, true).unwrap();
    (client, seen)
}

fn has(seen: &Seen, what: &str) -> bool {
    seen.lock().unwrap().iter().any(|s| s == what)
}

#[test]
fn over_mqtt_3_a_packet_announcing_more_than_the_cap_ends_the_connection() {
    if against_debian() {
        return;
    }
    let broker = FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        .send(&CONNACK)
        .send(&publish(50))
        .send(&PUBLISH_1_MIB)
        .expect_closed()
        .start();
    let (client, seen) = client(&broker, 4, 100);
    let oversize = format!("disconnect {}", Error::OversizePacket.code());
    loop_until(&client, || has(&seen, &oversize));
    assert_eq!(
        *seen.lock().unwrap(),
        ["message 50".to_string(), oversize],
        "the packet under the cap arrived, the one over it ended the connection"
    );
    broker.finish();
}

#[test]
fn over_mqtt_5_the_cap_is_announced_and_enforced_with_reason_0x95() {
    if against_debian() {
        return;
    }
    let broker = FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        .send(&CONNACK_V5)
        .send(&PUBLISH_1_MIB)
        .expect_packet_type(packet::DISCONNECT)
        .expect_closed()
        .start();
    let (client, seen) = client(&broker, 5, 100);
    loop_until(&client, || broker.is_finished());
    let transcript = broker.finish();
    let connect = &transcript.received[0];
    assert!(
        connect
            .windows(MAXIMUM_PACKET_SIZE_100.len())
            .any(|w| w == MAXIMUM_PACKET_SIZE_100),
        "no Maximum Packet Size 100 in CONNECT {connect:02x?}"
    );
    assert_eq!(transcript.received[1][2], 0x95, "Packet too large");
    assert!(seen
        .lock()
        .unwrap()
        .iter()
        .all(|s| !s.starts_with("message")));
}
