//! MQTT 5 properties: identifiers, value types, and which packets may carry them.
//!
//! The wire encoding of property lists lives in `property_codec.rs`; this file is the
//! model shared by the codec, the session, and the C property API.

use crate::error::{Error, Result};

/// How a property's value is encoded on the wire (the values of `mqtt5_property_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyType {
    Byte = 1,
    Int16 = 2,
    Int32 = 3,
    VarInt = 4,
    Binary = 5,
    String = 6,
    StringPair = 7,
}

/// A property's value. Strings are valid MQTT UTF-8 (checked when they are made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyValue {
    Byte(u8),
    Int16(u16),
    Int32(u32),
    VarInt(u32),
    Binary(Vec<u8>),
    String(String),
    StringPair(String, String),
}

impl PropertyValue {
    pub fn kind(&self) -> PropertyType {
        match self {
            PropertyValue::Byte(_) => PropertyType::Byte,
            PropertyValue::Int16(_) => PropertyType::Int16,
            PropertyValue::Int32(_) => PropertyType::Int32,
            PropertyValue::VarInt(_) => PropertyType::VarInt,
            PropertyValue::Binary(_) => PropertyType::Binary,
            PropertyValue::String(_) => PropertyType::String,
            PropertyValue::StringPair(_, _) => PropertyType::StringPair,
        }
    }
}

/// One property: its identifier (an `MQTT_PROP_*` value) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub id: u8,
    pub value: PropertyValue,
}

/// A packet's property list, in the order it was built or received.
pub type Properties = Vec<Property>;

/// What the protocol says about one identifier.
#[derive(Debug, Clone, Copy)]
pub struct PropertyInfo {
    pub id: u8,
    /// The name `mosquitto_string_to_property_info` accepts, e.g. "content-type".
    pub name: &'static str,
    pub kind: PropertyType,
    /// Bit set of packet types (1 << (CMD_x >> 4)) that may carry it; bit 0 stands
    /// for the will properties (CMD_WILL).
    pub allowed: u16,
}

/// The `CMD_*` values of the packet types that carry properties, plus `CMD_WILL`.
pub mod command {
    pub const CONNECT: i32 = 0x10;
    pub const CONNACK: i32 = 0x20;
    pub const PUBLISH: i32 = 0x30;
    pub const PUBACK: i32 = 0x40;
    pub const PUBREC: i32 = 0x50;
    pub const PUBREL: i32 = 0x60;
    pub const PUBCOMP: i32 = 0x70;
    pub const SUBSCRIBE: i32 = 0x80;
    pub const SUBACK: i32 = 0x90;
    pub const UNSUBSCRIBE: i32 = 0xA0;
    pub const UNSUBACK: i32 = 0xB0;
    pub const PINGREQ: i32 = 0xC0;
    pub const PINGRESP: i32 = 0xD0;
    pub const DISCONNECT: i32 = 0xE0;
    pub const AUTH: i32 = 0xF0;
    /// Not a packet type: the will's properties, carried inside CONNECT.
    pub const WILL: i32 = 0x100;
}

/// The bit of `PropertyInfo::allowed` that stands for `command`, if it is one of
/// the fifteen packet types or `CMD_WILL`.
fn command_bit(command: i32) -> Option<u16> {
    match command {
        command::WILL => Some(1),
        0x10..=0xF0 if command & 0x0F == 0 => Some(1 << (command >> 4)),
        _ => None,
    }
}

const fn bits(commands: &[i32]) -> u16 {
    let mut set = 0u16;
    let mut i = 0;
    while i < commands.len() {
        set |= if commands[i] == command::WILL {
            1
        } else {
            1 << (commands[i] >> 4)
        };
        i += 1;
    }
    set
}

use command::*;

const MESSAGE: u16 = bits(&[PUBLISH, WILL]);
const ACKS_AND_MORE: u16 = bits(&[
    CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT,
    AUTH, WILL,
]);
const EVERY_PACKET: u16 = 0xFFFF;

const fn entry(id: u8, name: &'static str, kind: PropertyType, allowed: u16) -> PropertyInfo {
    PropertyInfo {
        id,
        name,
        kind,
        allowed,
    }
}

