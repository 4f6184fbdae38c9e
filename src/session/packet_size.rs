//! The encoded size of the packets we send, to honour the broker's Maximum Packet
//! Size before a packet is queued rather than after it is written.

use crate::protocol::packet::ProtocolVersion;
use crate::protocol::property::{Property, PropertyValue};

pub fn publish(
    protocol: ProtocolVersion,
    topic: &str,
    payload_len: usize,
    qos: u8,
    properties: &[Property],
) -> usize {
    let packet_id = if qos > 0 { 2 } else { 0 };
    let remaining =
        2 + topic.len() + packet_id + property_section(protocol, properties) + payload_len;
    with_fixed_header(remaining)
}

pub fn subscribe(
    protocol: ProtocolVersion,
    filters: &[(String, u8)],
    properties: &[Property],
) -> usize {
    let filters: usize = filters.iter().map(|(f, _)| 2 + f.len() + 1).sum();
    with_fixed_header(2 + property_section(protocol, properties) + filters)
}

pub fn unsubscribe(
    protocol: ProtocolVersion,
    filters: &[String],
    properties: &[Property],
) -> usize {
    let filters: usize = filters.iter().map(|f| 2 + f.len()).sum();
    with_fixed_header(2 + property_section(protocol, properties) + filters)
}

fn with_fixed_header(remaining: usize) -> usize {
    1 + varint_len(remaining) + remaining
}

/// The property length and the properties; absent before MQTT 5.
fn property_section(protocol: ProtocolVersion, properties: &[Property]) -> usize {
    if !protocol.is_v5() {
        return 0;
    }
    let len: usize = properties.iter().map(property_len).sum();
    varint_len(len) + len
}

fn property_len(property: &Property) -> usize {
    // Every identifier MQTT 5 defines is below 128: one byte as a variable integer.
    1 + match &property.value {
        PropertyValue::Byte(_) => 1,
        PropertyValue::Int16(_) => 2,
        PropertyValue::Int32(_) => 4,
        PropertyValue::VarInt(v) => varint_len(*v as usize),
        PropertyValue::Binary(b) => 2 + b.len(),
        PropertyValue::String(s) => 2 + s.len(),
        PropertyValue::StringPair(k, v) => 4 + k.len() + v.len(),
    }
}

fn varint_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_qos1_publish_has_a_two_byte_fixed_header() {
        // 0x32, remaining length, "\0\x01t", id, payload "hi"
        assert_eq!(
            publish(ProtocolVersion::V311, "t", 2, 1, &[]),
            2 + 3 + 2 + 2
        );
    }

    #[test]
    fn mqtt5_adds_the_property_length() {
        let props = vec![Property {
            id: 0x01,
            value: PropertyValue::Byte(1),
        }];
        assert_eq!(
            publish(ProtocolVersion::V5, "t", 0, 0, &props),
            2 + 3 + 1 + 2
        );
    }

    #[test]
    fn remaining_length_of_128_takes_two_bytes() {
        assert_eq!(
            publish(ProtocolVersion::V311, "t", 125, 0, &[]),
            1 + 2 + 128
        );
    }
}
