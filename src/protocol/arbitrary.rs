//! Random, valid packets for the codec's property tests: every field within what
//! the protocol allows at the given level, so that what is written reads back equal.

use proptest::prelude::*;
use proptest::sample::{select, subsequence};

use super::codec::mqtt_str;
use super::packet::*;
use super::property::{Properties, Property, PropertyType, PropertyValue};
use super::property_codec::identifiers_for;
use super::reason;

pub fn version() -> impl Strategy<Value = ProtocolVersion> {
    select(vec![
        ProtocolVersion::V31,
        ProtocolVersion::V311,
        ProtocolVersion::V5,
    ])
}

/// A character MQTT allows in a string, drawn from all of Unicode.
fn mqtt_char() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("MQTT forbids it", |c| {
        mqtt_str(c.to_string().as_bytes()).is_ok()
    })
}

pub fn string(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(mqtt_char(), 0..=max).prop_map(|chars| chars.into_iter().collect())
}

fn topic_name() -> impl Strategy<Value = String> {
    prop::collection::vec(
        mqtt_char().prop_filter("wildcard", |c| *c != '+' && *c != '#'),
        1..=12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn filter() -> impl Strategy<Value = String> {
    string(12).prop_filter("empty filter", |f| !f.is_empty())
}

fn binary() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..16)
}

fn value(id: u8, kind: PropertyType) -> BoxedStrategy<Property> {
    let value = match kind {
        // Every one-byte property is a 0/1 flag.
        PropertyType::Byte => (0..=1u8).prop_map(PropertyValue::Byte).boxed(),
        PropertyType::Int16 => (1..=u16::MAX).prop_map(PropertyValue::Int16).boxed(),
        PropertyType::Int32 => (1..=u32::MAX).prop_map(PropertyValue::Int32).boxed(),
        PropertyType::VarInt => (1..=268_435_455u32).prop_map(PropertyValue::VarInt).boxed(),
        PropertyType::Binary => binary().prop_map(PropertyValue::Binary).boxed(),
        PropertyType::String => string(10).prop_map(PropertyValue::String).boxed(),
        PropertyType::StringPair => (string(6), string(6))
            .prop_map(|(k, v)| PropertyValue::StringPair(k, v))
            .boxed(),
    };
    value.prop_map(move |value| Property { id, value }).boxed()
}

/// Some of the properties `command` allows, each at most once, then a few user
/// properties (which may repeat).
pub fn properties(command: u8) -> BoxedStrategy<Properties> {
    let ids = identifiers_for(command);
    let max = ids.len();
    let user_property = value(38, PropertyType::StringPair);
    (
        subsequence(ids, 0..=max),
        prop::collection::vec(user_property, 0..3),
    )
        .prop_flat_map(|(ids, users)| {
            let once: Vec<_> = ids
                .into_iter()
                .filter(|(id, _)| *id != 38)
                .map(|(id, kind)| value(id, kind))
                .collect();
            (once, Just(users))
        })
        .prop_map(|(mut once, users)| {
            once.extend(users);
            once
        })
        .boxed()
}

/// Properties for `version`: always empty before MQTT 5.
fn properties_at(version: ProtocolVersion, command: u8) -> BoxedStrategy<Properties> {
    if version.is_v5() {
        properties(command)
    } else {
        Just(Vec::new()).boxed()
    }
}

fn reason_code(version: ProtocolVersion, command: u8) -> BoxedStrategy<u8> {
    if version.is_v5() {
        select(reason::allowed(command)).boxed()
    } else {
        Just(0).boxed()
    }
}

fn packet_id() -> impl Strategy<Value = u16> {
    1..=u16::MAX
}

fn will(version: ProtocolVersion) -> impl Strategy<Value = Will> {
    (
        topic_name(),
        binary(),
        0..=2u8,
        any::<bool>(),
        properties_at(version, CMD_WILL),
    )
        .prop_map(|(topic, payload, qos, retain, properties)| Will {
            topic,
            payload,
            qos,
            retain,
            properties,
        })
}

fn connect(version: ProtocolVersion) -> impl Strategy<Value = Connect> {
    (
        any::<bool>(),
        any::<u16>(),
        string(23),
        prop::option::of(will(version)),
        prop::option::of(string(10)),
        prop::option::of(binary()),
        properties_at(version, CMD_CONNECT),
    )
        .prop_map(
            move |(clean_start, keep_alive, client_id, will, username, password, properties)| {
                // Before MQTT 5 a password needs a username.
                let password = if version.is_v5() || username.is_some() {
                    password
                } else {
                    None
                };
                Connect {
                    protocol: version,
                    clean_start,
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                    properties,
                }
            },
        )
}

fn connack(version: ProtocolVersion) -> impl Strategy<Value = ConnAck> {
    let code = if version.is_v5() {
        reason_code(version, CMD_CONNACK)
    } else {
        any::<u8>().boxed()
    };
    (any::<bool>(), code, properties_at(version, CMD_CONNACK)).prop_map(
        |(session_present, reason_code, properties)| ConnAck {
            session_present,
            reason_code,
            properties,
        },
    )
}