/// The 27 properties of MQTT 5, in identifier order.
///
/// Reason String lists every packet but CONNECT, PUBLISH, SUBSCRIBE and
/// UNSUBSCRIBE (the will included), and User Property every packet: that is what
/// libmosquitto accepts, so `check_command` agrees with it.
static TABLE: [PropertyInfo; 27] = [
    entry(1, "payload-format-indicator", PropertyType::Byte, MESSAGE),
    entry(2, "message-expiry-interval", PropertyType::Int32, MESSAGE),
    entry(3, "content-type", PropertyType::String, MESSAGE),
    entry(8, "response-topic", PropertyType::String, MESSAGE),
    entry(9, "correlation-data", PropertyType::Binary, MESSAGE),
    entry(
        11,
        "subscription-identifier",
        PropertyType::VarInt,
        bits(&[PUBLISH, SUBSCRIBE]),
    ),
    entry(
        17,
        "session-expiry-interval",
        PropertyType::Int32,
        bits(&[CONNECT, CONNACK, DISCONNECT]),
    ),
    entry(
        18,
        "assigned-client-identifier",
        PropertyType::String,
        bits(&[CONNACK]),
    ),
    entry(
        19,
        "server-keep-alive",
        PropertyType::Int16,
        bits(&[CONNACK]),
    ),
    entry(
        21,
        "authentication-method",
        PropertyType::String,
        bits(&[CONNECT, CONNACK, AUTH]),
    ),
    entry(
        22,
        "authentication-data",
        PropertyType::Binary,
        bits(&[CONNECT, CONNACK, AUTH]),
    ),
    entry(
        23,
        "request-problem-information",
        PropertyType::Byte,
        bits(&[CONNECT]),
    ),
    entry(
        24,
        "will-delay-interval",
        PropertyType::Int32,
        bits(&[WILL]),
    ),
    entry(
        25,
        "request-response-information",
        PropertyType::Byte,
        bits(&[CONNECT]),
    ),
    entry(
        26,
        "response-information",
        PropertyType::String,
        bits(&[CONNACK]),
    ),
    entry(
        28,
        "server-reference",
        PropertyType::String,
        bits(&[CONNACK, DISCONNECT]),
    ),
    entry(31, "reason-string", PropertyType::String, ACKS_AND_MORE),
    entry(
        33,
        "receive-maximum",
        PropertyType::Int16,
        bits(&[CONNECT, CONNACK]),
    ),
    entry(
        34,
        "topic-alias-maximum",
        PropertyType::Int16,
        bits(&[CONNECT, CONNACK]),
    ),
    entry(35, "topic-alias", PropertyType::Int16, bits(&[PUBLISH])),
    entry(36, "maximum-qos", PropertyType::Byte, bits(&[CONNACK])),
    entry(37, "retain-available", PropertyType::Byte, bits(&[CONNACK])),
    entry(38, "user-property", PropertyType::StringPair, EVERY_PACKET),
    entry(
        39,
        "maximum-packet-size",
        PropertyType::Int32,
        bits(&[CONNECT, CONNACK]),
    ),
    entry(
        40,
        "wildcard-subscription-available",
        PropertyType::Byte,
        bits(&[CONNACK]),
    ),
    entry(
        41,
        "subscription-identifier-available",
        PropertyType::Byte,
        bits(&[CONNACK]),
    ),
    entry(
        42,
        "shared-subscription-available",
        PropertyType::Byte,
        bits(&[CONNACK]),
    ),
];

/// The identifiers whose names say what they are, for code that handles one.
pub mod id {
    pub const PAYLOAD_FORMAT_INDICATOR: u8 = 1;
    pub const MESSAGE_EXPIRY_INTERVAL: u8 = 2;
    pub const CONTENT_TYPE: u8 = 3;
    pub const RESPONSE_TOPIC: u8 = 8;
    pub const CORRELATION_DATA: u8 = 9;
    pub const SUBSCRIPTION_IDENTIFIER: u8 = 11;
    pub const SESSION_EXPIRY_INTERVAL: u8 = 17;
    pub const ASSIGNED_CLIENT_IDENTIFIER: u8 = 18;
    pub const SERVER_KEEP_ALIVE: u8 = 19;
    pub const AUTHENTICATION_METHOD: u8 = 21;
    pub const AUTHENTICATION_DATA: u8 = 22;
    pub const REQUEST_PROBLEM_INFORMATION: u8 = 23;
    pub const WILL_DELAY_INTERVAL: u8 = 24;
    pub const REQUEST_RESPONSE_INFORMATION: u8 = 25;
    pub const RESPONSE_INFORMATION: u8 = 26;
    pub const SERVER_REFERENCE: u8 = 28;
    pub const REASON_STRING: u8 = 31;
    pub const RECEIVE_MAXIMUM: u8 = 33;
    pub const TOPIC_ALIAS_MAXIMUM: u8 = 34;
    pub const TOPIC_ALIAS: u8 = 35;
    pub const MAXIMUM_QOS: u8 = 36;
    pub const RETAIN_AVAILABLE: u8 = 37;
    pub const USER_PROPERTY: u8 = 38;
    pub const MAXIMUM_PACKET_SIZE: u8 = 39;
    pub const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 40;
    pub const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 41;
    pub const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 42;
}

