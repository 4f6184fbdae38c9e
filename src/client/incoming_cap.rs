//! The cap on incoming packets (`skeeter_max_incoming_packet_set`): the decoder
//! refuses a packet whose header announces more, before reading or reserving
//! it, and the connection ends. Over MQTT 5 the cap is also announced to the
//! broker as the CONNECT's Maximum Packet Size, which a broker must respect.

use std::borrow::Cow;

use crate::protocol::property::{id, Property, PropertyValue};

/// The CONNECT properties with our cap as Maximum Packet Size: added, or in
/// place of a larger one the program gave (a smaller one is kept).
pub fn with_cap(properties: &[Property], cap: Option<u32>) -> Cow<'_, [Property]> {
    let Some(cap) = cap else {
        return Cow::Borrowed(properties);
    };
    let given = properties.iter().find_map(|p| match (p.id, &p.value) {
        (id::MAXIMUM_PACKET_SIZE, PropertyValue::Int32(size)) => Some(*size),
        _ => None,
    });
    match given {
        Some(size) if size <= cap => Cow::Borrowed(properties),
        _ => {
            let mut capped: Vec<Property> = properties
                .iter()
                .filter(|p| p.id != id::MAXIMUM_PACKET_SIZE)
                .cloned()
                .collect();
            capped.push(Property {
                id: id::MAXIMUM_PACKET_SIZE,
                value: PropertyValue::Int32(cap),
            });
            Cow::Owned(capped)
        }
    }
}

/// The decoder's limit (0: none): the session's (MQTT 5, from the CONNECT)
/// or our cap, the smaller.
pub fn decoder_limit(session_limit: Option<u32>, cap: Option<u32>) -> u32 {
    match (session_limit, cap) {
        (Some(a), Some(b)) => a.min(b),
        (Some(limit), None) | (None, Some(limit)) => limit,
        (None, None) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(n: u32) -> Property {
        Property {
            id: id::MAXIMUM_PACKET_SIZE,
            value: PropertyValue::Int32(n),
        }
    }

    fn other() -> Property {
        Property {
            id: id::SESSION_EXPIRY_INTERVAL,
            value: PropertyValue::Int32(60),
        }
    }

    #[test]
    fn without_a_cap_the_properties_are_the_programs() {
        let given = [other()];
        assert!(matches!(with_cap(&given, None), Cow::Borrowed(_)));
    }

    #[test]
    fn the_cap_is_added_as_maximum_packet_size() {
        assert_eq!(
            with_cap(&[other()], Some(100)).to_vec(),
            [other(), size(100)]
        );
    }

    #[test]
    fn a_larger_maximum_packet_size_given_is_replaced_and_a_smaller_kept() {
        assert_eq!(
            with_cap(&[size(500), other()], Some(100)).to_vec(),
            [other(), size(100)]
        );
        assert_eq!(with_cap(&[size(50)], Some(100)).to_vec(), [size(50)]);
    }

    #[test]
    fn the_decoder_takes_the_smaller_limit() {
        assert_eq!(decoder_limit(None, None), 0);
        assert_eq!(decoder_limit(Some(500), None), 500);
        assert_eq!(decoder_limit(None, Some(100)), 100);
        assert_eq!(decoder_limit(Some(500), Some(100)), 100);
    }
}
