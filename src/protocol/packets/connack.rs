//! CONNACK: the server's answer to CONNECT.

use crate::error::{Error, Result};
use crate::protocol::codec::{self, Reader};
use crate::protocol::packet::{ConnAck, ProtocolVersion, CMD_CONNACK};
use crate::protocol::property_codec::{read_properties, write_properties_at};
use crate::protocol::reason;

const SESSION_PRESENT: u8 = 0x01;
/// MQTT 3.1.1's "unacceptable protocol version".
const REFUSED_PROTOCOL_VERSION: u8 = 0x01;
/// MQTT 5's "unsupported protocol version".
const UNSUPPORTED_PROTOCOL_VERSION: u8 = 0x84;

pub fn read(flags: u8, body: &[u8], version: ProtocolVersion) -> Result<ConnAck> {
    if flags != 0 {
        return Err(Error::MalformedPacket);
    }
    let mut r = Reader::new(body);
    let ack_flags = r.u8()?;
    if ack_flags & !SESSION_PRESENT != 0 {
        return Err(Error::MalformedPacket);
    }
    let reason_code = r.u8()?;
    if version.is_v5() && reason_code == REFUSED_PROTOCOL_VERSION && r.is_empty() {
        // A broker that only speaks 3.1.1 refuses our MQTT 5 CONNECT with its own
        // CONNACK, which has no properties: read as MQTT 5's refusal, as
        // libmosquitto reads it.
        return Ok(ConnAck {
            session_present: ack_flags & SESSION_PRESENT != 0,
            reason_code: UNSUPPORTED_PROTOCOL_VERSION,
            properties: Vec::new(),
        });
    }
    let properties = if version.is_v5() {
        reason::check(CMD_CONNACK, reason_code)?;
        read_properties(&mut r, CMD_CONNACK)?
    } else {
        Vec::new()
    };
    r.finish()?;
    Ok(ConnAck {
        session_present: ack_flags & SESSION_PRESENT != 0,
        reason_code,
        properties,
    })
}

pub fn write(connack: &ConnAck, version: ProtocolVersion, out: &mut Vec<u8>) -> Result<()> {
    codec::write_packet(
        out,
        CMD_CONNACK,
        |out| {
            codec::put_u8(
                out,
                if connack.session_present {
                    SESSION_PRESENT
                } else {
                    0
                },
            );
            codec::put_u8(out, connack.reason_code);
            write_properties_at(out, &connack.properties, version)?;
            Ok(())
        },
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::property::{Property, PropertyValue};
    use ProtocolVersion::{V31, V311, V5};

    fn connack(session_present: bool, reason_code: u8) -> ConnAck {
        ConnAck {
            session_present,
            reason_code,
            properties: Vec::new(),
        }
    }

    fn written(packet: &ConnAck, version: ProtocolVersion) -> Vec<u8> {
        let mut out = Vec::new();
        write(packet, version, &mut out).unwrap();
        out
    }

    #[test]
    fn a_311_connack_is_four_bytes() {
        assert_eq!(written(&connack(true, 0), V311), [0x20, 2, 1, 0]);
        assert_eq!(read(0, &[1, 0], V311), Ok(connack(true, 0)));
        assert_eq!(read(0, &[0, 5], V31), Ok(connack(false, 5)));
    }

    #[test]
    fn a_v5_connack_carries_properties() {
        let mut packet = connack(false, 0);
        packet.properties = vec![Property {
            id: 36,
            value: PropertyValue::Byte(1),
        }];
        let bytes = written(&packet, V5);
        assert_eq!(bytes, [0x20, 5, 0, 0, 2, 36, 1]);
        assert_eq!(read(0, &bytes[2..], V5), Ok(packet));
    }

    #[test]
    fn a_v5_connack_without_a_property_length_is_malformed() {
        assert_eq!(read(0, &[0, 0], V5), Err(Error::MalformedPacket));
    }

    #[test]
    fn a_311_refusal_of_an_mqtt_5_connect_is_unsupported_protocol_version() {
        assert_eq!(read(0, &[0, 1], V5), Ok(connack(false, 0x84)));
        // Any other code without properties is still malformed.
        assert_eq!(read(0, &[0, 0x87], V5), Err(Error::MalformedPacket));
    }

    #[test]
    fn reserved_acknowledge_flags_are_malformed() {
        assert_eq!(read(0, &[2, 0], V311), Err(Error::MalformedPacket));
    }

    #[test]
    fn fixed_header_flags_are_malformed() {
        assert_eq!(read(1, &[0, 0], V311), Err(Error::MalformedPacket));
    }

    #[test]
    fn trailing_bytes_are_malformed() {
        assert_eq!(read(0, &[0, 0, 0], V311), Err(Error::MalformedPacket));
    }

    #[test]
    fn a_v5_reason_code_connack_may_not_carry_is_a_protocol_error() {
        assert_eq!(read(0, &[0, 0x04, 0], V5), Err(Error::Protocol));
        assert_eq!(read(0, &[0, 0x87, 0], V5), Ok(connack(false, 0x87)));
    }
}
