//! The wire form of an MQTT 5 property list: a variable byte integer length, then
//! each property as its identifier followed by a value of the identifier's type.

use super::codec::{self, Reader};
use super::packet::{ProtocolVersion, CMD_PUBLISH};
use super::property::id::*;
use super::property::{self, Properties, Property, PropertyType, PropertyValue};
use crate::error::{Error, Result};

/// Reads a property list and checks it for `command` (a `CMD_*` value, or
/// `CMD_WILL` for the will properties).
///
/// An unknown identifier or a list longer than the packet is `MalformedPacket`; an
/// identifier not allowed on `command` or a value out of range is `Protocol`; a
/// once-only identifier given twice is `DuplicateProperty`.
pub fn read_properties(reader: &mut Reader<'_>, command: u8) -> Result<Properties> {
    let len = reader.varint()?;
    let mut list = Reader::new(reader.take(len as usize)?);
    let mut properties = Vec::new();
    while !list.is_empty() {
        properties.push(read_property(&mut list)?);
    }
    check_list(command, &properties)?;
    Ok(properties)
}

fn read_property(list: &mut Reader<'_>) -> Result<Property> {
    let id = u8::try_from(list.varint()?).map_err(|_| Error::MalformedPacket)?;
    let kind = kind_of(id).ok_or(Error::MalformedPacket)?;
    let value = match kind {
        PropertyType::Byte => PropertyValue::Byte(list.u8()?),
        PropertyType::Int16 => PropertyValue::Int16(list.u16()?),
        PropertyType::Int32 => PropertyValue::Int32(list.u32()?),
        PropertyType::VarInt => PropertyValue::VarInt(list.varint()?),
        PropertyType::Binary => PropertyValue::Binary(list.binary()?.to_vec()),
        PropertyType::String => PropertyValue::String(list.string()?.to_owned()),
        PropertyType::StringPair => {
            let (name, value) = list.string_pair()?;
            PropertyValue::StringPair(name.to_owned(), value.to_owned())
        }
    };
    Ok(Property { id, value })
}

/// Reads a property list where the protocol has one (MQTT 5); earlier levels have
/// none, so the list is empty.
pub fn read_properties_at(
    reader: &mut Reader<'_>,
    command: u8,
    version: ProtocolVersion,
) -> Result<Properties> {
    if version.is_v5() {
        read_properties(reader, command)
    } else {
        Ok(Vec::new())
    }
}

/// Writes a property list where the protocol has one (MQTT 5).
pub fn write_properties_at(
    out: &mut Vec<u8>,
    properties: &[Property],
    version: ProtocolVersion,
) -> Result<()> {
    if version.is_v5() {
        write_properties(out, properties)
    } else {
        Ok(())
    }
}

/// Appends a property list: its length, then each property in order.
///
/// A property whose value does not have its identifier's type is `Inval`, so what
/// is written always reads back as the same list.
pub fn write_properties(out: &mut Vec<u8>, properties: &[Property]) -> Result<()> {
    let len = u32::try_from(properties_len(properties)).map_err(|_| Error::PayloadSize)?;
    codec::put_varint(out, len)?;
    for property in properties {
        if kind_of(property.id) != Some(property.value.kind()) {
            return Err(Error::Inval);
        }
        codec::put_varint(out, u32::from(property.id))?;
        match &property.value {
            PropertyValue::Byte(v) => codec::put_u8(out, *v),
            PropertyValue::Int16(v) => codec::put_u16(out, *v),
            PropertyValue::Int32(v) => codec::put_u32(out, *v),
            PropertyValue::VarInt(v) => codec::put_varint(out, *v)?,
            PropertyValue::Binary(v) => codec::put_binary(out, v)?,
            PropertyValue::String(v) => codec::put_string(out, v)?,
            PropertyValue::StringPair(name, value) => {
                codec::put_string(out, name)?;
                codec::put_string(out, value)?;
            }
        }
    }
    Ok(())
}

/// The length of a property list's contents, not counting its own length field.
pub fn properties_len(properties: &[Property]) -> usize {
    properties.iter().map(property_len).sum()
}

fn property_len(property: &Property) -> usize {
    let value_len = match &property.value {
        PropertyValue::Byte(_) => 1,
        PropertyValue::Int16(_) => 2,
        PropertyValue::Int32(_) => 4,
        PropertyValue::VarInt(v) => codec::varint_len(*v),
        PropertyValue::Binary(v) => 2 + v.len(),
        PropertyValue::String(v) => 2 + v.len(),
        PropertyValue::StringPair(name, value) => 4 + name.len() + value.len(),
    };
    codec::varint_len(u32::from(property.id)) + value_len
}

/// The whole list on the wire: its length field plus its contents.
pub fn encoded_properties_len(properties: &[Property]) -> usize {
    let len = properties_len(properties);
    codec::varint_len(u32::try_from(len).unwrap_or(u32::MAX)) + len
}

