//! PUBACK, PUBREC, PUBREL and PUBCOMP: the QoS 1 and QoS 2 acknowledgements, which
//! share one layout: a packet identifier, then in MQTT 5 a reason code and
//! properties, both of which may be left off when they are the defaults.

use crate::error::{Error, Result};
use crate::protocol::codec::{self, Reader};
use crate::protocol::packet::{Ack, ProtocolVersion, CMD_PUBREL};
use crate::protocol::property_codec::{read_properties, write_properties};
use crate::protocol::reason;

/// PUBREL's fixed-header flags; the other three have none.
const PUBREL_FLAGS: u8 = 0x02;

fn expected_flags(command: u8) -> u8 {
    if command == CMD_PUBREL {
        PUBREL_FLAGS
    } else {
        0
    }
}

/// Reads the body of `command` (`CMD_PUBACK`, `CMD_PUBREC`, `CMD_PUBREL` or `CMD_PUBCOMP`).
pub fn read(command: u8, flags: u8, body: &[u8], version: ProtocolVersion) -> Result<Ack> {
    if flags != expected_flags(command) {
        return Err(Error::MalformedPacket);
    }
    let mut r = Reader::new(body);
    let packet_id = r.packet_id()?;
    let mut reason_code = 0;
    let mut properties = Vec::new();
    if version.is_v5() && !r.is_empty() {
        reason_code = r.u8()?;
        reason::check(command, reason_code)?;
        if !r.is_empty() {
            properties = read_properties(&mut r, command)?;
        }
    }
    r.finish()?;
    Ok(Ack {
        packet_id,
        reason_code,
        properties,
    })
}

/// Writes `ack` as `command`, in the shortest form that says everything.
pub fn write(command: u8, ack: &Ack, version: ProtocolVersion, out: &mut Vec<u8>) -> Result<()> {
    codec::write_packet(
        out,
        command | expected_flags(command),
        |out| {
            codec::put_u16(out, ack.packet_id);
            if version.is_v5() && (ack.reason_code != 0 || !ack.properties.is_empty()) {
                codec::put_u8(out, ack.reason_code);
                if !ack.properties.is_empty() {
                    write_properties(out, &ack.properties)?;
                }
            }
            Ok(())
        },
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::packet::{CMD_PUBACK, CMD_PUBCOMP, CMD_PUBREC};
    use crate::protocol::property::{Property, PropertyValue};
    use ProtocolVersion::{V311, V5};

    fn ack(packet_id: u16, reason_code: u8) -> Ack {
        Ack {
            packet_id,
            reason_code,
            properties: Vec::new(),
        }
    }

    fn written(command: u8, packet: &Ack, version: ProtocolVersion) -> Vec<u8> {
        let mut out = Vec::new();
        write(command, packet, version, &mut out).unwrap();
        out
    }

    #[test]
    fn a_311_ack_is_the_packet_id_alone() {
        assert_eq!(
            written(CMD_PUBACK, &ack(0x1234, 0), V311),
            [0x40, 2, 0x12, 0x34]
        );
        assert_eq!(written(CMD_PUBREC, &ack(1, 0), V311), [0x50, 2, 0, 1]);
        assert_eq!(written(CMD_PUBREL, &ack(1, 0), V311), [0x62, 2, 0, 1]);
        assert_eq!(written(CMD_PUBCOMP, &ack(1, 0), V311), [0x70, 2, 0, 1]);
        assert_eq!(read(CMD_PUBREL, 0x02, &[0, 1], V311), Ok(ack(1, 0)));
    }

    #[test]
    fn a_v5_success_without_properties_uses_the_short_form() {
        assert_eq!(written(CMD_PUBACK, &ack(7, 0), V5), [0x40, 2, 0, 7]);
        assert_eq!(read(CMD_PUBACK, 0, &[0, 7], V5), Ok(ack(7, 0)));
    }

    #[test]
    fn a_v5_reason_without_properties_leaves_off_the_property_length() {
        assert_eq!(
            written(CMD_PUBREC, &ack(7, 0x10), V5),
            [0x50, 3, 0, 7, 0x10]
        );
        assert_eq!(read(CMD_PUBREC, 0, &[0, 7, 0x10], V5), Ok(ack(7, 0x10)));
        assert_eq!(read(CMD_PUBREC, 0, &[0, 7, 0x10, 0], V5), Ok(ack(7, 0x10)));
    }

    #[test]
    fn a_v5_ack_with_a_reason_string_round_trips() {
        let mut packet = ack(7, 0x92);
        packet.properties = vec![Property {
            id: 31,
            value: PropertyValue::String("gone".into()),
        }];
        let bytes = written(CMD_PUBCOMP, &packet, V5);
        assert_eq!(
            bytes,
            [0x70, 11, 0, 7, 0x92, 7, 31, 0, 4, b'g', b'o', b'n', b'e']
        );
        assert_eq!(read(CMD_PUBCOMP, 0, &bytes[2..], V5), Ok(packet));
    }

    #[test]
    fn pubrel_without_flag_bit_1_is_malformed() {
        assert_eq!(
            read(CMD_PUBREL, 0x00, &[0, 1], V311),
            Err(Error::MalformedPacket)
        );
        assert_eq!(
            read(CMD_PUBACK, 0x02, &[0, 1], V311),
            Err(Error::MalformedPacket)
        );
    }

    #[test]
    fn packet_id_zero_is_a_protocol_error() {
        assert_eq!(read(CMD_PUBACK, 0, &[0, 0], V311), Err(Error::Protocol));
    }

    #[test]
    fn a_311_ack_with_extra_bytes_is_malformed() {
        assert_eq!(
            read(CMD_PUBACK, 0, &[0, 1, 0], V311),
            Err(Error::MalformedPacket)
        );
        assert_eq!(read(CMD_PUBACK, 0, &[0], V311), Err(Error::MalformedPacket));
    }

    #[test]
    fn a_reason_code_the_packet_may_not_carry_is_a_protocol_error() {
        assert_eq!(
            read(CMD_PUBREL, 0x02, &[0, 1, 0x10], V5),
            Err(Error::Protocol)
        );
    }

    #[test]
    fn a_property_not_allowed_on_acks_is_a_protocol_error() {
        assert_eq!(
            read(CMD_PUBACK, 0, &[0, 1, 0, 3, 35, 0, 1], V5),
            Err(Error::Protocol)
        );
    }
}
