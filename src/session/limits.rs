//! What the broker allows, from the properties of its CONNACK (MQTT 5). Before
//! MQTT 5, and for each property the broker leaves out, the protocol defaults hold.

use super::properties::{self as ids, byte, int16, int32};
use super::violation::Violation;
use crate::protocol::property::Property;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerLimits {
    pub maximum_qos: u8,
    pub retain_available: bool,
    /// Largest whole packet the broker accepts, in bytes.
    pub maximum_packet_size: Option<u32>,
    /// How many of our QoS 1 and 2 messages the broker takes in flight at once.
    pub receive_maximum: u16,
    /// How many topic aliases we may use towards the broker.
    pub topic_alias_maximum: u16,
}

impl Default for BrokerLimits {
    fn default() -> Self {
        BrokerLimits {
            maximum_qos: 2,
            retain_available: true,
            maximum_packet_size: None,
            receive_maximum: u16::MAX,
            topic_alias_maximum: 0,
        }
    }
}

impl BrokerLimits {
    /// Values the protocol forbids (MQTT 5, 3.2.2.3) are protocol errors.
    pub fn from_connack(properties: &[Property]) -> Result<Self, Violation> {
        let mut limits = BrokerLimits::default();
        if let Some(qos) = byte(properties, ids::MAXIMUM_QOS)? {
            if qos > 1 {
                return Err(Violation::protocol());
            }
            limits.maximum_qos = qos;
        }
        if let Some(retain) = byte(properties, ids::RETAIN_AVAILABLE)? {
            if retain > 1 {
                return Err(Violation::protocol());
            }
            limits.retain_available = retain == 1;
        }
        if let Some(size) = int32(properties, ids::MAXIMUM_PACKET_SIZE)? {
            if size == 0 {
                return Err(Violation::protocol());
            }
            limits.maximum_packet_size = Some(size);
        }
        if let Some(receive) = int16(properties, ids::RECEIVE_MAXIMUM)? {
            if receive == 0 {
                return Err(Violation::protocol());
            }
            limits.receive_maximum = receive;
        }
        if let Some(aliases) = int16(properties, ids::TOPIC_ALIAS_MAXIMUM)? {
            limits.topic_alias_maximum = aliases;
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::property::PropertyValue;

    fn prop(id: u8, value: PropertyValue) -> Property {
        Property { id, value }
    }

    #[test]
    fn no_properties_means_the_protocol_defaults() {
        assert_eq!(BrokerLimits::from_connack(&[]), Ok(BrokerLimits::default()));
    }

    #[test]
    fn connack_properties_set_the_limits() {
        let limits = BrokerLimits::from_connack(&[
            prop(ids::MAXIMUM_QOS, PropertyValue::Byte(1)),
            prop(ids::RETAIN_AVAILABLE, PropertyValue::Byte(0)),
            prop(ids::MAXIMUM_PACKET_SIZE, PropertyValue::Int32(100)),
            prop(ids::RECEIVE_MAXIMUM, PropertyValue::Int16(5)),
        ])
        .unwrap();
        assert_eq!(limits.maximum_qos, 1);
        assert!(!limits.retain_available);
        assert_eq!(limits.maximum_packet_size, Some(100));
        assert_eq!(limits.receive_maximum, 5);
    }

    #[test]
    fn a_receive_maximum_of_zero_is_a_protocol_error() {
        let zero = [prop(ids::RECEIVE_MAXIMUM, PropertyValue::Int16(0))];
        assert_eq!(
            BrokerLimits::from_connack(&zero),
            Err(Violation::protocol())
        );
    }
}