pub use super::codec::MAX_VARINT;

/// Every identifier MQTT 5 defines, in identifier order.
pub fn all() -> &'static [PropertyInfo] {
    &TABLE
}

/// Looks up an identifier; `None` for values MQTT 5 does not define.
pub fn info(id: u8) -> Option<&'static PropertyInfo> {
    TABLE.iter().find(|entry| entry.id == id)
}

/// Looks up a property by its libmosquitto name ("payload-format-indicator", ...),
/// ignoring ASCII case as libmosquitto does.
pub fn info_by_name(name: &str) -> Option<&'static PropertyInfo> {
    TABLE
        .iter()
        .find(|entry| entry.name.eq_ignore_ascii_case(name))
}

/// Whether `id` may appear on `command` (a `CMD_*` value, or `CMD_WILL`).
/// An unknown identifier or a wrong packet is `Error::Protocol`. Values that are
/// no packet type accept only Reason String and User Property, as in libmosquitto.
pub fn check_command(command: i32, id: i32) -> Result<()> {
    let entry = u8::try_from(id)
        .ok()
        .and_then(info)
        .ok_or(Error::Protocol)?;
    let allowed = match command_bit(command) {
        Some(bit) => entry.allowed & bit != 0,
        None => entry.id == id::REASON_STRING || entry.id == id::USER_PROPERTY,
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::Protocol)
    }
}

/// Checks a whole list for `command`: every identifier allowed, values in range
/// (`Error::Protocol`), and no identifier but User Property twice
/// (`Error::DuplicateProperty`). Properties are checked in order, each one fully
/// before the next, so the first faulty property decides the error.
pub fn check_all(command: i32, properties: &[Property]) -> Result<()> {
    for (index, property) in properties.iter().enumerate() {
        check_command(command, i32::from(property.id))?;
        check_value(property)?;
        let repeated = properties[index + 1..]
            .iter()
            .any(|later| later.id == property.id);
        if repeated && property.id != id::USER_PROPERTY {
            return Err(Error::DuplicateProperty);
        }
    }
    Ok(())
}