/// Checks a received list: every identifier allowed on `command`, no once-only
/// identifier twice, and each value in the range the protocol allows.
fn check_list(command: u8, properties: &[Property]) -> Result<()> {
    let mut seen = [false; 256];
    for property in properties {
        let allowed = allowed_on(property.id).ok_or(Error::MalformedPacket)?;
        if allowed & command_bit(command) == 0 {
            return Err(Error::Protocol);
        }
        let repeatable = property.id == USER_PROPERTY
            || (property.id == SUBSCRIPTION_IDENTIFIER && command == CMD_PUBLISH);
        let slot = &mut seen[usize::from(property.id)];
        if *slot && !repeatable {
            return Err(Error::DuplicateProperty);
        }
        *slot = true;
        check_value(property)?;
    }
    Ok(())
}

/// Values the protocol forbids: flags other than 0 and 1, and zero where zero
/// would be meaningless. A Topic Alias of 0 is `TopicAliasInvalid`, which MQTT 5
/// answers with its own DISCONNECT reason (0x94).
fn check_value(property: &Property) -> Result<()> {
    if property.id == TOPIC_ALIAS && property.value == PropertyValue::Int16(0) {
        return Err(Error::TopicAliasInvalid);
    }
    let in_range = match (property.id, &property.value) {
        (
            PAYLOAD_FORMAT_INDICATOR
            | REQUEST_PROBLEM_INFORMATION
            | REQUEST_RESPONSE_INFORMATION
            | MAXIMUM_QOS
            | RETAIN_AVAILABLE
            | WILDCARD_SUBSCRIPTION_AVAILABLE
            | SUBSCRIPTION_IDENTIFIER_AVAILABLE
            | SHARED_SUBSCRIPTION_AVAILABLE,
            PropertyValue::Byte(v),
        ) => *v <= 1,
        (RECEIVE_MAXIMUM, PropertyValue::Int16(v)) => *v != 0,
        (MAXIMUM_PACKET_SIZE, PropertyValue::Int32(v)) => *v != 0,
        (SUBSCRIPTION_IDENTIFIER, PropertyValue::VarInt(v)) => *v != 0,
        _ => true,
    };
    if in_range {
        Ok(())
    } else {
        Err(Error::Protocol)
    }
}

/// The bit for `command` in the `allowed` sets below: bit 0 is the will.
fn command_bit(command: u8) -> u16 {
    1 << (command >> 4)
}

fn kind_of(id: u8) -> Option<PropertyType> {
    property::info(id).map(|info| info.kind)
}

fn allowed_on(id: u8) -> Option<u16> {
    property::info(id).map(|info| info.allowed)
}

