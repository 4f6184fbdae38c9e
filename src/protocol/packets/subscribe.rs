//! SUBSCRIBE: a packet identifier, then in MQTT 5 properties, then one or more
//! topic filters, each followed by its options byte.

use crate::error::{Error, Result};
use crate::protocol::codec::{self, Reader};
use crate::protocol::packet::{ProtocolVersion, Subscribe, CMD_SUBSCRIBE};
use crate::protocol::property_codec::{read_properties_at, write_properties_at};

/// SUBSCRIBE's fixed-header flags, as the spec requires.
const FLAGS: u8 = 0x02;
const QOS_MASK: u8 = 0x03;
/// MQTT 5's No Local, Retain As Published and Retain Handling bits.
const V5_OPTION_BITS: u8 = 0x3F;
const RETAIN_HANDLING_SHIFT: u8 = 4;

pub fn read(flags: u8, body: &[u8], version: ProtocolVersion) -> Result<Subscribe> {
    if flags != FLAGS {
        return Err(Error::MalformedPacket);
    }
    let mut r = Reader::new(body);
    let packet_id = r.packet_id()?;
    let properties = read_properties_at(&mut r, CMD_SUBSCRIBE, version)?;
    let mut filters = Vec::new();
    while !r.is_empty() {
        let filter = r.string()?;
        if filter.is_empty() {
            return Err(Error::Protocol);
        }
        let options = r.u8()?;
        check_options(options, version)?;
        filters.push((filter.to_owned(), options));
    }
    if filters.is_empty() {
        return Err(Error::Protocol);
    }
    Ok(Subscribe {
        packet_id,
        filters,
        properties,
    })
}

fn check_options(options: u8, version: ProtocolVersion) -> Result<()> {
    let allowed = if version.is_v5() {
        V5_OPTION_BITS
    } else {
        QOS_MASK
    };
    if options & !allowed != 0 || options & QOS_MASK == 3 {
        return Err(Error::MalformedPacket);
    }
    if (options >> RETAIN_HANDLING_SHIFT) & 0x03 == 3 {
        return Err(Error::Protocol);
    }
    Ok(())
}

pub fn write(subscribe: &Subscribe, version: ProtocolVersion, out: &mut Vec<u8>) -> Result<()> {
    codec::write_packet(
        out,
        CMD_SUBSCRIBE | FLAGS,
        |out| {
            codec::put_u16(out, subscribe.packet_id);
            write_properties_at(out, &subscribe.properties, version)?;
            for (filter, options) in &subscribe.filters {
                codec::put_string(out, filter)?;
                codec::put_u8(out, *options);
            }
            Ok(())
        },
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::property::{Property, PropertyValue};
    use ProtocolVersion::{V311, V5};

    fn subscribe(filters: &[(&str, u8)]) -> Subscribe {
        Subscribe {
            packet_id: 10,
            filters: filters.iter().map(|(f, o)| (f.to_string(), *o)).collect(),
            properties: Vec::new(),
        }
    }

    fn written(packet: &Subscribe, version: ProtocolVersion) -> Vec<u8> {
        let mut out = Vec::new();
        write(packet, version, &mut out).unwrap();
        out
    }

    #[test]
    fn the_311_spec_example_payload() {
        // MQTT 3.1.1 section 3.8.3: "a/b" at QoS 1 and "c/d" at QoS 2.
        let packet = subscribe(&[("a/b", 1), ("c/d", 2)]);
        let bytes = written(&packet, V311);
        assert_eq!(
            bytes,
            [0x82, 14, 0, 10, 0, 3, b'a', b'/', b'b', 1, 0, 3, b'c', b'/', b'd', 2]
        );
        assert_eq!(read(0x02, &bytes[2..], V311), Ok(packet));
    }

    #[test]
    fn a_v5_subscribe_carries_a_subscription_identifier_and_options() {
        let mut packet = subscribe(&[("a/#", 0x2E)]);
        packet.properties = vec![Property {
            id: 11,
            value: PropertyValue::VarInt(200),
        }];
        let bytes = written(&packet, V5);
        assert_eq!(
            bytes,
            [0x82, 12, 0, 10, 3, 11, 0xC8, 0x01, 0, 3, b'a', b'/', b'#', 0x2E]
        );
        assert_eq!(read(0x02, &bytes[2..], V5), Ok(packet));
    }

    #[test]
    fn subscribe_without_flag_bit_1_is_malformed() {
        assert_eq!(
            read(0x00, &[0, 1, 0, 1, b'a', 0], V311),
            Err(Error::MalformedPacket)
        );
    }

    #[test]
    fn subscribe_with_no_filters_is_a_protocol_error() {
        assert_eq!(read(0x02, &[0, 1], V311), Err(Error::Protocol));
        assert_eq!(read(0x02, &[0, 1, 0], V5), Err(Error::Protocol));
    }

    #[test]
    fn reserved_option_bits_are_malformed() {
        assert_eq!(
            read(0x02, &[0, 1, 0, 1, b'a', 0x04], V311),
            Err(Error::MalformedPacket)
        );
        assert_eq!(
            read(0x02, &[0, 1, 0, 0, 1, b'a', 0x40], V5),
            Err(Error::MalformedPacket)
        );
        assert_eq!(
            read(0x02, &[0, 1, 0, 1, b'a', 0x03], V311),
            Err(Error::MalformedPacket)
        );
    }

    #[test]
    fn retain_handling_3_is_a_protocol_error() {
        assert_eq!(
            read(0x02, &[0, 1, 0, 0, 1, b'a', 0x30], V5),
            Err(Error::Protocol)
        );
    }

    #[test]
    fn a_filter_without_its_options_byte_is_malformed() {
        assert_eq!(
            read(0x02, &[0, 1, 0, 1, b'a'], V311),
            Err(Error::MalformedPacket)
        );
    }

    #[test]
    fn packet_id_zero_is_a_protocol_error() {
        assert_eq!(
            read(0x02, &[0, 0, 0, 1, b'a', 0], V311),
            Err(Error::Protocol)
        );
    }
}
