//! PUBLISH: an application message, in either direction.

use crate::error::{Error, Result};
use crate::protocol::codec::{self, Reader};
use crate::protocol::packet::{ProtocolVersion, Publish, CMD_PUBLISH};
use crate::protocol::property::id::TOPIC_ALIAS;
use crate::protocol::property::Property;
use crate::protocol::property_codec::{read_properties_at, write_properties_at};
use crate::protocol::spare::SpareBuffers;
use crate::protocol::topic::is_plain_name;

const RETAIN: u8 = 0x01;
const QOS_SHIFT: u8 = 1;
const DUP: u8 = 0x08;

pub fn read(flags: u8, body: &[u8], version: ProtocolVersion) -> Result<Publish> {
    read_into(flags, body, version, &mut SpareBuffers::new())
}

/// As `read`, the topic and payload copied into `spare`'s buffers if it has some.
pub fn read_into(
    flags: u8,
    body: &[u8],
    version: ProtocolVersion,
    spare: &mut SpareBuffers,
) -> Result<Publish> {
    let qos = (flags >> QOS_SHIFT) & 0x03;
    let dup = flags & DUP != 0;
    if qos == 3 {
        return Err(Error::MalformedPacket);
    }
    // The DUP flag means "sent before", which a QoS 0 message never is.
    if version.is_v5() && qos == 0 && dup {
        return Err(Error::Protocol);
    }
    let mut r = Reader::new(body);
    let topic_bytes = r.binary()?;
    // Nearly every topic is printable ASCII without wildcards: one pass over
    // it then stands for both the UTF-8 check and the topic name's.
    // (An empty one may stand for a Topic Alias: the full checks decide.)
    let plain = !topic_bytes.is_empty() && is_plain_name(topic_bytes);
    let topic = if plain {
        std::str::from_utf8(topic_bytes).map_err(|_| Error::MalformedUtf8)?
    } else {
        codec::mqtt_str(topic_bytes)?
    };
    let packet_id = if qos > 0 { r.packet_id()? } else { 0 };
    let properties = read_properties_at(&mut r, CMD_PUBLISH, version)?;
    // MQTT 5 lets a Topic Alias stand in for the topic; nothing else may. A
    // topic resolved from an alias was checked here when it came with it.
    if !plain {
        let aliased = properties.iter().any(|p| p.id == TOPIC_ALIAS);
        if !(topic.is_empty() && aliased) {
            check_topic_name(topic)?;
        }
    }
    let (topic, payload) = spare.copy(topic, r.rest());
    Ok(Publish {
        dup,
        qos,
        retain: flags & RETAIN != 0,
        topic,
        packet_id,
        payload,
        properties,
    })
}

pub fn write(publish: &Publish, version: ProtocolVersion, out: &mut Vec<u8>) -> Result<()> {
    write_parts(Parts::of(publish), version, out)
}

/// A PUBLISH to encode, borrowed from wherever its parts are (the caller's
/// buffers for a QoS 0 message, which is never kept).
#[derive(Debug, Clone, Copy)]
pub struct Parts<'a> {
    pub dup: bool,
    pub qos: u8,
    pub retain: bool,
    pub topic: &'a str,
    pub packet_id: u16,
    pub properties: &'a [Property],
    pub payload: &'a [u8],
}

