//! CONNECT: the first packet a client sends.
//!
//! Its protocol level comes from the packet itself, so `read` and `write` take the
//! version only for symmetry with the other packets: a CONNECT is read and written
//! at the level it names.

use super::publish::check_topic_name;
use crate::error::{Error, Result};
use crate::protocol::codec::{self, Reader};
use crate::protocol::packet::{Connect, ProtocolVersion, Will, CMD_CONNECT, CMD_WILL};
use crate::protocol::property_codec::{read_properties, write_properties};

const RESERVED: u8 = 0x01;
const CLEAN_START: u8 = 0x02;
const WILL_FLAG: u8 = 0x04;
const WILL_QOS_SHIFT: u8 = 3;
const WILL_QOS_MASK: u8 = 0x18;
const WILL_RETAIN: u8 = 0x20;
const PASSWORD: u8 = 0x40;
const USERNAME: u8 = 0x80;

fn protocol_name(version: ProtocolVersion) -> &'static str {
    match version {
        ProtocolVersion::V31 => "MQIsdp",
        ProtocolVersion::V311 | ProtocolVersion::V5 => "MQTT",
    }
}

pub fn read(flags: u8, body: &[u8], _version: ProtocolVersion) -> Result<Connect> {
    if flags != 0 {
        return Err(Error::MalformedPacket);
    }
    let mut r = Reader::new(body);
    let name = r.string()?;
    let protocol = ProtocolVersion::from_level(r.u8()?).ok_or(Error::Protocol)?;
    if name != protocol_name(protocol) {
        return Err(Error::Protocol);
    }
    let connect_flags = r.u8()?;
    let will_qos = (connect_flags & WILL_QOS_MASK) >> WILL_QOS_SHIFT;
    let has_will = connect_flags & WILL_FLAG != 0;
    if connect_flags & RESERVED != 0 || will_qos > 2 {
        return Err(Error::MalformedPacket);
    }
    if !has_will && (will_qos != 0 || connect_flags & WILL_RETAIN != 0) {
        return Err(Error::MalformedPacket);
    }
    if !protocol.is_v5() && connect_flags & PASSWORD != 0 && connect_flags & USERNAME == 0 {
        return Err(Error::Protocol);
    }
    let keep_alive = r.u16()?;
    let properties = if protocol.is_v5() {
        read_properties(&mut r, CMD_CONNECT)?
    } else {
        Vec::new()
    };
    let client_id = r.string()?.to_owned();
    let will = if has_will {
        let properties = if protocol.is_v5() {
            read_properties(&mut r, CMD_WILL)?
        } else {
            Vec::new()
        };
        let topic = r.string()?;
        check_topic_name(topic)?;
        Some(Will {
            topic: topic.to_owned(),
            payload: r.binary()?.to_vec(),
            qos: will_qos,
            retain: connect_flags & WILL_RETAIN != 0,
            properties,
        })
    } else {
        None
    };
    let username = if connect_flags & USERNAME != 0 {
        Some(r.string()?.to_owned())
    } else {
        None
    };
    let password = if connect_flags & PASSWORD != 0 {
        Some(r.binary()?.to_vec())
    } else {
        None
    };
    r.finish()?;
    Ok(Connect {
        protocol,
        clean_start: connect_flags & CLEAN_START != 0,
        keep_alive,
        client_id,
        will,
        username,
        password,
        properties,
    })
}

