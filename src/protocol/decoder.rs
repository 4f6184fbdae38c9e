//! Whole packets in and out of a byte stream: `Decoder` finds the next complete
//! packet in a buffer, and `encode` appends a packet to one.

use super::codec::{self, FixedHeader};
use super::packet::*;
use super::packets::{
    ack, auth, connack, connect, disconnect, ping, publish, suback, subscribe, unsuback,
    unsubscribe,
};
use super::spare::SpareBuffers;
use crate::error::{Error, Result};

/// Reads packets out of a buffer of received bytes.
#[derive(Debug, Clone)]
pub struct Decoder {
    /// The largest whole packet (fixed header included) accepted, or 0 for no limit
    /// beyond MQTT's own. A larger packet is refused as soon as its header arrives.
    pub max_packet_size: u32,
    /// The protocol level the connection speaks.
    pub version: ProtocolVersion,
}

/// What `Decoder::decode` found at the start of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A whole packet, which took the first `consumed` bytes of the buffer.
    Packet { packet: Packet, consumed: usize },
    /// The buffer holds only part of a packet: at least this many more bytes are needed.
    NeedMore(usize),
}

impl Decoder {
    pub fn new(version: ProtocolVersion) -> Self {
        Decoder {
            max_packet_size: 0,
            version,
        }
    }

    /// Decodes the packet at the start of `buf`, if it is all there.
    ///
    /// Only the packet's own bytes are looked at, so anything the packet holds is
    /// bounded by its declared size, which is checked against `max_packet_size`
    /// before the body is awaited.
    pub fn decode(&mut self, buf: &[u8]) -> Result<Decoded> {
        self.decode_into(buf, &mut SpareBuffers::new())
    }

    /// As `decode`, a PUBLISH's topic and payload copied into `spare`'s buffers
    /// if it has some.
    pub fn decode_into(&mut self, buf: &[u8], spare: &mut SpareBuffers) -> Result<Decoded> {
        let Some(header) = codec::read_fixed_header(buf)? else {
            // The smallest packet is two bytes; a partial length needs at least one more.
            return Ok(Decoded::NeedMore(2usize.saturating_sub(buf.len()).max(1)));
        };
        let packet_len = header.packet_len();
        if self.max_packet_size != 0 && packet_len > self.max_packet_size as usize {
            return Err(Error::OversizePacket);
        }
        if buf.len() < packet_len {
            return Ok(Decoded::NeedMore(packet_len - buf.len()));
        }
        let body = &buf[header.header_len..packet_len];
        let packet = if header.command == CMD_PUBLISH {
            Packet::Publish(publish::read_into(header.flags, body, self.version, spare)?)
        } else {
            decode_body(&header, body, self.version)?
        };
        Ok(Decoded::Packet {
            packet,
            consumed: packet_len,
        })
    }
}

/// Decodes one packet's body, given its fixed header.
pub fn decode_body(header: &FixedHeader, body: &[u8], version: ProtocolVersion) -> Result<Packet> {
    let flags = header.flags;
    let packet = match header.command {
        CMD_CONNECT => Packet::Connect(Box::new(connect::read(flags, body, version)?)),
        CMD_CONNACK => Packet::ConnAck(connack::read(flags, body, version)?),
        CMD_PUBLISH => Packet::Publish(publish::read(flags, body, version)?),
        CMD_PUBACK => Packet::PubAck(ack::read(CMD_PUBACK, flags, body, version)?),
        CMD_PUBREC => Packet::PubRec(ack::read(CMD_PUBREC, flags, body, version)?),
        CMD_PUBREL => Packet::PubRel(ack::read(CMD_PUBREL, flags, body, version)?),
        CMD_PUBCOMP => Packet::PubComp(ack::read(CMD_PUBCOMP, flags, body, version)?),
        CMD_SUBSCRIBE => Packet::Subscribe(subscribe::read(flags, body, version)?),
        CMD_SUBACK => Packet::SubAck(suback::read(flags, body, version)?),
        CMD_UNSUBSCRIBE => Packet::Unsubscribe(unsubscribe::read(flags, body, version)?),
        CMD_UNSUBACK => Packet::UnsubAck(unsuback::read(flags, body, version)?),
        CMD_PINGREQ => {
            ping::read(flags, body)?;
            Packet::PingReq
        }
        CMD_PINGRESP => {
            ping::read(flags, body)?;
            Packet::PingResp
        }
        CMD_DISCONNECT => Packet::Disconnect(disconnect::read(flags, body, version)?),
        CMD_AUTH => Packet::Auth(auth::read(flags, body, version)?),
        // Type 0 is reserved in every version.
        _ => return Err(Error::Protocol),
    };
    Ok(packet)
}

