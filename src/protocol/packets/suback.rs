//! SUBACK: one granted QoS or failure code per filter of the SUBSCRIBE it answers.

use crate::error::{Error, Result};
use crate::protocol::codec::{self, Reader};
use crate::protocol::packet::{ProtocolVersion, SubAck, CMD_SUBACK};
use crate::protocol::property_codec::{read_properties_at, write_properties_at};
use crate::protocol::reason;

/// The return codes of MQTT 3.1 and 3.1.1: a granted QoS, or failure.
const V311_CODES: [u8; 4] = [0x00, 0x01, 0x02, 0x80];

pub fn read(flags: u8, body: &[u8], version: ProtocolVersion) -> Result<SubAck> {
    if flags != 0 {
        return Err(Error::MalformedPacket);
    }
    let mut r = Reader::new(body);
    let packet_id = r.packet_id()?;
    let properties = read_properties_at(&mut r, CMD_SUBACK, version)?;
    let reason_codes = r.rest().to_vec();
    if reason_codes.is_empty() {
        return Err(Error::Protocol);
    }
    for &code in &reason_codes {
        if version.is_v5() {
            reason::check(CMD_SUBACK, code)?;
        } else if !V311_CODES.contains(&code) {
            return Err(Error::Protocol);
        }
    }
    Ok(SubAck {
        packet_id,
        reason_codes,
        properties,
    })
}

pub fn write(suback: &SubAck, version: ProtocolVersion, out: &mut Vec<u8>) -> Result<()> {
    codec::write_packet(
        out,
        CMD_SUBACK,
        |out| {
            codec::put_u16(out, suback.packet_id);
            write_properties_at(out, &suback.properties, version)?;
            Ok(())
        },
        &suback.reason_codes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion::{V31, V311, V5};

    fn suback(reason_codes: &[u8]) -> SubAck {
        SubAck {
            packet_id: 10,
            reason_codes: reason_codes.to_vec(),
            properties: Vec::new(),
        }
    }

    fn written(packet: &SubAck, version: ProtocolVersion) -> Vec<u8> {
        let mut out = Vec::new();
        write(packet, version, &mut out).unwrap();
        out
    }

    #[test]
    fn the_311_spec_example_payload() {
        // MQTT 3.1.1 section 3.9.3: success at QoS 0, success at QoS 2, failure.
        let packet = suback(&[0x00, 0x02, 0x80]);
        let bytes = written(&packet, V311);
        assert_eq!(bytes, [0x90, 5, 0, 10, 0x00, 0x02, 0x80]);
        assert_eq!(read(0, &bytes[2..], V311), Ok(packet.clone()));
        assert_eq!(read(0, &bytes[2..], V31), Ok(packet));
    }

    #[test]
    fn a_v5_suback_has_a_property_length_before_the_codes() {
        let packet = suback(&[0x01, 0x97]);
        let bytes = written(&packet, V5);
        assert_eq!(bytes, [0x90, 5, 0, 10, 0, 0x01, 0x97]);
        assert_eq!(read(0, &bytes[2..], V5), Ok(packet));
    }

    #[test]
    fn suback_with_no_reason_codes_is_a_protocol_error() {
        assert_eq!(read(0, &[0, 10], V311), Err(Error::Protocol));
        assert_eq!(read(0, &[0, 10, 0], V5), Err(Error::Protocol));
    }

    #[test]
    fn an_unknown_return_code_is_a_protocol_error() {
        assert_eq!(read(0, &[0, 10, 0x03], V311), Err(Error::Protocol));
        assert_eq!(read(0, &[0, 10, 0x97], V311), Err(Error::Protocol));
        assert_eq!(read(0, &[0, 10, 0, 0x10], V5), Err(Error::Protocol));
    }

    #[test]
    fn fixed_header_flags_are_malformed() {
        assert_eq!(read(0x02, &[0, 10, 0], V311), Err(Error::MalformedPacket));
    }

    #[test]
    fn packet_id_zero_is_a_protocol_error() {
        assert_eq!(read(0, &[0, 0, 0], V311), Err(Error::Protocol));
    }
}
