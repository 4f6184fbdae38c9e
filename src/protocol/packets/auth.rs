//! AUTH: MQTT 5's extended authentication exchange. Earlier versions have no such
//! packet: type 15 is reserved there.

use super::reason_only;
use crate::error::{Error, Result};
use crate::protocol::packet::{ProtocolVersion, ReasonOnly, CMD_AUTH};

pub fn read(flags: u8, body: &[u8], version: ProtocolVersion) -> Result<ReasonOnly> {
    if !version.is_v5() {
        return Err(Error::Protocol);
    }
    reason_only::read(CMD_AUTH, flags, body)
}

pub fn write(auth: &ReasonOnly, version: ProtocolVersion, out: &mut Vec<u8>) -> Result<()> {
    if !version.is_v5() {
        return Err(Error::Protocol);
    }
    reason_only::write(CMD_AUTH, auth, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::property::{Property, PropertyValue};
    use ProtocolVersion::{V311, V5};

    fn auth(reason_code: u8, properties: Vec<Property>) -> ReasonOnly {
        ReasonOnly {
            reason_code,
            properties,
        }
    }

    #[test]
    fn auth_before_v5_is_a_protocol_error() {
        assert_eq!(read(0, &[], V311), Err(Error::Protocol));
        assert_eq!(
            write(&auth(0, vec![]), V311, &mut Vec::new()),
            Err(Error::Protocol)
        );
    }

    #[test]
    fn a_successful_auth_without_properties_is_empty() {
        let mut out = Vec::new();
        write(&auth(0, vec![]), V5, &mut out).unwrap();
        assert_eq!(out, [0xF0, 0]);
        assert_eq!(read(0, &[], V5), Ok(auth(0, vec![])));
    }

    #[test]
    fn continue_authentication_carries_method_and_data() {
        let packet = auth(
            0x18,
            vec![
                Property {
                    id: 21,
                    value: PropertyValue::String("SCRAM".into()),
                },
                Property {
                    id: 22,
                    value: PropertyValue::Binary(vec![1, 2]),
                },
            ],
        );
        let mut out = Vec::new();
        write(&packet, V5, &mut out).unwrap();
        assert_eq!(
            out,
            [0xF0, 15, 0x18, 13, 21, 0, 5, b'S', b'C', b'R', b'A', b'M', 22, 0, 2, 1, 2]
        );
        assert_eq!(read(0, &out[2..], V5), Ok(packet));
    }

    #[test]
    fn a_reason_code_auth_may_not_carry_is_a_protocol_error() {
        assert_eq!(read(0, &[0x80], V5), Err(Error::Protocol));
    }

    #[test]
    fn a_property_auth_may_not_carry_is_a_protocol_error() {
        assert_eq!(read(0, &[0x18, 2, 1, 0], V5), Err(Error::Protocol));
    }
}
