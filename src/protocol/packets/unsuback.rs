//! UNSUBACK: before MQTT 5 just the packet identifier; in MQTT 5 also properties
//! and one reason code per filter.

use crate::error::{Error, Result};
use crate::protocol::codec::{self, Reader};
use crate::protocol::packet::{ProtocolVersion, UnsubAck, CMD_UNSUBACK};
use crate::protocol::property_codec::{read_properties, write_properties_at};
use crate::protocol::reason;

pub fn read(flags: u8, body: &[u8], version: ProtocolVersion) -> Result<UnsubAck> {
    if flags != 0 {
        return Err(Error::MalformedPacket);
    }
    let mut r = Reader::new(body);
    let packet_id = r.packet_id()?;
    if !version.is_v5() {
        r.finish()?;
        return Ok(UnsubAck {
            packet_id,
            reason_codes: Vec::new(),
            properties: Vec::new(),
        });
    }
    let properties = read_properties(&mut r, CMD_UNSUBACK)?;
    let reason_codes = r.rest().to_vec();
    if reason_codes.is_empty() {
        return Err(Error::Protocol);
    }
    for &code in &reason_codes {
        reason::check(CMD_UNSUBACK, code)?;
    }
    Ok(UnsubAck {
        packet_id,
        reason_codes,
        properties,
    })
}

pub fn write(unsuback: &UnsubAck, version: ProtocolVersion, out: &mut Vec<u8>) -> Result<()> {
    let reason_codes: &[u8] = if version.is_v5() {
        &unsuback.reason_codes
    } else {
        &[]
    };
    codec::write_packet(
        out,
        CMD_UNSUBACK,
        |out| {
            codec::put_u16(out, unsuback.packet_id);
            write_properties_at(out, &unsuback.properties, version)?;
            Ok(())
        },
        reason_codes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion::{V31, V311, V5};

    fn unsuback(reason_codes: &[u8]) -> UnsubAck {
        UnsubAck {
            packet_id: 10,
            reason_codes: reason_codes.to_vec(),
            properties: Vec::new(),
        }
    }

    fn written(packet: &UnsubAck, version: ProtocolVersion) -> Vec<u8> {
        let mut out = Vec::new();
        write(packet, version, &mut out).unwrap();
        out
    }

    #[test]
    fn a_311_unsuback_is_the_packet_id_alone() {
        assert_eq!(written(&unsuback(&[]), V311), [0xB0, 2, 0, 10]);
        assert_eq!(read(0, &[0, 10], V31), Ok(unsuback(&[])));
        assert_eq!(read(0, &[0, 10, 0], V311), Err(Error::MalformedPacket));
    }

    #[test]
    fn a_v5_unsuback_has_reason_codes() {
        let packet = unsuback(&[0x00, 0x11]);
        let bytes = written(&packet, V5);
        assert_eq!(bytes, [0xB0, 5, 0, 10, 0, 0x00, 0x11]);
        assert_eq!(read(0, &bytes[2..], V5), Ok(packet));
    }

    #[test]
    fn unsuback_with_no_reason_codes_is_a_protocol_error_in_v5() {
        assert_eq!(read(0, &[0, 10, 0], V5), Err(Error::Protocol));
    }

    #[test]
    fn a_reason_code_unsuback_may_not_carry_is_a_protocol_error() {
        assert_eq!(read(0, &[0, 10, 0, 0x10], V5), Err(Error::Protocol));
    }

    #[test]
    fn fixed_header_flags_are_malformed() {
        assert_eq!(read(0x02, &[0, 10], V311), Err(Error::MalformedPacket));
    }
}
