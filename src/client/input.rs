//! The input side of a connection: bytes read but not yet decoded, and the
//! decoding of every whole packet in a read.
//!
//! Reads go into one large buffer shared by the connections a thread reads, so
//! a burst of small packets costs one `read` and an idle connection holds no
//! read buffer; the start of a packet cut short by the end of a read is kept
//! here and put in front of the next one. A packet larger than the shared
//! buffer is gathered in the connection's own. The bytes come from a
//! `ByteSource`: the transport, or a test's script.

use std::cell::Cell;

use crate::error::Error;
use crate::net::{NetError, Progress, Transport};
use crate::protocol::decoder::{Decoded, Decoder};
use crate::protocol::packet::{Packet, ProtocolVersion};
use crate::protocol::spare::SpareBuffers;

/// The size of each thread's shared read buffer: packets up to this size are
/// read there; larger ones in the connection's own buffer. It bounds the
/// packets one turn carries to the callbacks (within what a thread recycles,
/// `session::SPARE_MAX`) and how long a flood keeps the loop from writing.
pub const READ_CHUNK: usize = 16 * 1024;
/// The shared read buffer's first size; it doubles, up to `READ_CHUNK`, each
/// time a read fills it, so a thread that reads a packet at a time (a client's
/// own loop thread under light traffic) keeps a small one.
const READ_FIRST: usize = 2 * 1024;
/// A connection's leftover-bytes buffer is given back once empty if larger.
const KEEP_CAPACITY: usize = 4 * 1024;
/// The most room made for a packet's announced bytes before they arrive.
const RESERVE_AHEAD: usize = 1024 * 1024;

thread_local! {
    /// The read buffer shared by the connections this thread reads.
    static SHARED_INPUT: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    /// The buffers of messages this thread delivered, lent to its next read
    /// (`SpareBuffers`): received messages then allocate nothing each.
    static SPARE_BUFFERS: Cell<SpareBuffers> = const { Cell::new(SpareBuffers::new()) };
}

/// This thread's spare message buffers, until `return_spare_buffers`.
pub fn lend_spare_buffers() -> SpareBuffers {
    SPARE_BUFFERS.take()
}

/// Gives spare message buffers back to this thread (a nested read's, if any
/// came back meanwhile, are freed).
pub fn return_spare_buffers(spare: SpareBuffers) {
    SPARE_BUFFERS.set(spare);
}

/// Why reading stopped the connection.
#[derive(Debug)]
pub enum ReadFailure {
    /// The socket, TLS or the proxy failed, or the broker closed the connection.
    Io(NetError),
    /// The bytes did not make a valid packet (or one too big).
    Decode(Error),
}

/// Where a connection's bytes come from.
pub trait ByteSource {
    /// One read: the byte count, or `None` when there is nothing now.
    fn read_some(&mut self, buf: &mut [u8]) -> Result<Option<usize>, NetError>;
    /// Whether bytes were read from the socket but not handed out yet (TLS
    /// plaintext), which no `poll` would report.
    fn has_buffered(&mut self) -> bool;
}

impl ByteSource for Transport {
    fn read_some(&mut self, buf: &mut [u8]) -> Result<Option<usize>, NetError> {
        match self.read(buf)? {
            Progress::Bytes(n) => Ok(Some(n)),
            Progress::WouldBlock => Ok(None),
        }
    }

    fn has_buffered(&mut self) -> bool {
        self.has_buffered_input()
    }
}

#[derive(Debug)]
pub struct Input {
    pub decoder: Decoder,
    /// Undecoded bytes (the start of a packet) are `pending[..len]`; empty and
    /// holding no memory between bursts.
    pending: Vec<u8>,
    len: usize,
    /// The whole size of the packet `pending` starts, once known (else 0).
    need: usize,
}

impl Input {
    /// `limit`: the largest packet accepted (0: MQTT's own limit).
    pub fn new(version: ProtocolVersion, limit: u32) -> Self {
        let mut decoder = Decoder::new(version);
        decoder.max_packet_size = limit;
        Input {
            decoder,
            pending: Vec::new(),
            len: 0,
            need: 0,
        }
    }

