//! skeeter's QoS downgrade (`skeeter_max_qos_set`) against the scripted fake
//! broker, byte for byte: a publish and a subscription above the ceiling go at
//! the ceiling, a fixed one or the Maximum QoS of an MQTT 5 CONNACK; without it,
//! libmosquitto's refusal stays. Ours only.

mod support;

use std::time::Duration;

use mosquitto::client::qos_ceiling::QosCeiling;
use mosquitto::client::{Client, Target};
use mosquitto::error::Error;
use support::fake_broker::{packet, FakeBroker};
use support::own_loop::loop_until;
use support::stage::against_debian;

const CONNACK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
/// An MQTT 5 CONNACK announcing Maximum QoS 0.
const CONNACK_V5_MAX_QOS_0: [u8; 7] = [0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x00];
/// "t" "hi" at QoS 0, MQTT 3.1.1 and MQTT 5 (an empty property list).
const PUBLISH_QOS0: [u8; 7] = [0x30, 0x05, 0x00, 0x01, b't', b'h', b'i'];
const PUBLISH_QOS0_V5: [u8; 8] = [0x30, 0x06, 0x00, 0x01, b't', 0x00, b'h', b'i'];
/// SUBSCRIBE mid 2 to "s" at QoS 0 (asked at 2).
const SUBSCRIBE_S_QOS0: [u8; 8] = [0x82, 0x06, 0x00, 0x02, 0x00, 0x01, b's', 0x00];

fn connected_client(broker: &FakeBroker, protocol: i32, ceiling: QosCeiling) -> Client {
    let client = Client::new(Some(b"c1"), true, 0).unwrap();
    client
        .with_options(|o| o.set_protocol_level(protocol))
        .unwrap();
    client.with_state(|s| s.resilience.qos_ceiling = ceiling);
    let target = Target::new("127.0.0.1".into(), i32::from(broker.port()), 60, None).unwrap();
    client.connect(target, true).unwrap();
    loop_until(&client, || {
        client.with_state(|s| s.stats().connected_since.is_some())
    });
    client
}

#[test]
fn with_a_fixed_ceiling_a_publish_and_a_subscription_go_at_it() {
    if against_debian() {
        return;
    }
    let broker = FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        .send(&CONNACK)
        .expect(&PUBLISH_QOS0)
        .expect(&SUBSCRIBE_S_QOS0)
        .start();
    let client = connected_client(&broker, 4, QosCeiling::Fixed(0));
    client.publish("t", b"hi", 1, false, Vec::new()).unwrap();
    client.subscribe(vec![("s".into(), 2)], Vec::new()).unwrap();
    loop_until(&client, || broker.is_finished());
    broker.finish();
}

#[test]
fn following_the_broker_a_publish_goes_at_its_mqtt_5_maximum_qos() {
    if against_debian() {
        return;
    }
    let broker = FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        .send(&CONNACK_V5_MAX_QOS_0)
        .expect(&PUBLISH_QOS0_V5)
        .start();
    let client = connected_client(&broker, 5, QosCeiling::Broker);
    client.publish("t", b"hi", 2, false, Vec::new()).unwrap();
    loop_until(&client, || broker.is_finished());
    broker.finish();
}

#[test]
fn without_a_ceiling_the_brokers_maximum_qos_refuses_as_in_libmosquitto() {
    if against_debian() {
        return;
    }
    let broker = FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        .send(&CONNACK_V5_MAX_QOS_0)
        .expect_silence(Duration::from_millis(200))
        .start();
    let client = connected_client(&broker, 5, QosCeiling::Off);
    assert_eq!(
        client.publish("t", b"hi", 1, false, Vec::new()),
        Err(Error::QosNotSupported)
    );
    loop_until(&client, || broker.is_finished());
    broker.finish();
}
