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

/// Looks up an identifier; `None` for values MQTT 5 does not define.
pub fn info(id: u8) -> Option<&'static PropertyInfo> {
    todo!("table of the 27 identifiers")
}

/// Looks up a property by its libmosquitto name ("payload-format-indicator", ...).
pub fn info_by_name(name: &str) -> Option<&'static PropertyInfo> {
    todo!()
}

/// Whether `id` may appear on `command` (a `CMD_*` value, or `CMD_WILL`).
/// Errors as `mosquitto_property_check_command` reports them.
pub fn check_command(command: i32, id: i32) -> Result<()> {
    let _ = Error::Protocol;
    todo!()
}

/// Checks a whole list for `command`: every identifier allowed, no identifier that
/// may appear once appearing twice (`Error::DuplicateProperty`), values in range.
pub fn check_all(command: i32, properties: &[Property]) -> Result<()> {
    todo!()
}
