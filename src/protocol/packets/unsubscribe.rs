//! UNSUBSCRIBE: a packet identifier, then in MQTT 5 properties, then one or more
//! topic filters.

use crate::error::{Error, Result};
use crate::protocol::codec::{self, Reader};
use crate::protocol::packet::{ProtocolVersion, Unsubscribe, CMD_UNSUBSCRIBE};
use crate::protocol::property_codec::{read_properties_at, write_properties_at};

/// UNSUBSCRIBE's fixed-header flags, as the spec requires.
const FLAGS: u8 = 0x02;

pub fn read(flags: u8, body: &[u8], version: ProtocolVersion) -> Result<Unsubscribe> {
    if flags != FLAGS {
        return Err(Error::MalformedPacket);
    }
    let mut r = Reader::new(body);
    let packet_id = r.packet_id()?;
    let properties = read_properties_at(&mut r, CMD_UNSUBSCRIBE, version)?;
    let mut filters = Vec::new();
    while !r.is_empty() {
        let filter = r.string()?;
        if filter.is_empty() {
            return Err(Error::Protocol);
        }
        filters.push(filter.to_owned());
    }
    if filters.is_empty() {
        return Err(Error::Protocol);
    }
    Ok(Unsubscribe {
        packet_id,
        filters,
        properties,
    })
}

pub fn write(unsubscribe: &Unsubscribe, version: ProtocolVersion, out: &mut Vec<u8>) -> Result<()> {
    codec::write_packet(
        out,
        CMD_UNSUBSCRIBE | FLAGS,
        |out| {
            codec::put_u16(out, unsubscribe.packet_id);
            write_properties_at(out, &unsubscribe.properties, version)?;
            for filter in &unsubscribe.filters {
                codec::put_string(out, filter)?;
            }
            Ok(())
        },
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion::{V311, V5};

    fn unsubscribe(filters: &[&str]) -> Unsubscribe {
        Unsubscribe {
            packet_id: 10,
            filters: filters.iter().map(|f| f.to_string()).collect(),
            properties: Vec::new(),
        }
    }

    fn written(packet: &Unsubscribe, version: ProtocolVersion) -> Vec<u8> {
        let mut out = Vec::new();
        write(packet, version, &mut out).unwrap();
        out
    }

    #[test]
    fn the_311_spec_example_payload() {
        // MQTT 3.1.1 section 3.10.3: "a/b" and "c/d".
        let packet = unsubscribe(&["a/b", "c/d"]);
        let bytes = written(&packet, V311);
        assert_eq!(
            bytes,
            [0xA2, 12, 0, 10, 0, 3, b'a', b'/', b'b', 0, 3, b'c', b'/', b'd']
        );
        assert_eq!(read(0x02, &bytes[2..], V311), Ok(packet));
    }

    #[test]
    fn a_v5_unsubscribe_has_a_property_length() {
        let packet = unsubscribe(&["x"]);
        let bytes = written(&packet, V5);
        assert_eq!(bytes, [0xA2, 6, 0, 10, 0, 0, 1, b'x']);
        assert_eq!(read(0x02, &bytes[2..], V5), Ok(packet));
    }

    #[test]
    fn unsubscribe_without_flag_bit_1_is_malformed() {
        assert_eq!(
            read(0x00, &[0, 1, 0, 1, b'a'], V311),
            Err(Error::MalformedPacket)
        );
    }

    #[test]
    fn unsubscribe_with_no_filters_is_a_protocol_error() {
        assert_eq!(read(0x02, &[0, 1], V311), Err(Error::Protocol));
    }

    #[test]
    fn packet_id_zero_is_a_protocol_error() {
        assert_eq!(read(0x02, &[0, 0, 0, 1, b'a'], V311), Err(Error::Protocol));
    }
}
