//! skeeter's counters (`skeeter_stats`) against the scripted fake broker: what
//! is in flight each way, what waits for the send window, the reconnects and
//! when the connection was accepted. Ours only.

mod support;

use std::time::{Duration, SystemTime};

use mosquitto::client::resilience::Stats;
use mosquitto::client::{Client, Target};
use support::fake_broker::{packet, FakeBroker};
use support::own_loop::loop_until;
use support::stage::against_debian;

const CONNACK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
/// An incoming QoS 2 PUBLISH, mid 7, whose PUBREL never comes.
const PUBLISH_QOS2_IN: [u8; 9] = [0x34, 0x07, 0x00, 0x01, b't', 0x00, 0x07, b'h', b'i'];
const PUBREC_7: [u8; 4] = [0x50, 0x02, 0x00, 0x07];

fn stats(client: &Client) -> Stats {
    client.with_state(|s| s.stats())
}

#[test]
fn the_counters_follow_messages_each_way_and_the_connection() {
    if against_debian() {
        return;
    }
    let broker = FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        .send(&CONNACK)
        .expect_packet_type(packet::PUBLISH)
        .send(&PUBLISH_QOS2_IN)
        .expect(&PUBREC_7)
        .sleep(Duration::from_millis(200))
        .close()
        .accept()
        .expect_packet_type(packet::CONNECT)
        .send(&CONNACK)
        .drain_until_closed()
        .start();
    let client = Client::new(Some(b"c1"), false, 0).unwrap();
    client.with_options(|o| o.set_send_maximum(1)).unwrap();
    assert_eq!(stats(&client).connected_since, None);
    let target = Target::new("127.0.0.1".into(), i32::from(broker.port()), 60, None).unwrap();
    let before = SystemTime::now();
    client.connect(target, true).unwrap();
    loop_until(&client, || stats(&client).connected_since.is_some());
    let since = stats(&client).connected_since.unwrap();
    // Kept to the millisecond: `since` may be up to 1 ms before `before`.
    assert!(since + Duration::from_millis(1) > before && since <= SystemTime::now());

    // One message in flight, the second waits for the window of 1.
    client.publish("t", b"one", 1, false, Vec::new()).unwrap();
    client.publish("t", b"two", 1, false, Vec::new()).unwrap();
    loop_until(&client, || stats(&client).in_flight_in == 1);
    let now = stats(&client);
    assert_eq!(
        (
            now.in_flight_out,
            now.messages_queued,
            now.in_flight_in,
            now.reconnects
        ),
        (1, 1, 1, 0)
    );
    assert_eq!(now.bytes_unsent, 0, "the socket took everything");
    assert_eq!(now.server_index, -1);

    // The broker closes: nothing is connected; then a reconnect is counted.
    loop_until(&client, || client.socket() == -1);
    assert_eq!(stats(&client).connected_since, None);
    client.reconnect(true).unwrap();
    loop_until(&client, || stats(&client).connected_since.is_some());
    assert_eq!(stats(&client).reconnects, 1);
    assert!(stats(&client).connected_since.unwrap() >= since);
    client.disconnect(0, Vec::new()).unwrap();
    broker.finish();
}