    /// One read from `source`, plus what it holds decrypted beyond it, every
    /// whole packet handed to `each`, which returns false to stop (the rest is
    /// then left unread). Returns how many packets were handed over.
    pub fn read_packets(
        &mut self,
        source: &mut impl ByteSource,
        each: &mut impl FnMut(Packet) -> bool,
    ) -> Result<usize, ReadFailure> {
        let mut shared = SHARED_INPUT.take();
        let mut spare = lend_spare_buffers();
        let mut packets = 0;
        let mut counted = |packet| {
            packets += 1;
            each(packet)
        };
        let result = self.read_with(source, &mut shared, &mut spare, &mut counted);
        if shared.len() <= 2 * READ_CHUNK {
            SHARED_INPUT.set(shared);
        }
        return_spare_buffers(spare);
        result.map(|()| packets)
    }

    fn read_with(
        &mut self,
        source: &mut impl ByteSource,
        shared: &mut Vec<u8>,
        spare: &mut SpareBuffers,
        each: &mut impl FnMut(Packet) -> bool,
    ) -> Result<(), ReadFailure> {
        loop {
            let read = if self.need > READ_CHUNK {
                self.read_large(source, spare, each)?
            } else {
                self.read_small(source, shared, spare, each)?
            };
            match read {
                Some(false) if source.has_buffered() => continue,
                _ => return Ok(()),
            }
        }
    }

    /// A large packet: read into our own buffer, which grows with what arrives,
    /// at most `RESERVE_AHEAD` ahead of it (a remaining length is only the
    /// broker's claim). `None` when there was nothing to read, otherwise
    /// whether `each` asked to stop.
    fn read_large(
        &mut self,
        source: &mut impl ByteSource,
        spare: &mut SpareBuffers,
        each: &mut impl FnMut(Packet) -> bool,
    ) -> Result<Option<bool>, ReadFailure> {
        if self.pending.len() == self.len {
            let ahead = room_ahead(self.need - self.len);
            self.pending.resize(self.len + ahead, 0);
        }
        let Some(n) = read(source, &mut self.pending[self.len..])? else {
            return Ok(None);
        };
        self.len += n;
        if self.len < self.need {
            return Ok(Some(false));
        }
        let bytes = &self.pending[..self.len];
        let (at, need, stopped) = decode_all(&mut self.decoder, bytes, spare, each)?;
        self.pending.copy_within(at..self.len, 0);
        self.len -= at;
        self.pending.truncate(self.len);
        self.need = need;
        if self.len == 0 {
            self.pending = Vec::new();
        }
        Ok(Some(stopped))
    }

    /// What is left of a packet, then the read, in the shared buffer; as
    /// `read_large` returns.
    fn read_small(
        &mut self,
        source: &mut impl ByteSource,
        shared: &mut Vec<u8>,
        spare: &mut SpareBuffers,
        each: &mut impl FnMut(Packet) -> bool,
    ) -> Result<Option<bool>, ReadFailure> {
        let pending = self.len;
        let room = shared
            .len()
            .saturating_sub(pending)
            .clamp(READ_FIRST, READ_CHUNK);
        if shared.len() < pending + room {
            shared.resize(pending + room, 0);
        }
        shared[..pending].copy_from_slice(&self.pending[..pending]);
        let Some(n) = read(source, &mut shared[pending..pending + room])? else {
            return Ok(None);
        };
        if n == room && room < READ_CHUNK {
            shared.resize(pending + (2 * room).min(READ_CHUNK), 0);
        }
        let end = pending + n;
        let (at, need, stopped) = decode_all(&mut self.decoder, &shared[..end], spare, each)?;
        self.keep(&shared[at..end], need);
        Ok(Some(stopped))
    }

    /// Keeps the undecoded start of a packet for the next read.
    fn keep(&mut self, bytes: &[u8], need: usize) {
        self.need = need;
        self.len = bytes.len();
        if bytes.is_empty() && self.pending.capacity() > KEEP_CAPACITY {
            self.pending = Vec::new();
            return;
        }
        self.pending.clear();
        self.pending.extend_from_slice(bytes);
    }
}