/// Appends `packet`, as `version` lays it out, to `out`. On error `out` is left as
/// it was; a packet too big for MQTT's remaining length is `PayloadSize`.
pub fn encode(packet: &Packet, version: ProtocolVersion, out: &mut Vec<u8>) -> Result<()> {
    match packet {
        Packet::Connect(p) => connect::write(p, version, out),
        Packet::ConnAck(p) => connack::write(p, version, out),
        Packet::Publish(p) => publish::write(p, version, out),
        Packet::PubAck(p) => ack::write(CMD_PUBACK, p, version, out),
        Packet::PubRec(p) => ack::write(CMD_PUBREC, p, version, out),
        Packet::PubRel(p) => ack::write(CMD_PUBREL, p, version, out),
        Packet::PubComp(p) => ack::write(CMD_PUBCOMP, p, version, out),
        Packet::Subscribe(p) => subscribe::write(p, version, out),
        Packet::SubAck(p) => suback::write(p, version, out),
        Packet::Unsubscribe(p) => unsubscribe::write(p, version, out),
        Packet::UnsubAck(p) => unsuback::write(p, version, out),
        Packet::PingReq => ping::write(CMD_PINGREQ, out),
        Packet::PingResp => ping::write(CMD_PINGRESP, out),
        Packet::Disconnect(p) => disconnect::write(p, version, out),
        Packet::Auth(p) => auth::write(p, version, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion::{V311, V5};

    fn encoded(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
        let mut out = Vec::new();
        encode(packet, version, &mut out).unwrap();
        out
    }

    fn publish(payload_len: usize) -> Packet {
        Packet::Publish(Publish {
            dup: false,
            qos: 1,
            retain: false,
            topic: "t".into(),
            packet_id: 1,
            payload: vec![0xAB; payload_len],
            properties: Vec::new(),
        })
    }

    #[test]
    fn an_empty_buffer_needs_two_bytes() {
        assert_eq!(Decoder::new(V311).decode(&[]), Ok(Decoded::NeedMore(2)));
        assert_eq!(Decoder::new(V311).decode(&[0xC0]), Ok(Decoded::NeedMore(1)));
        assert_eq!(
            Decoder::new(V311).decode(&[0x30, 0x80]),
            Ok(Decoded::NeedMore(1))
        );
    }

    #[test]
    fn a_partial_body_says_how_much_is_missing() {
        let bytes = encoded(&publish(10), V311);
        assert_eq!(
            Decoder::new(V311).decode(&bytes[..5]),
            Ok(Decoded::NeedMore(bytes.len() - 5))
        );
    }

    #[test]
    fn each_prefix_of_a_packet_needs_more_and_the_whole_decodes() {
        let bytes = encoded(&publish(300), V5);
        let mut decoder = Decoder::new(V5);
        for end in 0..bytes.len() {
            assert!(matches!(decoder.decode(&bytes[..end]), Ok(Decoded::NeedMore(n)) if n >= 1));
        }
        assert_eq!(
            decoder.decode(&bytes),
            Ok(Decoded::Packet {
                packet: publish(300),
                consumed: bytes.len()
            })
        );
    }

    #[test]
    fn packets_are_decoded_one_at_a_time_from_a_stream() {
        let mut stream = encoded(&Packet::PingResp, V311);
        stream.extend(encoded(&publish(3), V311));
        stream.extend(&[0x90, 0x03, 0x00]);
        let mut decoder = Decoder::new(V311);
        let mut packets = Vec::new();
        let mut at = 0;
        while let Decoded::Packet { packet, consumed } = decoder.decode(&stream[at..]).unwrap() {
            packets.push(packet);
            at += consumed;
        }
        assert_eq!(packets, [Packet::PingResp, publish(3)]);
        assert_eq!(decoder.decode(&stream[at..]), Ok(Decoded::NeedMore(2)));
    }

    #[test]
    fn an_oversize_packet_is_refused_from_its_header_alone() {
        let mut decoder = Decoder {
            max_packet_size: 100,
            version: V311,
        };
        // Remaining length 200: the header says enough.
        assert_eq!(
            decoder.decode(&[0x30, 0xC8, 0x01]),
            Err(Error::OversizePacket)
        );
        // A packet of exactly the limit is fine.
        let bytes = encoded(&publish(100 - 7), V311);
        assert_eq!(bytes.len(), 100);
        assert!(matches!(decoder.decode(&bytes), Ok(Decoded::Packet { .. })));
    }

    #[test]
    fn a_huge_declared_length_needs_more_without_allocating() {
        let mut decoder = Decoder::new(V311);
        assert_eq!(
            decoder.decode(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F]),
            Ok(Decoded::NeedMore(codec::MAX_VARINT as usize))
        );
    }

    #[test]
    fn a_five_byte_remaining_length_is_malformed() {
        let mut decoder = Decoder::new(V311);
        assert_eq!(
            decoder.decode(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
            Err(Error::MalformedPacket)
        );
    }

    #[test]
    fn packet_type_0_is_a_protocol_error() {
        assert_eq!(
            Decoder::new(V311).decode(&[0x00, 0x00]),
            Err(Error::Protocol)
        );
    }

    #[test]
    fn a_packet_over_mqtts_limit_is_payload_size() {
        let mut out = vec![9];
        let packet = publish(268_435_455 - 4);
        assert_eq!(encode(&packet, V311, &mut out), Err(Error::PayloadSize));
        assert_eq!(out, [9]);
        // One byte less fits exactly.
        let packet = publish(268_435_455 - 5);
        let mut out = Vec::new();
        encode(&packet, V311, &mut out).unwrap();
        assert_eq!(&out[..5], [0x32, 0xFF, 0xFF, 0xFF, 0x7F]);
    }

    mod round_trips {
        use super::*;
        use crate::protocol::arbitrary;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn every_packet_reads_back_as_written(
                (version, packet) in arbitrary::version().prop_flat_map(|v| (Just(v), arbitrary::packet(v)))
            ) {
                let mut bytes = vec![0xEE];
                encode(&packet, version, &mut bytes).unwrap();
                let bytes = &bytes[1..];
                let mut decoder = Decoder::new(version);
                prop_assert_eq!(
                    decoder.decode(bytes),
                    Ok(Decoded::Packet { packet: packet.clone(), consumed: bytes.len() })
                );
                // Any strict prefix is an incomplete packet, never an error.
                let cut = bytes.len() / 2;
                prop_assert!(matches!(decoder.decode(&bytes[..cut]), Ok(Decoded::NeedMore(_))));
            }

            #[test]
            fn arbitrary_bytes_never_panic(
                version in arbitrary::version(),
                bytes in prop::collection::vec(any::<u8>(), 0..64),
            ) {
                let mut decoder = Decoder { max_packet_size: 1000, version };
                if let Ok(Decoded::Packet { packet, consumed }) = decoder.decode(&bytes) {
                    let mut again = Vec::new();
                    encode(&packet, version, &mut again).unwrap();
                    prop_assert_eq!(
                        decoder.decode(&again),
                        Ok(Decoded::Packet { packet, consumed: again.len() })
                    );
                    prop_assert!(consumed <= bytes.len());
                }
            }
        }
    }
}
