//! DISCONNECT: empty before MQTT 5; in MQTT 5 an optional reason code and properties.

use super::reason_only;
use crate::error::{Error, Result};
use crate::protocol::codec;
use crate::protocol::packet::{ProtocolVersion, ReasonOnly, CMD_DISCONNECT};

pub fn read(flags: u8, body: &[u8], version: ProtocolVersion) -> Result<ReasonOnly> {
    if version.is_v5() {
        return reason_only::read(CMD_DISCONNECT, flags, body);
    }
    if flags != 0 || !body.is_empty() {
        return Err(Error::MalformedPacket);
    }
    Ok(ReasonOnly {
        reason_code: 0,
        properties: Vec::new(),
    })
}

/// Before MQTT 5 the reason code and properties have nowhere to go and are left out.
pub fn write(disconnect: &ReasonOnly, version: ProtocolVersion, out: &mut Vec<u8>) -> Result<()> {
    if version.is_v5() {
        reason_only::write(CMD_DISCONNECT, disconnect, out)
    } else {
        codec::write_packet(out, CMD_DISCONNECT, |_| Ok(()), &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::property::{Property, PropertyValue};
    use ProtocolVersion::{V31, V311, V5};

    fn disconnect(reason_code: u8) -> ReasonOnly {
        ReasonOnly {
            reason_code,
            properties: Vec::new(),
        }
    }

    fn written(packet: &ReasonOnly, version: ProtocolVersion) -> Vec<u8> {
        let mut out = Vec::new();
        write(packet, version, &mut out).unwrap();
        out
    }

    #[test]
    fn a_311_disconnect_is_two_bytes() {
        assert_eq!(written(&disconnect(0), V311), [0xE0, 0]);
        assert_eq!(read(0, &[], V31), Ok(disconnect(0)));
    }

    #[test]
    fn a_311_disconnect_with_a_body_is_malformed() {
        assert_eq!(read(0, &[0], V311), Err(Error::MalformedPacket));
        assert_eq!(read(1, &[], V311), Err(Error::MalformedPacket));
    }

    #[test]
    fn a_v5_normal_disconnect_has_length_zero() {
        assert_eq!(written(&disconnect(0), V5), [0xE0, 0]);
        assert_eq!(read(0, &[], V5), Ok(disconnect(0)));
    }

    #[test]
    fn a_v5_disconnect_with_a_reason_only_is_one_byte_long() {
        assert_eq!(written(&disconnect(0x04), V5), [0xE0, 1, 0x04]);
        assert_eq!(read(0, &[0x04], V5), Ok(disconnect(0x04)));
    }

    #[test]
    fn a_v5_disconnect_with_a_session_expiry_round_trips() {
        let mut packet = disconnect(0x8E);
        packet.properties = vec![Property {
            id: 17,
            value: PropertyValue::Int32(0),
        }];
        let bytes = written(&packet, V5);
        assert_eq!(bytes, [0xE0, 7, 0x8E, 5, 17, 0, 0, 0, 0]);
        assert_eq!(read(0, &bytes[2..], V5), Ok(packet));
    }

    #[test]
    fn a_v5_disconnect_with_a_bad_reason_code_is_a_protocol_error() {
        assert_eq!(read(0, &[0x18], V5), Err(Error::Protocol));
    }

    #[test]
    fn a_v5_disconnect_with_a_truncated_property_list_is_malformed() {
        assert_eq!(read(0, &[0x00, 5, 17, 0], V5), Err(Error::MalformedPacket));
    }

    #[test]
    fn a_v5_disconnect_with_flags_is_malformed() {
        assert_eq!(read(2, &[], V5), Err(Error::MalformedPacket));
    }
}