/// The value rules libmosquitto enforces: flags that may only be 0 or 1, and
/// sizes and aliases that may not be 0.
fn check_value(property: &Property) -> Result<()> {
    let in_range = match (property.id, &property.value) {
        (
            id::REQUEST_PROBLEM_INFORMATION
            | id::REQUEST_RESPONSE_INFORMATION
            | id::MAXIMUM_QOS
            | id::RETAIN_AVAILABLE
            | id::WILDCARD_SUBSCRIPTION_AVAILABLE
            | id::SUBSCRIPTION_IDENTIFIER_AVAILABLE
            | id::SHARED_SUBSCRIPTION_AVAILABLE,
            PropertyValue::Byte(flag),
        ) => *flag <= 1,
        (id::RECEIVE_MAXIMUM | id::TOPIC_ALIAS, PropertyValue::Int16(value)) => *value != 0,
        (id::MAXIMUM_PACKET_SIZE, PropertyValue::Int32(size)) => *size != 0,
        _ => true,
    };
    if in_range {
        Ok(())
    } else {
        Err(Error::Protocol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(id: u8, value: PropertyValue) -> Property {
        Property { id, value }
    }

    #[test]
    fn the_table_holds_27_identifiers_in_order_with_distinct_names() {
        assert_eq!(TABLE.len(), 27);
        assert!(TABLE.windows(2).all(|pair| pair[0].id < pair[1].id));
        for entry in &TABLE {
            assert_eq!(info(entry.id).unwrap().name, entry.name);
            assert_eq!(info_by_name(entry.name).unwrap().id, entry.id);
        }
        assert!(info(0).is_none());
        assert!(info(4).is_none());
        assert!(info(43).is_none());
    }

    #[test]
    fn names_are_found_whatever_their_case() {
        assert_eq!(info_by_name("Content-Type").unwrap().id, id::CONTENT_TYPE);
        assert!(info_by_name("content_type").is_none());
    }

    #[test]
    fn will_properties_are_allowed_on_the_will_only() {
        assert_eq!(check_command(command::WILL, 24), Ok(()));
        assert_eq!(check_command(command::CONNECT, 24), Err(Error::Protocol));
        assert_eq!(check_command(command::WILL, 1), Ok(()));
        assert_eq!(check_command(command::PUBLISH, 1), Ok(()));
        assert_eq!(check_command(command::CONNACK, 1), Err(Error::Protocol));
    }

    #[test]
    fn reason_string_and_user_property_are_widely_allowed() {
        assert_eq!(check_command(command::PUBLISH, 31), Err(Error::Protocol));
        assert_eq!(check_command(command::CONNECT, 31), Err(Error::Protocol));
        assert_eq!(check_command(command::PUBACK, 31), Ok(()));
        assert_eq!(check_command(0x05, 31), Ok(()));
        assert_eq!(check_command(0x05, 38), Ok(()));
        assert_eq!(check_command(0x05, 1), Err(Error::Protocol));
        assert_eq!(check_command(command::SUBSCRIBE, 38), Ok(()));
    }

    #[test]
    fn unknown_identifiers_are_a_protocol_error() {
        assert_eq!(check_command(command::PUBLISH, 0), Err(Error::Protocol));
        assert_eq!(check_command(command::PUBLISH, -1), Err(Error::Protocol));
        assert_eq!(check_command(command::PUBLISH, 300), Err(Error::Protocol));
    }

    #[test]
    fn check_all_refuses_out_of_range_values() {
        let zero_alias = [prop(id::TOPIC_ALIAS, PropertyValue::Int16(0))];
        assert_eq!(
            check_all(command::PUBLISH, &zero_alias),
            Err(Error::Protocol)
        );
        let qos_two = [prop(id::MAXIMUM_QOS, PropertyValue::Byte(2))];
        assert_eq!(check_all(command::CONNACK, &qos_two), Err(Error::Protocol));
        let no_size = [prop(id::MAXIMUM_PACKET_SIZE, PropertyValue::Int32(0))];
        assert_eq!(check_all(command::CONNECT, &no_size), Err(Error::Protocol));
        // libmosquitto lets these through, so we do too.
        let format_two = [prop(id::PAYLOAD_FORMAT_INDICATOR, PropertyValue::Byte(2))];
        assert_eq!(check_all(command::PUBLISH, &format_two), Ok(()));
        let zero_alias_max = [prop(id::TOPIC_ALIAS_MAXIMUM, PropertyValue::Int16(0))];
        assert_eq!(check_all(command::CONNECT, &zero_alias_max), Ok(()));
    }

    #[test]
    fn check_all_refuses_repeats_except_user_properties() {
        let pair = || {
            prop(
                id::USER_PROPERTY,
                PropertyValue::StringPair("a".into(), "b".into()),
            )
        };
        assert_eq!(check_all(command::PUBLISH, &[pair(), pair()]), Ok(()));
        let sub_id = |v| prop(id::SUBSCRIPTION_IDENTIFIER, PropertyValue::VarInt(v));
        assert_eq!(
            check_all(command::PUBLISH, &[sub_id(1), sub_id(2)]),
            Err(Error::DuplicateProperty)
        );
    }

    #[test]
    fn check_all_reports_the_first_faulty_property() {
        let alias = |v| prop(id::TOPIC_ALIAS, PropertyValue::Int16(v));
        let wrong_packet = prop(id::RESPONSE_INFORMATION, PropertyValue::String("x".into()));
        assert_eq!(
            check_all(command::PUBLISH, &[alias(0), alias(0)]),
            Err(Error::Protocol)
        );
        assert_eq!(
            check_all(
                command::PUBLISH,
                &[alias(1), alias(1), wrong_packet.clone()]
            ),
            Err(Error::DuplicateProperty)
        );
        assert_eq!(
            check_all(command::PUBLISH, &[wrong_packet, alias(0)]),
            Err(Error::Protocol)
        );
        assert_eq!(check_all(command::PUBLISH, &[]), Ok(()));
    }
}