impl<'a> Parts<'a> {
    pub fn of(publish: &'a Publish) -> Parts<'a> {
        Parts {
            dup: publish.dup,
            qos: publish.qos,
            retain: publish.retain,
            topic: &publish.topic,
            packet_id: publish.packet_id,
            properties: &publish.properties,
            payload: &publish.payload,
        }
    }
}

/// As `write`, from borrowed parts.
pub fn write_parts(publish: Parts<'_>, version: ProtocolVersion, out: &mut Vec<u8>) -> Result<()> {
    if publish.qos > 2 || (publish.qos > 0 && publish.packet_id == 0) {
        return Err(Error::Inval);
    }
    let mut first_byte = CMD_PUBLISH | (publish.qos << QOS_SHIFT);
    if publish.dup {
        first_byte |= DUP;
    }
    if publish.retain {
        first_byte |= RETAIN;
    }
    if publish.properties.is_empty() && publish.topic.len() <= 0xFFFF {
        // The common case, written in one pass: the length is known up front.
        let id_len = if publish.qos > 0 { 2 } else { 0 };
        // MQTT 5: an empty property section is its length, 0.
        let properties_len = usize::from(version.is_v5());
        let remaining = 2 + publish.topic.len() + id_len + properties_len + publish.payload.len();
        if remaining > codec::MAX_REMAINING_LENGTH as usize {
            return Err(Error::PayloadSize);
        }
        // The fixed header and the topic's length, built on the stack and
        // copied in once.
        let mut header = [0u8; 7];
        header[0] = first_byte;
        let mut n = 1;
        let mut rest = remaining;
        loop {
            let byte = (rest & 0x7F) as u8;
            rest >>= 7;
            header[n] = if rest > 0 { byte | 0x80 } else { byte };
            n += 1;
            if rest == 0 {
                break;
            }
        }
        header[n..n + 2].copy_from_slice(&(publish.topic.len() as u16).to_be_bytes());
        out.reserve(header.len() + remaining);
        // All seven bytes, a copy of known size (no call), then the unused
        // ones of a short length field dropped again.
        let start = out.len();
        out.extend_from_slice(&header);
        out.truncate(start + n + 2);
        out.extend_from_slice(publish.topic.as_bytes());
        if publish.qos > 0 {
            codec::put_u16(out, publish.packet_id);
        }
        if version.is_v5() {
            out.push(0);
        }
        out.extend_from_slice(publish.payload);
        return Ok(());
    }
    codec::write_packet(
        out,
        first_byte,
        |out| {
            codec::put_string(out, publish.topic)?;
            if publish.qos > 0 {
                codec::put_u16(out, publish.packet_id);
            }
            write_properties_at(out, publish.properties, version)?;
            Ok(())
        },
        publish.payload,
    )
}

/// A topic name a message is published to: not empty, and no wildcards.
pub(crate) fn check_topic_name(topic: &str) -> Result<()> {
    if topic.is_empty() || topic.contains(['+', '#']) {
        return Err(Error::Protocol);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::property::{Property, PropertyValue};
    use ProtocolVersion::{V31, V311, V5};

    fn publish(qos: u8, topic: &str, payload: &[u8]) -> Publish {
        Publish {
            dup: false,
            qos,
            retain: false,
            topic: topic.into(),
            packet_id: if qos > 0 { 10 } else { 0 },
            payload: payload.to_vec(),
            properties: Vec::new(),
        }
    }

    fn written(packet: &Publish, version: ProtocolVersion) -> Vec<u8> {
        let mut out = Vec::new();
        write(packet, version, &mut out).unwrap();
        out
    }

    fn read_back(bytes: &[u8], version: ProtocolVersion) -> Result<Publish> {
        let header = codec::read_fixed_header(bytes).unwrap().unwrap();
        assert_eq!(header.command, CMD_PUBLISH);
        read(header.flags, &bytes[header.header_len..], version)
    }

    #[test]
    fn the_spec_example_topic_and_packet_id_layout() {
        // MQTT 3.1.1 section 3.3.2.3: topic "a/b", packet identifier 10.
        let bytes = written(&publish(1, "a/b", b""), V311);
        assert_eq!(bytes, [0x32, 7, 0, 3, b'a', b'/', b'b', 0, 10]);
        assert_eq!(read_back(&bytes, V311), Ok(publish(1, "a/b", b"")));
    }

    #[test]
    fn a_qos0_publish_has_no_packet_id() {
        let bytes = written(&publish(0, "t", b"hi"), V31);
        assert_eq!(bytes, [0x30, 5, 0, 1, b't', b'h', b'i']);
        assert_eq!(read_back(&bytes, V31), Ok(publish(0, "t", b"hi")));
    }

    #[test]
    fn a_v5_publish_carries_properties_before_the_payload() {
        let mut packet = publish(2, "t", b"x");
        packet.dup = true;
        packet.retain = true;
        packet.properties = vec![Property {
            id: 1,
            value: PropertyValue::Byte(1),
        }];
        let bytes = written(&packet, V5);
        assert_eq!(bytes, [0x3D, 9, 0, 1, b't', 0, 10, 2, 1, 1, b'x']);
        assert_eq!(read_back(&bytes, V5), Ok(packet));
    }

    #[test]
    fn an_empty_v5_publish_has_a_zero_property_length() {
        let bytes = written(&publish(0, "t", b""), V5);
        assert_eq!(bytes, [0x30, 4, 0, 1, b't', 0]);
    }

    #[test]
    fn publish_with_qos3_is_malformed() {
        assert_eq!(
            read(0x06, &[0, 1, b't', 0, 1], V311),
            Err(Error::MalformedPacket)
        );
    }

    #[test]
    fn a_qos0_publish_with_dup_is_a_protocol_error_in_v5() {
        assert_eq!(read(0x08, &[0, 1, b't', 0], V5), Err(Error::Protocol));
        assert!(read(0x08, &[0, 1, b't'], V311).is_ok());
    }

    #[test]
    fn packet_id_zero_is_a_protocol_error() {
        assert_eq!(read(0x02, &[0, 1, b't', 0, 0], V311), Err(Error::Protocol));
    }

    #[test]
    fn a_topic_with_wildcards_is_a_protocol_error() {
        assert_eq!(
            read(0x00, &[0, 3, b'a', b'/', b'+'], V311),
            Err(Error::Protocol)
        );
        assert_eq!(read(0x00, &[0, 1, b'#'], V311), Err(Error::Protocol));
    }

    #[test]
    fn a_wildcard_topic_is_refused_even_with_a_topic_alias() {
        // Topic "a/#" with Topic Alias 7: the alias would carry the wildcard
        // into later messages, whose empty topics are not checked again.
        let body = [0, 3, b'a', b'/', b'#', 3, 35, 0, 7, b'p'];
        assert_eq!(read(0x00, &body, V5), Err(Error::Protocol));
    }

    #[test]
    fn a_topic_beyond_printable_ascii_gets_the_full_checks() {
        let cafe = "caf\u{e9}".as_bytes();
        let mut body = vec![0, cafe.len() as u8];
        body.extend_from_slice(cafe);
        assert_eq!(read(0x00, &body, V311).unwrap().topic, "caf\u{e9}");
        body[1] += 1;
        body.insert(2, b'+');
        assert_eq!(read(0x00, &body, V311), Err(Error::Protocol));
        assert_eq!(read(0x00, &[0, 1, 0x01], V311), Err(Error::MalformedUtf8));
    }

    #[test]
    fn a_payload_read_into_spare_buffers_has_room_for_a_nul() {
        let mut spare = SpareBuffers::new();
        spare.keep(String::with_capacity(1), Vec::with_capacity(1));
        let publish = read_into(0x00, &[0, 1, b't', b'a', b'b', b'c'], V311, &mut spare).unwrap();
        assert_eq!(
            (publish.topic.as_str(), &publish.payload[..]),
            ("t", &b"abc"[..])
        );
        assert!(publish.payload.capacity() > publish.payload.len());
    }

    #[test]
    fn an_empty_topic_needs_a_topic_alias() {
        assert_eq!(read(0x00, &[0, 0], V311), Err(Error::Protocol));
        assert_eq!(read(0x00, &[0, 0, 0], V5), Err(Error::Protocol));
        let aliased = read(0x00, &[0, 0, 3, 35, 0, 7, b'p'], V5).unwrap();
        assert_eq!(aliased.topic, "");
        assert_eq!(aliased.payload, b"p");
    }

    #[test]
    fn a_truncated_topic_is_malformed() {
        assert_eq!(read(0x00, &[0, 5, b'a'], V311), Err(Error::MalformedPacket));
        assert_eq!(
            read(0x02, &[0, 1, b'a', 0], V311),
            Err(Error::MalformedPacket)
        );
    }

    #[test]
    fn a_bad_utf8_topic_is_malformed_utf8() {
        assert_eq!(read(0x00, &[0, 1, 0xC3], V311), Err(Error::MalformedUtf8));
    }

    #[test]
    fn writing_qos1_without_a_packet_id_is_invalid() {
        let mut packet = publish(1, "t", b"");
        packet.packet_id = 0;
        assert_eq!(write(&packet, V311, &mut Vec::new()), Err(Error::Inval));
    }
}
