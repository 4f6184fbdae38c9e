//! The MQTT 5 property identifiers the session acts on, and typed look-ups in a
//! property list.

use super::violation::Violation;
use crate::protocol::property::{Property, PropertyValue};

pub use crate::protocol::property::id::{
    ASSIGNED_CLIENT_IDENTIFIER, MAXIMUM_PACKET_SIZE, MAXIMUM_QOS, RECEIVE_MAXIMUM,
    RETAIN_AVAILABLE, SERVER_KEEP_ALIVE, TOPIC_ALIAS, TOPIC_ALIAS_MAXIMUM,
};

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
