//! What one record says, and its bytes (inside a frame, see `frame`).
//!
//! A record is its kind (one byte) and its fields; integers little-endian. A
//! message's MQTT 5 properties are kept as their wire encoding, so this layer
//! needs no knowledge of them.

/// A message as a record holds it, borrowed from the caller or the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub mid: u16,
    pub qos: u8,
    pub retain: bool,
    pub topic: &'a str,
    /// The MQTT 5 property list as encoded on the wire; empty before MQTT 5.
    pub properties: &'a [u8],
    pub payload: &'a [u8],
}

/// A message restored from the log, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub mid: u16,
    pub qos: u8,
    pub retain: bool,
    pub topic: String,
    pub properties: Vec<u8>,
    pub payload: Vec<u8>,
}

impl Message<'_> {
    pub fn to_owned(&self) -> StoredMessage {
        StoredMessage {
            mid: self.mid,
            qos: self.qos,
            retain: self.retain,
            topic: self.topic.to_owned(),
            properties: self.properties.to_vec(),
            payload: self.payload.to_vec(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// The client id the rest belongs to; the first record of a log.
    Client(&'a str),
    /// An outgoing message accepted: QoS 1 or 2, or a QoS 0 one the offline
    /// queue keeps.
    Published(Message<'a>),
    /// PUBREC received for outgoing QoS 2 message `mid`: PUBREL is what remains.
    PubRecReceived(u16),
    /// Outgoing QoS 1 or 2 message `mid` is done (PUBACK, PUBCOMP, a refusal).
    Completed(u16),
    /// The offline queue's QoS 0 message `mid` was sent or dropped.
    QueuedGone(u16),
    /// An incoming QoS 2 message answered with PUBREC, held until its PUBREL.
    IncomingHeld(Message<'a>),
    /// Incoming QoS 2 message `mid` was released (delivered).
    IncomingReleased(u16),
    /// The broker did not resume the session: no incoming message is held.
    IncomingCleared,
}

const CLIENT: u8 = 1;
const PUBLISHED: u8 = 2;
const PUBREC_RECEIVED: u8 = 3;
const COMPLETED: u8 = 4;
const QUEUED_GONE: u8 = 5;
const INCOMING_HELD: u8 = 6;
const INCOMING_RELEASED: u8 = 7;
const INCOMING_CLEARED: u8 = 8;

impl<'a> Record<'a> {
    /// Whether the record must be on disk before the next bytes go on the wire.
    /// A completion need not: lost in a crash, the message is sent again (QoS 1,
    /// allowed) or its PUBREL is (QoS 2, harmless).
    pub fn needs_sync(&self) -> bool {
        !matches!(self, Record::Completed(_) | Record::QueuedGone(_))
    }

    /// The record's bytes (kind and fields), appended to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Record::Client(id) => {
                out.push(CLIENT);
                out.extend_from_slice(id.as_bytes());
            }
            Record::Published(m) => encode_message(out, PUBLISHED, &m),
            Record::PubRecReceived(mid) => encode_mid(out, PUBREC_RECEIVED, mid),
            Record::Completed(mid) => encode_mid(out, COMPLETED, mid),
            Record::QueuedGone(mid) => encode_mid(out, QUEUED_GONE, mid),
            Record::IncomingHeld(m) => encode_message(out, INCOMING_HELD, &m),
            Record::IncomingReleased(mid) => encode_mid(out, INCOMING_RELEASED, mid),
            Record::IncomingCleared => out.push(INCOMING_CLEARED),
        }
    }

    /// The record in `bytes`; `None` for bytes no version of us wrote.
    pub fn decode(bytes: &'a [u8]) -> Option<Record<'a>> {
        let (&kind, rest) = bytes.split_first()?;
        Some(match kind {
            CLIENT => Record::Client(std::str::from_utf8(rest).ok()?),
            PUBLISHED => Record::Published(decode_message(rest)?),
            PUBREC_RECEIVED => Record::PubRecReceived(decode_mid(rest)?),
            COMPLETED => Record::Completed(decode_mid(rest)?),
            QUEUED_GONE => Record::QueuedGone(decode_mid(rest)?),
            INCOMING_HELD => Record::IncomingHeld(decode_message(rest)?),
            INCOMING_RELEASED => Record::IncomingReleased(decode_mid(rest)?),
            INCOMING_CLEARED if rest.is_empty() => Record::IncomingCleared,
            _ => return None,
        })
    }
}

fn encode_mid(out: &mut Vec<u8>, kind: u8, mid: u16) {
    out.push(kind);
    out.extend_from_slice(&mid.to_le_bytes());
}

fn decode_mid(rest: &[u8]) -> Option<u16> {
    Some(u16::from_le_bytes(rest.try_into().ok()?))
}

/// kind, mid u16, qos u8, retain u8, topic length u32, topic, properties
/// length u32, properties, payload (the rest).
fn encode_message(out: &mut Vec<u8>, kind: u8, m: &Message<'_>) {
    out.push(kind);
    out.extend_from_slice(&m.mid.to_le_bytes());
    out.push(m.qos);
    out.push(u8::from(m.retain));
    out.extend_from_slice(&(m.topic.len() as u32).to_le_bytes());
    out.extend_from_slice(m.topic.as_bytes());
    out.extend_from_slice(&(m.properties.len() as u32).to_le_bytes());
    out.extend_from_slice(m.properties);
    out.extend_from_slice(m.payload);
}

/// The size `encode` gives a message record, to check it before encoding.
pub fn message_len(m: &Message<'_>) -> usize {
    1 + 2 + 1 + 1 + 4 + m.topic.len() + 4 + m.properties.len() + m.payload.len()
}

fn decode_message(bytes: &[u8]) -> Option<Message<'_>> {
    let mut rest = bytes;
    let mid = u16::from_le_bytes(take(&mut rest, 2)?.try_into().ok()?);
    let qos = take(&mut rest, 1)?[0];
    let retain = match take(&mut rest, 1)?[0] {
        0 => false,
        1 => true,
        _ => return None,
    };
    let topic = std::str::from_utf8(sized(&mut rest)?).ok()?;
    let properties = sized(&mut rest)?;
    (qos <= 2).then_some(Message {
        mid,
        qos,
        retain,
        topic,
        properties,
        payload: rest,
    })
}

/// A u32 length, then that many bytes.
fn sized<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_le_bytes(take(rest, 4)?.try_into().ok()?) as usize;
    take(rest, len)
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(mid: u16) -> Message<'static> {
        Message {
            mid,
            qos: 2,
            retain: true,
            topic: "a/b",
            properties: &[0x01, 0x01],
            payload: b"payload",
        }
    }

    fn round_trip(record: Record<'_>) {
        let mut bytes = Vec::new();
        record.encode(&mut bytes);
        assert_eq!(Record::decode(&bytes), Some(record));
    }

    #[test]
    fn every_kind_of_record_decodes_to_what_was_encoded() {
        round_trip(Record::Client("client-1"));
        round_trip(Record::Published(sample(7)));
        round_trip(Record::PubRecReceived(7));
        round_trip(Record::Completed(65535));
        round_trip(Record::QueuedGone(3));
        round_trip(Record::IncomingHeld(Message {
            payload: b"",
            properties: b"",
            ..sample(9)
        }));
        round_trip(Record::IncomingReleased(9));
        round_trip(Record::IncomingCleared);
    }

    #[test]
    fn a_message_record_is_as_long_as_message_len_says() {
        let mut bytes = Vec::new();
        Record::Published(sample(1)).encode(&mut bytes);
        assert_eq!(bytes.len(), message_len(&sample(1)));
    }

    #[test]
    fn unknown_kinds_and_short_or_bad_fields_decode_to_nothing() {
        assert_eq!(Record::decode(&[]), None);
        assert_eq!(Record::decode(&[99, 0, 0]), None);
        assert_eq!(Record::decode(&[COMPLETED, 1]), None);
        assert_eq!(Record::decode(&[INCOMING_CLEARED, 0]), None);
        assert_eq!(Record::decode(&[CLIENT, 0xff]), None);
        let mut bytes = Vec::new();
        Record::Published(sample(1)).encode(&mut bytes);
        for cut in 1..10 {
            assert_eq!(Record::decode(&bytes[..cut]), None, "cut {cut}");
        }
        let mut bad_qos = bytes.clone();
        bad_qos[3] = 3;
        assert_eq!(Record::decode(&bad_qos), None);
    }

    #[test]
    fn only_completions_may_wait_for_a_later_sync() {
        assert!(!Record::Completed(1).needs_sync());
        assert!(!Record::QueuedGone(1).needs_sync());
        assert!(Record::Published(sample(1)).needs_sync());
        assert!(Record::PubRecReceived(1).needs_sync());
        assert!(Record::IncomingReleased(1).needs_sync());
    }
}