pub fn write(connect: &Connect, _version: ProtocolVersion, out: &mut Vec<u8>) -> Result<()> {
    let protocol = connect.protocol;
    let mut connect_flags = 0;
    if connect.clean_start {
        connect_flags |= CLEAN_START;
    }
    if let Some(will) = &connect.will {
        if will.qos > 2 {
            return Err(Error::Inval);
        }
        connect_flags |= WILL_FLAG | (will.qos << WILL_QOS_SHIFT);
        if will.retain {
            connect_flags |= WILL_RETAIN;
        }
    }
    if connect.username.is_some() {
        connect_flags |= USERNAME;
    }
    if connect.password.is_some() {
        connect_flags |= PASSWORD;
    }
    codec::write_packet(
        out,
        CMD_CONNECT,
        |out| {
            codec::put_string(out, protocol_name(protocol))?;
            codec::put_u8(out, protocol as u8);
            codec::put_u8(out, connect_flags);
            codec::put_u16(out, connect.keep_alive);
            if protocol.is_v5() {
                write_properties(out, &connect.properties)?;
            }
            codec::put_string(out, &connect.client_id)?;
            if let Some(will) = &connect.will {
                if protocol.is_v5() {
                    write_properties(out, &will.properties)?;
                }
                codec::put_string(out, &will.topic)?;
                codec::put_binary(out, &will.payload)?;
            }
            if let Some(username) = &connect.username {
                codec::put_string(out, username)?;
            }
            if let Some(password) = &connect.password {
                codec::put_binary(out, password)?;
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

    fn connect(protocol: ProtocolVersion) -> Connect {
        Connect {
            protocol,
            clean_start: true,
            keep_alive: 60,
            client_id: "c".into(),
            will: None,
            username: None,
            password: None,
            properties: Vec::new(),
        }
    }

    fn written(packet: &Connect) -> Vec<u8> {
        let mut out = Vec::new();
        write(packet, packet.protocol, &mut out).unwrap();
        out
    }

    fn read_back(bytes: &[u8]) -> Result<Connect> {
        let header = codec::read_fixed_header(bytes).unwrap().unwrap();
        assert_eq!(header.command, CMD_CONNECT);
        read(
            header.flags,
            &bytes[header.header_len..],
            ProtocolVersion::V311,
        )
    }

    #[test]
    fn a_311_connect_matches_the_spec_layout() {
        let bytes = written(&connect(ProtocolVersion::V311));
        assert_eq!(
            bytes,
            [0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, b'c']
        );
        assert_eq!(read_back(&bytes), Ok(connect(ProtocolVersion::V311)));
    }

    #[test]
    fn a_31_connect_names_mqisdp() {
        let bytes = written(&connect(ProtocolVersion::V31));
        assert_eq!(&bytes[2..11], [0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 3]);
        assert_eq!(read_back(&bytes), Ok(connect(ProtocolVersion::V31)));
    }

    #[test]
    fn a_v5_connect_has_properties_after_keep_alive() {
        let mut packet = connect(ProtocolVersion::V5);
        packet.properties = vec![Property {
            id: 17,
            value: PropertyValue::Int32(10),
        }];
        let bytes = written(&packet);
        assert_eq!(&bytes[8..18], [5, 0x02, 0, 60, 5, 17, 0, 0, 0, 10]);
        assert_eq!(read_back(&bytes), Ok(packet));
    }

    #[test]
    fn a_v5_connect_with_will_properties_reads_and_writes_back() {
        // Flags 0xCE: username, password, will QoS 1, will, clean start.
        let bytes = [
            0x10, 36, 0, 4, b'M', b'Q', b'T', b'T', 5, 0xCE, 0, 10, 5, 17, 0, 0, 0, 10, 0, 1, b'c',
            5, 24, 0, 0, 0, 5, 0, 1, b't', 0, 1, b'p', 0, 1, b'u', 0, 0,
        ];
        let packet = read_back(&bytes).unwrap();
        let will = packet.will.as_ref().unwrap();
        assert_eq!(will.qos, 1);
        assert_eq!(will.topic, "t");
        assert_eq!(will.payload, b"p");
        assert_eq!(
            will.properties,
            vec![Property {
                id: 24,
                value: PropertyValue::Int32(5)
            }]
        );
        assert_eq!(packet.username.as_deref(), Some("u"));
        assert_eq!(packet.password.as_deref(), Some(&b""[..]));
        assert_eq!(written(&packet), bytes);
    }

    #[test]
    fn a_connect_with_every_field_round_trips_at_every_level() {
        for protocol in [
            ProtocolVersion::V31,
            ProtocolVersion::V311,
            ProtocolVersion::V5,
        ] {
            let mut packet = connect(protocol);
            packet.clean_start = false;
            packet.will = Some(Will {
                topic: "last/will".into(),
                payload: vec![1, 2, 3],
                qos: 2,
                retain: true,
                properties: Vec::new(),
            });
            packet.username = Some("user".into());
            packet.password = Some(b"secret".to_vec());
            assert_eq!(read_back(&written(&packet)), Ok(packet));
        }
    }

    #[test]
    fn the_reserved_flag_is_malformed() {
        let bytes = [0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x03, 0, 60, 0, 0];
        assert_eq!(read_back(&bytes), Err(Error::MalformedPacket));
    }

    #[test]
    fn will_qos_3_is_malformed() {
        let bytes = [0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x1C, 0, 60, 0, 0];
        assert_eq!(read_back(&bytes), Err(Error::MalformedPacket));
    }

    #[test]
    fn will_retain_without_a_will_is_malformed() {
        let bytes = [0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x20, 0, 60, 0, 0];
        assert_eq!(read_back(&bytes), Err(Error::MalformedPacket));
    }

    #[test]
    fn a_password_without_a_username_is_a_protocol_error_before_v5() {
        let bytes = [
            0x10, 15, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x40, 0, 60, 0, 0, 0, 1, b'p',
        ];
        assert_eq!(read_back(&bytes), Err(Error::Protocol));
        let bytes = [
            0x10, 16, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x40, 0, 60, 0, 0, 0, 0, 1, b'p',
        ];
        assert_eq!(
            read_back(&bytes).unwrap().password.as_deref(),
            Some(&b"p"[..])
        );
    }

    #[test]
    fn an_unknown_level_or_mismatched_name_is_a_protocol_error() {
        let bytes = [0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 6, 0x02, 0, 60, 0, 0];
        assert_eq!(read_back(&bytes), Err(Error::Protocol));
        let bytes = [0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 3, 0x02, 0, 60, 0, 0];
        assert_eq!(read_back(&bytes), Err(Error::Protocol));
    }

    #[test]
    fn fixed_header_flags_are_malformed() {
        assert_eq!(
            read(0x01, &[], ProtocolVersion::V311),
            Err(Error::MalformedPacket)
        );
    }

    #[test]
    fn a_truncated_connect_is_malformed() {
        let bytes = written(&connect(ProtocolVersion::V311));
        for end in 2..bytes.len() {
            assert_eq!(
                read(0, &bytes[2..end], ProtocolVersion::V311),
                Err(Error::MalformedPacket)
            );
        }
    }
}