fn publish(version: ProtocolVersion) -> impl Strategy<Value = Publish> {
    (
        0..=2u8,
        any::<bool>(),
        any::<bool>(),
        topic_name(),
        packet_id(),
        prop::collection::vec(any::<u8>(), 0..64),
        properties_at(version, CMD_PUBLISH),
    )
        .prop_map(
            move |(qos, dup, retain, topic, id, payload, properties)| Publish {
                dup: dup && (qos > 0 || !version.is_v5()),
                qos,
                retain,
                topic,
                packet_id: if qos > 0 { id } else { 0 },
                payload,
                properties,
            },
        )
}

fn ack(version: ProtocolVersion, command: u8) -> impl Strategy<Value = Ack> {
    (
        packet_id(),
        reason_code(version, command),
        properties_at(version, command),
    )
        .prop_map(|(packet_id, reason_code, properties)| Ack {
            packet_id,
            reason_code,
            properties,
        })
}

fn subscribe(version: ProtocolVersion) -> impl Strategy<Value = Subscribe> {
    let options = if version.is_v5() {
        // QoS, No Local, Retain As Published, Retain Handling 0 to 2.
        (0..=2u8, any::<bool>(), any::<bool>(), 0..=2u8)
            .prop_map(|(qos, nl, rap, rh)| {
                qos | (u8::from(nl) << 2) | (u8::from(rap) << 3) | (rh << 4)
            })
            .boxed()
    } else {
        (0..=2u8).boxed()
    };
    (
        packet_id(),
        prop::collection::vec((filter(), options), 1..4),
        properties_at(version, CMD_SUBSCRIBE),
    )
        .prop_map(|(packet_id, filters, properties)| Subscribe {
            packet_id,
            filters,
            properties,
        })
}

fn suback(version: ProtocolVersion) -> impl Strategy<Value = SubAck> {
    let code = if version.is_v5() {
        reason_code(version, CMD_SUBACK)
    } else {
        select(vec![0x00, 0x01, 0x02, 0x80]).boxed()
    };
    (
        packet_id(),
        prop::collection::vec(code, 1..5),
        properties_at(version, CMD_SUBACK),
    )
        .prop_map(|(packet_id, reason_codes, properties)| SubAck {
            packet_id,
            reason_codes,
            properties,
        })
}

fn unsubscribe(version: ProtocolVersion) -> impl Strategy<Value = Unsubscribe> {
    (
        packet_id(),
        prop::collection::vec(filter(), 1..4),
        properties_at(version, CMD_UNSUBSCRIBE),
    )
        .prop_map(|(packet_id, filters, properties)| Unsubscribe {
            packet_id,
            filters,
            properties,
        })
}

fn unsuback(version: ProtocolVersion) -> impl Strategy<Value = UnsubAck> {
    let count = if version.is_v5() { 1..5 } else { 0..1 };
    (
        packet_id(),
        prop::collection::vec(reason_code(version, CMD_UNSUBACK), count),
        properties_at(version, CMD_UNSUBACK),
    )
        .prop_map(|(packet_id, reason_codes, properties)| UnsubAck {
            packet_id,
            reason_codes,
            properties,
        })
}

fn reason_only(version: ProtocolVersion, command: u8) -> impl Strategy<Value = ReasonOnly> {
    (
        reason_code(version, command),
        properties_at(version, command),
    )
        .prop_map(|(reason_code, properties)| ReasonOnly {
            reason_code,
            properties,
        })
}

/// Any packet `version` has, with random contents.
pub fn packet(version: ProtocolVersion) -> BoxedStrategy<Packet> {
    let every_version = prop_oneof![
        connect(version).prop_map(|c| Packet::Connect(Box::new(c))),
        connack(version).prop_map(Packet::ConnAck),
        publish(version).prop_map(Packet::Publish),
        ack(version, CMD_PUBACK).prop_map(Packet::PubAck),
        ack(version, CMD_PUBREC).prop_map(Packet::PubRec),
        ack(version, CMD_PUBREL).prop_map(Packet::PubRel),
        ack(version, CMD_PUBCOMP).prop_map(Packet::PubComp),
        subscribe(version).prop_map(Packet::Subscribe),
        suback(version).prop_map(Packet::SubAck),
        unsubscribe(version).prop_map(Packet::Unsubscribe),
        unsuback(version).prop_map(Packet::UnsubAck),
        Just(Packet::PingReq),
        Just(Packet::PingResp),
        reason_only(version, CMD_DISCONNECT).prop_map(Packet::Disconnect),
    ];
    if version.is_v5() {
        prop_oneof![14 => every_version, 1 => reason_only(version, CMD_AUTH).prop_map(Packet::Auth)]
            .boxed()
    } else {
        every_version.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeSet;

    #[test]
    fn the_generator_covers_every_packet_type_at_every_level() {
        let mut runner = TestRunner::deterministic();
        for (version, types) in [
            (ProtocolVersion::V31, 14),
            (ProtocolVersion::V311, 14),
            (ProtocolVersion::V5, 15),
        ] {
            let strategy = packet(version);
            let mut seen = BTreeSet::new();
            let mut with_properties = false;
            for _ in 0..2000 {
                let packet = strategy.new_tree(&mut runner).unwrap().current();
                if let Packet::Publish(p) = &packet {
                    with_properties |= !p.properties.is_empty();
                }
                seen.insert(packet.command());
            }
            assert_eq!(seen.len(), types, "{version:?}");
            assert_eq!(with_properties, version.is_v5());
        }
    }
}
