//! Writes the fuzzers' seed corpus into fuzz/seeds/: one valid packet of each type
//! at each protocol level, and a few property lists.
//!
//! Run from fuzz/: `cargo run --example make_seeds`.

use std::fs;
use std::path::Path;

use mosquitto::protocol::decoder::encode;
use mosquitto::protocol::packet::*;
use mosquitto::protocol::property::{Property, PropertyValue};
use mosquitto::protocol::property_codec::write_properties;

fn prop(id: u8, value: PropertyValue) -> Property {
    Property { id, value }
}

fn user(name: &str, value: &str) -> Property {
    prop(38, PropertyValue::StringPair(name.into(), value.into()))
}

/// Properties to attach at MQTT 5, nothing before it.
fn props_at(version: ProtocolVersion, properties: Vec<Property>) -> Vec<Property> {
    if version.is_v5() {
        properties
    } else {
        Vec::new()
    }
}

fn samples(version: ProtocolVersion) -> Vec<(&'static str, Packet)> {
    let v5 = version.is_v5();
    let ack = |reason_code, reason: &str| Ack {
        packet_id: 42,
        reason_code: if v5 { reason_code } else { 0 },
        properties: props_at(
            version,
            vec![prop(31, PropertyValue::String(reason.into()))],
        ),
    };
    let mut list = vec![
        (
            "connect",
            Packet::Connect(Box::new(Connect {
                protocol: version,
                clean_start: true,
                keep_alive: 60,
                client_id: "seed-client".into(),
                will: Some(Will {
                    topic: "seed/will".into(),
                    payload: b"gone".to_vec(),
                    qos: 1,
                    retain: true,
                    properties: props_at(
                        version,
                        vec![
                            prop(24, PropertyValue::Int32(5)),
                            prop(1, PropertyValue::Byte(1)),
                        ],
                    ),
                }),
                username: Some("user".into()),
                password: Some(b"pass".to_vec()),
                properties: props_at(
                    version,
                    vec![
                        prop(17, PropertyValue::Int32(3600)),
                        prop(33, PropertyValue::Int16(20)),
                        prop(39, PropertyValue::Int32(65536)),
                        user("k", "v"),
                    ],
                ),
            })),
        ),
        (
            "connack",
            Packet::ConnAck(ConnAck {
                session_present: true,
                reason_code: 0,
                properties: props_at(
                    version,
                    vec![
                        prop(18, PropertyValue::String("assigned".into())),
                        prop(19, PropertyValue::Int16(30)),
                        prop(36, PropertyValue::Byte(1)),
                        prop(34, PropertyValue::Int16(10)),
                    ],
                ),
            }),
        ),
        (
            "publish_qos0",
            Packet::Publish(Publish {
                dup: false,
                qos: 0,
                retain: false,
                topic: "a/b".into(),
                packet_id: 0,
                payload: b"hello".to_vec(),
                properties: Vec::new(),
            }),
        ),
        (
            "publish_qos2",
            Packet::Publish(Publish {
                dup: true,
                qos: 2,
                retain: true,
                topic: "sensors/temperature".into(),
                packet_id: 7,
                payload: vec![0, 1, 2, 3, 255],
                properties: props_at(
                    version,
                    vec![
                        prop(2, PropertyValue::Int32(60)),
                        prop(3, PropertyValue::String("text/plain".into())),
                        prop(8, PropertyValue::String("reply/here".into())),
                        prop(9, PropertyValue::Binary(vec![9, 9])),
                        prop(11, PropertyValue::VarInt(300)),
                        prop(35, PropertyValue::Int16(3)),
                    ],
                ),
            }),
        ),
        ("puback", Packet::PubAck(ack(0x10, "none"))),
        ("pubrec", Packet::PubRec(ack(0x00, "ok"))),
        ("pubrel", Packet::PubRel(ack(0x92, "unknown id"))),
        ("pubcomp", Packet::PubComp(ack(0x00, "done"))),
        (
            "subscribe",
            Packet::Subscribe(Subscribe {
                packet_id: 3,
                filters: vec![("a/+".into(), 1), ("b/#".into(), if v5 { 0x2E } else { 2 })],
                properties: props_at(version, vec![prop(11, PropertyValue::VarInt(5))]),
            }),
        ),
        (
            "suback",
            Packet::SubAck(SubAck {
                packet_id: 3,
                reason_codes: vec![1, 2, 0x80],
                properties: props_at(version, vec![user("why", "because")]),
            }),
        ),
        (
            "unsubscribe",
            Packet::Unsubscribe(Unsubscribe {
                packet_id: 4,
                filters: vec!["a/+".into(), "b/#".into()],
                properties: props_at(version, vec![user("a", "b")]),
            }),
        ),
        (
            "unsuback",
            Packet::UnsubAck(UnsubAck {
                packet_id: 4,
                reason_codes: if v5 { vec![0x00, 0x11] } else { Vec::new() },
                properties: Vec::new(),
            }),
        ),
        ("pingreq", Packet::PingReq),
        ("pingresp", Packet::PingResp),
        (
            "disconnect",
            Packet::Disconnect(ReasonOnly {
                reason_code: if v5 { 0x8E } else { 0 },
                properties: props_at(version, vec![prop(17, PropertyValue::Int32(0))]),
            }),
        ),
    ];
    if v5 {
        list.push((
            "auth",
            Packet::Auth(ReasonOnly {
                reason_code: 0x18,
                properties: vec![
                    prop(21, PropertyValue::String("SCRAM-SHA-1".into())),
                    prop(22, PropertyValue::Binary(b"client-first".to_vec())),
                ],
            }),
        ));
    }
    list
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let packets_dir = root.join("decode_packet");
    let properties_dir = root.join("property_list");
    fs::create_dir_all(&packets_dir).unwrap();
    fs::create_dir_all(&properties_dir).unwrap();

    let mut stream = Vec::new();
    for version in [
        ProtocolVersion::V31,
        ProtocolVersion::V311,
        ProtocolVersion::V5,
    ] {
        for (name, packet) in samples(version) {
            let mut bytes = Vec::new();
            encode(&packet, version, &mut bytes).expect("seed packets are valid");
            fs::write(
                packets_dir.join(format!("{name}-{}.bin", version as u8)),
                &bytes,
            )
            .unwrap();
            stream.extend_from_slice(&bytes);
            let properties = match &packet {
                Packet::Connect(p) => &p.properties,
                Packet::Publish(p) => &p.properties,
                Packet::ConnAck(p) => &p.properties,
                Packet::Subscribe(p) => &p.properties,
                Packet::Auth(p) | Packet::Disconnect(p) => &p.properties,
                Packet::PubAck(p) | Packet::PubRel(p) => &p.properties,
                _ => continue,
            };
            if version.is_v5() {
                let mut list = Vec::new();
                write_properties(&mut list, properties).unwrap();
                fs::write(properties_dir.join(format!("{name}.bin")), list).unwrap();
            }
        }
    }
    // Several packets back to back, as they arrive on a socket.
    fs::write(packets_dir.join("stream.bin"), stream).unwrap();
}