fn read(source: &mut impl ByteSource, buf: &mut [u8]) -> Result<Option<usize>, ReadFailure> {
    source.read_some(buf).map_err(ReadFailure::Io)
}

/// How much room to make for `more` announced bytes that have not arrived.
fn room_ahead(more: usize) -> usize {
    more.min(RESERVE_AHEAD)
}

/// Hands every whole packet at the start of `bytes` to `each`. Returns how many
/// bytes they took, the size of the packet that follows if known (0 if not), and
/// whether `each` asked to stop.
fn decode_all(
    decoder: &mut Decoder,
    bytes: &[u8],
    spare: &mut SpareBuffers,
    each: &mut impl FnMut(Packet) -> bool,
) -> Result<(usize, usize, bool), ReadFailure> {
    let mut at = 0;
    loop {
        match decoder.decode_into(&bytes[at..], spare) {
            Ok(Decoded::Packet { packet, consumed }) => {
                at += consumed;
                if !each(packet) {
                    return Ok((at, 0, true));
                }
            }
            Ok(Decoded::NeedMore(more)) => return Ok((at, bytes.len() - at + more, false)),
            Err(e) => return Err(ReadFailure::Decode(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Hands out its reads one by one, as a socket would; then has nothing.
    struct Script {
        reads: VecDeque<Vec<u8>>,
        /// Reads the source says it holds decrypted (as TLS would).
        buffered: usize,
    }

    impl Script {
        fn new(reads: &[&[u8]]) -> Self {
            Script {
                reads: reads.iter().map(|r| r.to_vec()).collect(),
                buffered: 0,
            }
        }
    }

    impl ByteSource for Script {
        fn read_some(&mut self, buf: &mut [u8]) -> Result<Option<usize>, NetError> {
            let Some(mut next) = self.reads.pop_front() else {
                return Ok(None);
            };
            let n = next.len().min(buf.len());
            buf[..n].copy_from_slice(&next[..n]);
            if n < next.len() {
                self.reads.push_front(next.split_off(n));
            }
            Ok(Some(n))
        }

        fn has_buffered(&mut self) -> bool {
            if self.buffered == 0 {
                return false;
            }
            self.buffered -= 1;
            true
        }
    }

    fn all(input: &mut Input, source: &mut Script) -> Vec<Packet> {
        let mut got = Vec::new();
        input
            .read_packets(source, &mut |p| {
                got.push(p);
                true
            })
            .unwrap();
        got
    }

    const PINGRESP: [u8; 2] = [0xd0, 0x00];
    const PUBACK_7: [u8; 4] = [0x40, 0x02, 0x00, 0x07];

    #[test]
    fn every_whole_packet_in_one_read_is_decoded() {
        let mut input = Input::new(ProtocolVersion::V311, 0);
        let burst = [&PINGRESP[..], &PUBACK_7, &PINGRESP].concat();
        let got = all(&mut input, &mut Script::new(&[&burst]));
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], Packet::PingResp);
    }

    #[test]
    fn a_packet_cut_by_the_end_of_a_read_is_completed_by_the_next() {
        let mut input = Input::new(ProtocolVersion::V311, 0);
        let mut source = Script::new(&[&PUBACK_7[..3]]);
        assert!(all(&mut input, &mut source).is_empty());
        assert_eq!(input.len, 3, "the start of the packet is kept");
        let got = all(&mut input, &mut Script::new(&[&PUBACK_7[3..], &PINGRESP]));
        assert_eq!(got.len(), 1, "one read a call: the PINGRESP waits");
        assert!(input.pending.is_empty() && input.len == 0);
    }

    #[test]
    fn bytes_the_source_holds_decrypted_are_read_in_the_same_call() {
        let mut input = Input::new(ProtocolVersion::V311, 0);
        let mut source = Script::new(&[&PINGRESP, &PINGRESP]);
        source.buffered = 1;
        assert_eq!(all(&mut input, &mut source).len(), 2);
    }

    #[test]
    fn a_message_is_read_into_the_buffers_the_thread_was_given_back() {
        let mut spare = SpareBuffers::new();
        let payload = Vec::with_capacity(8);
        let at = payload.as_ptr();
        spare.keep(String::with_capacity(8), payload);
        return_spare_buffers(spare);
        let mut input = Input::new(ProtocolVersion::V311, 0);
        let publish = [0x30, 5, 0, 1, b't', b'h', b'i'];
        match &all(&mut input, &mut Script::new(&[&publish]))[..] {
            [Packet::Publish(p)] => {
                assert_eq!(&p.payload[..], b"hi");
                assert_eq!(p.payload.as_ptr(), at, "no new allocation");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(lend_spare_buffers().held(), 0, "the buffers are in use");
    }

    #[test]
    fn a_stop_leaves_the_rest_of_the_read_unhandled() {
        let mut input = Input::new(ProtocolVersion::V311, 0);
        let burst = [PINGRESP, PINGRESP].concat();
        let mut seen = 0;
        let n = input
            .read_packets(&mut Script::new(&[&burst]), &mut |_| {
                seen += 1;
                false
            })
            .unwrap();
        assert_eq!((seen, n), (1, 1));
    }

    /// The size of this thread's shared read buffer.
    fn shared_size() -> usize {
        let shared = SHARED_INPUT.take();
        let size = shared.len();
        SHARED_INPUT.set(shared);
        size
    }

    #[test]
    fn a_thread_reading_a_packet_at_a_time_keeps_a_small_read_buffer() {
        let mut input = Input::new(ProtocolVersion::V311, 0);
        for _ in 0..100 {
            assert_eq!(all(&mut input, &mut Script::new(&[&PUBACK_7])).len(), 1);
        }
        assert_eq!(shared_size(), READ_FIRST);
    }

    #[test]
    fn reads_that_fill_the_read_buffer_double_it_up_to_the_chunk() {
        let mut input = Input::new(ProtocolVersion::V311, 0);
        let flood = PINGRESP.repeat(READ_CHUNK);
        let mut source = Script::new(&[&flood]);
        let mut packets = 0;
        while !source.reads.is_empty() {
            packets += all(&mut input, &mut source).len();
        }
        assert_eq!(packets, READ_CHUNK);
        assert_eq!(shared_size(), READ_CHUNK);
    }

    #[test]
    fn a_packet_larger_than_the_shared_buffer_is_gathered_in_its_own() {
        let mut input = Input::new(ProtocolVersion::V311, 0);
        let payload = vec![b'x'; READ_CHUNK * 2];
        let mut wire = vec![0x30];
        let remaining = 2 + 1 + payload.len();
        let mut r = remaining;
        loop {
            let byte = (r % 128) as u8;
            r /= 128;
            wire.push(if r > 0 { byte | 0x80 } else { byte });
            if r == 0 {
                break;
            }
        }
        wire.extend_from_slice(&[0, 1, b't']);
        wire.extend_from_slice(&payload);
        let chunks: Vec<&[u8]> = wire.chunks(5000).collect();
        let mut source = Script::new(&chunks);
        let mut got = Vec::new();
        while got.is_empty() && !source.reads.is_empty() {
            got = all(&mut input, &mut source);
        }
        match &got[..] {
            [Packet::Publish(p)] => assert_eq!(p.payload.len(), payload.len()),
            other => panic!("{other:?}"),
        }
        assert_eq!(input.pending.capacity(), 0, "its buffer is given back");
    }

    #[test]
    fn a_packet_over_the_limit_is_refused_from_its_header() {
        let mut input = Input::new(ProtocolVersion::V311, 10);
        let header = [0x30, 0xff, 0xff, 0x03];
        let err = input
            .read_packets(&mut Script::new(&[&header]), &mut |_| true)
            .unwrap_err();
        assert!(matches!(err, ReadFailure::Decode(_)));
        assert_eq!(input.pending.capacity(), 0, "nothing was reserved for it");
    }

    #[test]
    fn an_announced_length_reserves_at_most_a_megabyte_ahead() {
        assert_eq!(room_ahead(10), 10);
        assert_eq!(room_ahead(RESERVE_AHEAD), RESERVE_AHEAD);
        // MQTT's largest remaining length: 256 MiB claimed, 1 MiB made room for.
        assert_eq!(room_ahead(268_435_455), 1024 * 1024);
    }
}