/// Every identifier allowed on `command`, with its value type: what the property
/// tests draw from.
#[cfg(test)]
pub(crate) fn identifiers_for(command: u8) -> Vec<(u8, PropertyType)> {
    property::all()
        .iter()
        .filter(|info| info.allowed & command_bit(command) != 0)
        .map(|info| (info.id, info.kind))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::packet::{CMD_CONNACK, CMD_CONNECT, CMD_PUBACK, CMD_SUBSCRIBE, CMD_WILL};

    fn read(bytes: &[u8], command: u8) -> Result<Properties> {
        let mut reader = Reader::new(bytes);
        let properties = read_properties(&mut reader, command)?;
        reader.finish()?;
        Ok(properties)
    }

    fn written(properties: &[Property]) -> Vec<u8> {
        let mut out = Vec::new();
        write_properties(&mut out, properties).unwrap();
        out
    }

    fn prop(id: u8, value: PropertyValue) -> Property {
        Property { id, value }
    }

    #[test]
    fn an_empty_list_is_one_zero_byte() {
        assert_eq!(written(&[]), [0x00]);
        assert_eq!(read(&[0x00], CMD_PUBLISH), Ok(vec![]));
    }

    #[test]
    fn every_value_type_round_trips() {
        let properties = vec![
            prop(1, PropertyValue::Byte(1)),
            prop(35, PropertyValue::Int16(0x1234)),
            prop(2, PropertyValue::Int32(0xDEADBEEF)),
            prop(11, PropertyValue::VarInt(300)),
            prop(9, PropertyValue::Binary(vec![0, 1, 2])),
            prop(3, PropertyValue::String("text/plain".into())),
            prop(38, PropertyValue::StringPair("k".into(), "v".into())),
        ];
        let bytes = written(&properties);
        assert_eq!(bytes[0] as usize, bytes.len() - 1);
        assert_eq!(bytes.len() - 1, properties_len(&properties));
        assert_eq!(bytes.len(), encoded_properties_len(&properties));
        assert_eq!(read(&bytes, CMD_PUBLISH), Ok(properties));
    }

    #[test]
    fn values_are_big_endian_after_the_identifier() {
        let bytes = written(&[
            prop(33, PropertyValue::Int16(20)),
            prop(17, PropertyValue::Int32(60)),
        ]);
        assert_eq!(bytes, [8, 33, 0, 20, 17, 0, 0, 0, 60]);
        let bytes = written(&[prop(38, PropertyValue::StringPair("a".into(), "bc".into()))]);
        assert_eq!(bytes, [8, 38, 0, 1, b'a', 0, 2, b'b', b'c']);
    }

    #[test]
    fn an_unknown_identifier_is_malformed() {
        assert_eq!(
            read(&[2, 0x04, 0], CMD_PUBLISH),
            Err(Error::MalformedPacket)
        );
        assert_eq!(
            read(&[3, 0x80, 0x01, 0], CMD_PUBLISH),
            Err(Error::MalformedPacket)
        );
    }

    #[test]
    fn a_list_longer_than_the_packet_is_malformed() {
        assert_eq!(read(&[5, 1, 0], CMD_PUBLISH), Err(Error::MalformedPacket));
        // The value itself runs past the list's declared end.
        assert_eq!(
            read(&[2, 2, 0, 0, 0, 1], CMD_PUBLISH),
            Err(Error::MalformedPacket)
        );
    }

    #[test]
    fn a_property_on_the_wrong_packet_is_a_protocol_error() {
        // Topic Alias is for PUBLISH only.
        assert_eq!(read(&[3, 35, 0, 1], CMD_PUBACK), Err(Error::Protocol));
        // Will Delay Interval is for the will only.
        assert_eq!(
            read(&[5, 24, 0, 0, 0, 1], CMD_CONNECT),
            Err(Error::Protocol)
        );
        assert!(read(&[5, 24, 0, 0, 0, 1], CMD_WILL).is_ok());
    }

    #[test]
    fn a_once_only_property_twice_is_a_duplicate() {
        assert_eq!(
            read(&[4, 1, 0, 1, 1], CMD_PUBLISH),
            Err(Error::DuplicateProperty)
        );
        let sub_ids = [4, 11, 1, 11, 2];
        assert_eq!(read(&sub_ids, CMD_PUBLISH).unwrap().len(), 2);
        assert_eq!(read(&sub_ids, CMD_SUBSCRIBE), Err(Error::DuplicateProperty));
    }

    #[test]
    fn user_properties_may_repeat() {
        let bytes = [11, 38, 0, 1, b'a', 0, 0, 38, 0, 0, 0, 0];
        assert_eq!(read(&bytes, CMD_CONNACK).unwrap().len(), 2);
    }

    #[test]
    fn out_of_range_values_are_protocol_errors() {
        assert_eq!(read(&[2, 1, 2], CMD_PUBLISH), Err(Error::Protocol));
        assert_eq!(read(&[3, 33, 0, 0], CMD_CONNACK), Err(Error::Protocol));
        assert_eq!(
            read(&[5, 39, 0, 0, 0, 0], CMD_CONNECT),
            Err(Error::Protocol)
        );
        assert_eq!(read(&[2, 11, 0], CMD_SUBSCRIBE), Err(Error::Protocol));
        assert_eq!(read(&[2, 36, 2], CMD_CONNACK), Err(Error::Protocol));
    }

    #[test]
    fn a_topic_alias_of_0_is_an_invalid_topic_alias() {
        assert_eq!(
            read(&[3, 35, 0, 0], CMD_PUBLISH),
            Err(Error::TopicAliasInvalid)
        );
        assert_eq!(read(&[3, 35, 0, 1], CMD_PUBLISH).unwrap().len(), 1);
    }

    #[test]
    fn a_bad_utf8_string_property_is_malformed_utf8() {
        assert_eq!(
            read(&[4, 3, 0, 1, 0xFF], CMD_PUBLISH),
            Err(Error::MalformedUtf8)
        );
    }

    #[test]
    fn writing_a_value_of_the_wrong_type_is_invalid() {
        let mut out = Vec::new();
        let wrong = [prop(1, PropertyValue::Int32(1))];
        assert_eq!(write_properties(&mut out, &wrong), Err(Error::Inval));
        let unknown = [prop(0, PropertyValue::Byte(1))];
        assert_eq!(
            write_properties(&mut Vec::new(), &unknown),
            Err(Error::Inval)
        );
    }

    #[test]
    fn the_will_properties_include_the_will_delay_interval() {
        let will: Vec<u8> = identifiers_for(CMD_WILL)
            .iter()
            .map(|(id, _)| *id)
            .collect();
        assert!(will.contains(&WILL_DELAY_INTERVAL));
        assert!(!will.contains(&SESSION_EXPIRY_INTERVAL));
    }
}
