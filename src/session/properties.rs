//! The MQTT 5 property identifiers the session acts on, and typed look-ups in a
//! property list.

use super::violation::Violation;
use crate::protocol::property::{Property, PropertyValue};

pub const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
pub const SERVER_KEEP_ALIVE: u8 = 0x13;
pub const RECEIVE_MAXIMUM: u8 = 0x21;
pub const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
pub const TOPIC_ALIAS: u8 = 0x23;
pub const MAXIMUM_QOS: u8 = 0x24;
pub const RETAIN_AVAILABLE: u8 = 0x25;
pub const MAXIMUM_PACKET_SIZE: u8 = 0x27;

fn find(properties: &[Property], id: u8) -> Option<&PropertyValue> {
    properties.iter().find(|p| p.id == id).map(|p| &p.value)
}

pub fn contains(properties: &[Property], id: u8) -> bool {
    find(properties, id).is_some()
}

// A value of the wrong type can only come from a broken decoder or peer; it is
// reported as a malformed packet rather than silently ignored.

pub fn byte(properties: &[Property], id: u8) -> Result<Option<u8>, Violation> {
    match find(properties, id) {
        None => Ok(None),
        Some(PropertyValue::Byte(v)) => Ok(Some(*v)),
        Some(_) => Err(Violation::malformed()),
    }
}

pub fn int16(properties: &[Property], id: u8) -> Result<Option<u16>, Violation> {
    match find(properties, id) {
        None => Ok(None),
        Some(PropertyValue::Int16(v)) => Ok(Some(*v)),
        Some(_) => Err(Violation::malformed()),
    }
}

pub fn int32(properties: &[Property], id: u8) -> Result<Option<u32>, Violation> {
    match find(properties, id) {
        None => Ok(None),
        Some(PropertyValue::Int32(v)) => Ok(Some(*v)),
        Some(_) => Err(Violation::malformed()),
    }
}

pub fn string(properties: &[Property], id: u8) -> Result<Option<&str>, Violation> {
    match find(properties, id) {
        None => Ok(None),
        Some(PropertyValue::String(v)) => Ok(Some(v)),
        Some(_) => Err(Violation::malformed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_property_reads_as_none() {
        assert_eq!(int16(&[], RECEIVE_MAXIMUM), Ok(None));
    }

    #[test]
    fn a_property_of_the_wrong_type_is_malformed() {
        let props = vec![Property {
            id: RECEIVE_MAXIMUM,
            value: PropertyValue::Byte(3),
        }];
        assert_eq!(int16(&props, RECEIVE_MAXIMUM), Err(Violation::malformed()));
    }
}
