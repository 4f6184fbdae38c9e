//! The output side of a connection: packets encoded and not yet written, the
//! kind of each until its last byte is written (so the session can be told
//! which packets went out, `Session::note_sent`), and the batch an unlocked
//! write has taken (`unlocked_write`).
//!
//! Everything queued is written with one `sendmsg`. While a batch is taken,
//! other threads queue into the emptied buffer and nothing is written until
//! the batch is finished, so the bytes keep their order. The bytes go to a
//! `write` function (the transport, or a test's buffer).

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::Error;
use crate::lazy_queue::LazyQueue;
use crate::net::{NetError, Progress, Stream};
use crate::protocol::decoder::encode;
use crate::protocol::packet::{Packet, ProtocolVersion, Publish};
use crate::protocol::packets::publish;
use crate::session::Written;

use super::unlocked_write::{self, UnlockedWrite};

/// Written bytes are cut from the front of the buffer once there are this many.
const COMPACT_AT: usize = 1024 * 1024;

/// Serial numbers for connections' outputs.
static NEXT_SERIAL: AtomicU32 = AtomicU32::new(0);

/// The memory of a packet-kind list.
type PacketMemory = Option<Box<VecDeque<(usize, Written)>>>;

/// The largest write buffer a thread keeps as its spare (`release_buffers`);
/// a burst's larger buffer goes back to the allocator.
const SPARE_BYTES_MAX: usize = 64 * 1024;
/// The most packet kinds a kept list has room for.
const SPARE_PACKETS_MAX: usize = 1024;

thread_local! {
    /// Write buffers a connection gave back on this thread (`release_buffers`),
    /// for the next one that queues here: a client of the shared loop gives
    /// its buffers back after each write, and a thread serving many clients
    /// then reuses one warm pair instead of allocating and freeing per message.
    static SPARE: Cell<(Vec<u8>, PacketMemory)> = const { Cell::new((Vec::new(), None)) };
}

/// This thread's spare buffers, empty if it has none (or is exiting).
fn take_spare() -> (Vec<u8>, PacketMemory) {
    SPARE.try_with(Cell::take).unwrap_or_default()
}

/// Keeps emptied buffers as this thread's spare, where it has none of that kind
/// and they are not too large; the rest is freed.
fn keep_spare(bytes: Vec<u8>, packets: PacketMemory) {
    let _ = SPARE.try_with(|spare| {
        let (mut kept_bytes, mut kept_packets) = spare.take();
        if kept_bytes.capacity() == 0 && bytes.capacity() <= SPARE_BYTES_MAX {
            kept_bytes = bytes;
            kept_bytes.clear();
        }
        if kept_packets.is_none()
            && packets
                .as_ref()
                .is_some_and(|q| q.capacity() <= SPARE_PACKETS_MAX)
        {
            kept_packets = packets;
        }
        spare.set((kept_bytes, kept_packets));
    });
}

#[derive(Debug)]
pub struct Output {
    version: ProtocolVersion,
    bytes: Vec<u8>,
    /// Bytes before this offset have been written.
    pos: usize,
    /// Queued packets' kinds with the offset in `bytes` just past their last byte.
    /// While a batch is taken, the first of them end in the batch instead.
    packets: LazyQueue<(usize, Written)>,
    /// While an unlocked write has the earlier output: the bytes of its batch
    /// not yet written when it was taken.
    taken: Option<usize>,
    /// Tells this output from a later connection's (an unlocked write may
    /// finish after a reconnect).
    serial: u32,
}

impl Output {
    pub fn new(version: ProtocolVersion) -> Self {
        Output {
            version,
            bytes: Vec::new(),
            pos: 0,
            packets: LazyQueue::new(),
            taken: None,
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Whether bytes wait: queued, or in a taken batch.
    pub fn has_unwritten(&self) -> bool {
        self.taken.is_some() || self.pos < self.bytes.len()
    }

    /// Bytes queued and not yet written (besides a taken batch).
    pub fn queued_bytes(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Every byte not yet handed to the socket: the queue, and a taken batch as
    /// it was when taken.
    pub fn waiting_bytes(&self) -> usize {
        self.queued_bytes() + self.taken.unwrap_or(0)
    }

    /// Before queueing into buffers given back (`release_buffers`): this
    /// thread's spare ones, if it has any.
    #[inline]
    fn room(&mut self) {
        if self.bytes.capacity() == 0 {
            self.take_room();
        }
    }

    #[cold]
    fn take_room(&mut self) {
        let (bytes, packets) = take_spare();
        // Without capacity, nothing is queued (and `pos` is 0).
        self.bytes = bytes;
        if let Some(packets) = packets {
            self.packets.reuse(packets);
        }
    }

    /// Encodes `packet` after what is queued; its kind is kept until written.
    pub fn queue(&mut self, packet: &Packet) -> Result<(), Error> {
        self.room();
        encode(packet, self.version, &mut self.bytes)?;
        self.packets
            .push_back((self.bytes.len(), Written::of(packet)));
        Ok(())
    }

    /// Encodes a QoS 1 or 2 PUBLISH the session keeps (lent, not copied).
    pub fn queue_publish(&mut self, publish: &Publish) -> Result<(), Error> {
        self.room();
        publish::write(publish, self.version, &mut self.bytes)?;
        self.packets.push_back((self.bytes.len(), Written::Other));
        Ok(())
    }

    /// Encodes a QoS 0 PUBLISH straight from the caller's buffers (the message
    /// is never kept, so it is never copied but here).
    pub fn queue_qos0(&mut self, parts: publish::Parts<'_>) -> Result<(), Error> {
        self.room();
        publish::write_parts(parts, self.version, &mut self.bytes)?;
        self.packets
            .push_back((self.bytes.len(), Written::Qos0Publish));
        Ok(())
    }

    /// Encodes a QoS 0 PUBLISH to be written at once, with nothing queued
    /// before it, without recording its kind yet: `settle_qos0_now` does, if it
    /// does not go out whole. An encoding error leaves nothing queued.
    pub fn queue_qos0_now(&mut self, parts: publish::Parts<'_>) -> Result<(), Error> {
        debug_assert!(!self.has_unwritten() && self.packets.is_empty());
        self.room();
        let start = self.bytes.len();
        publish::write_parts(parts, self.version, &mut self.bytes).inspect_err(|_| {
            self.bytes.truncate(start);
        })
    }

    /// After `queue_qos0_now` and `send`: true when the message went out whole
    /// (`sent`: and the transport took it without an error), leaving nothing
    /// queued and nothing to report; otherwise its kind is recorded as
    /// `queue_qos0` records it, to be reported by `report_sent` once written.
    pub fn settle_qos0_now(&mut self, sent: bool) -> bool {
        if sent && self.pos == self.bytes.len() {
            self.bytes.clear();
            self.pos = 0;
            return true;
        }
        self.packets
            .push_back((self.bytes.len(), Written::Qos0Publish));
        false
    }

    /// Hands queued bytes to `write` until it has taken all or would block.
    /// Nothing is written while a batch is taken: these bytes go after it.
    pub fn send(
        &mut self,
        mut write: impl FnMut(&[u8]) -> Result<Progress, NetError>,
    ) -> Result<(), NetError> {
        if self.taken.is_some() {
            return Ok(());
        }
        while self.pos < self.bytes.len() {
            match write(&self.bytes[self.pos..])? {
                Progress::Bytes(n) => self.pos += n,
                Progress::WouldBlock => break,
            }
        }
        Ok(())
    }

    /// Reports to `written`, in order, each packet whose last byte was sent.
    pub fn report_sent(&mut self, mut written: impl FnMut(Written)) {
        if self.taken.is_some() {
            return;
        }
        while let Some((end, _)) = self.packets.front() {
            if *end > self.pos {
                break;
            }
            if let Some((_, kind)) = self.packets.pop_front() {
                written(kind);
            }
        }
        self.compact();
    }

    /// Whether a batch of at least `min` queued bytes may be taken now.
    pub fn can_take(&self, min: usize) -> bool {
        self.taken.is_none() && self.queued_bytes() >= min
    }

    /// Takes the queued bytes as a batch for `stream` (see `can_take`), leaving
    /// the buffer empty for other threads to queue into. Give it back to `finish`.
    pub fn take(&mut self, stream: Stream) -> UnlockedWrite {
        self.taken = Some(self.queued_bytes());
        let bytes = std::mem::replace(&mut self.bytes, unlocked_write::take_spare());
        let pos = std::mem::replace(&mut self.pos, 0);
        UnlockedWrite::new(stream, bytes, pos, self.serial, self.packets.len())
    }

    /// Whether an unlocked write has a batch (and a duplicate descriptor).
    pub fn is_taken(&self) -> bool {
        self.taken.is_some()
    }

    /// Whether `batch` was taken from this output.
    pub fn owns(&self, batch: &UnlockedWrite) -> bool {
        self.taken.is_some() && batch.serial == self.serial
    }

    /// Ends a batch taken from this output (`owns`): reports each packet whose
    /// last byte went out to `written`, in order, and puts what the socket did
    /// not take back in front of what was queued meanwhile.
    pub fn finish(&mut self, batch: UnlockedWrite, mut written: impl FnMut(Written)) {
        let UnlockedWrite {
            mut bytes,
            pos,
            mut packets,
            ..
        } = batch;
        self.taken = None;
        while packets > 0 {
            match self.packets.front() {
                Some((end, _)) if *end <= pos => {}
                _ => break,
            }
            if let Some((_, kind)) = self.packets.pop_front() {
                written(kind);
            }
            packets -= 1;
        }
        if pos == bytes.len() {
            unlocked_write::keep_spare(bytes);
            return;
        }
        // The socket is full: the batch becomes the buffer again, its written
        // part cut off later by `compact` (not copied down now: a slow broker
        // would make that a copy of the whole backlog per write), and what was
        // queued meanwhile goes after it. Nothing was written meanwhile.
        debug_assert_eq!(self.pos, 0);
        let offset = bytes.len();
        for (end, _) in self.packets.iter_mut().skip(packets) {
            *end += offset;
        }
        bytes.extend_from_slice(&self.bytes);
        let newer = std::mem::replace(&mut self.bytes, bytes);
        self.pos = pos;
        unlocked_write::keep_spare(newer);
        self.compact();
    }

    fn compact(&mut self) {
        if self.pos == self.bytes.len() {
            self.bytes.clear();
            self.pos = 0;
        } else if self.pos >= COMPACT_AT {
            self.bytes.drain(..self.pos);
            for (end, _) in self.packets.iter_mut() {
                *end -= self.pos;
            }
            self.pos = 0;
        }
    }

    /// Gives the buffers back if everything queued is written, so an idle
    /// connection holds no write buffer: to this thread's spare (see `SPARE`),
    /// or to the allocator.
    pub fn release_buffers(&mut self) {
        if self.taken.is_none() && self.pos == self.bytes.len() && self.packets.is_empty() {
            let bytes = std::mem::take(&mut self.bytes);
            self.pos = 0;
            let packets = self.packets.take_memory();
            if bytes.capacity() > 0 || packets.is_some() {
                keep_spare(bytes, packets);
            }
        }
    }

    /// Whether the buffers hold memory (for tests of idle memory).
    #[cfg(test)]
    pub fn holds_memory(&self) -> bool {
        self.bytes.capacity() > 0 || self.packets != LazyQueue::new()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::net::socket::Endpoint;
    use std::os::unix::net::UnixListener;

    /// A QoS 0 PUBLISH on topic "t" (also used by the connection's tests).
    pub(in crate::client) fn qos0_parts(payload: &[u8]) -> publish::Parts<'_> {
        publish::Parts {
            dup: false,
            qos: 0,
            retain: false,
            topic: "t",
            packet_id: 1,
            properties: &[],
            payload,
        }
    }

    fn qos0(out: &mut Output, payload: &[u8]) {
        out.queue_qos0(qos0_parts(payload)).unwrap();
    }

    /// A write function that takes at most `room` bytes in all, into `wire`.
    fn socket(
        wire: &mut Vec<u8>,
        room: usize,
    ) -> impl FnMut(&[u8]) -> Result<Progress, NetError> + '_ {
        move |bytes| {
            let n = bytes.len().min(room - wire.len());
            if n == 0 {
                return Ok(Progress::WouldBlock);
            }
            wire.extend_from_slice(&bytes[..n]);
            Ok(Progress::Bytes(n))
        }
    }

    /// A stream for a batch: its writes are not made in these tests.
    fn stream() -> Stream {
        let path = std::env::temp_dir().join(format!(
            "skeeter-output-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_file(&path);
        let _listener = UnixListener::bind(&path).unwrap();
        let to = Endpoint {
            host: path.to_str().unwrap(),
            port: 0,
            bind_address: None,
        };
        let (stream, _) = Stream::connect(to, true).unwrap();
        let _ = std::fs::remove_file(&path);
        stream
    }

    /// The frame of a QoS 0 PUBLISH to "t" with `n` payload bytes.
    fn framed(n: usize) -> usize {
        2 + 3 + n
    }

    #[test]
    fn a_packet_is_reported_once_its_last_byte_is_written() {
        let mut out = Output::new(ProtocolVersion::V311);
        qos0(&mut out, b"aaaa");
        qos0(&mut out, b"bbbb");
        let mut wire = Vec::new();
        out.send(socket(&mut wire, framed(4) + 3)).unwrap();
        let mut reported = Vec::new();
        out.report_sent(|w| reported.push(w));
        assert_eq!(reported, [Written::Qos0Publish]);
        assert_eq!(out.queued_bytes(), framed(4) - 3);
        out.send(socket(&mut wire, 2 * framed(4))).unwrap();
        out.report_sent(|w| reported.push(w));
        assert_eq!(reported.len(), 2);
        assert!(!out.has_unwritten());
        assert_eq!(&wire[framed(4) + 5..], b"bbbb");
    }

    #[test]
    fn a_qos0_message_written_at_once_is_settled_whole_or_reported_once_the_rest_is_written() {
        let mut out = Output::new(ProtocolVersion::V311);
        let mut wire = Vec::new();
        out.queue_qos0_now(qos0_parts(b"aaaa")).unwrap();
        out.send(socket(&mut wire, framed(4))).unwrap();
        assert!(out.settle_qos0_now(true));
        assert!(!out.has_unwritten());
        let mut reported = Vec::new();
        out.report_sent(|w| reported.push(w));
        assert!(reported.is_empty(), "whole: the caller reports it");

        out.queue_qos0_now(qos0_parts(b"bbbb")).unwrap();
        out.send(socket(&mut wire, 2 * framed(4) - 2)).unwrap();
        assert!(!out.settle_qos0_now(true));
        out.report_sent(|w| reported.push(w));
        assert!(reported.is_empty());
        out.send(socket(&mut wire, 2 * framed(4))).unwrap();
        out.report_sent(|w| reported.push(w));
        assert_eq!(reported, [Written::Qos0Publish]);
        assert_eq!(&wire[framed(4) + 5..], b"bbbb");

        // A transport that failed after taking the bytes: not settled now.
        out.queue_qos0_now(qos0_parts(b"cccc")).unwrap();
        out.send(socket(&mut wire, 3 * framed(4))).unwrap();
        assert!(!out.settle_qos0_now(false));
        out.report_sent(|w| reported.push(w));
        assert_eq!(reported.len(), 2);
    }

    #[test]
    fn output_queued_while_a_batch_is_taken_follows_the_batch() {
        let mut out = Output::new(ProtocolVersion::V311);
        qos0(&mut out, b"first");
        assert!(out.can_take(1) && !out.can_take(1024));
        let mut batch = out.take(stream());
        assert!(out.owns(&batch) && out.has_unwritten());
        assert!(!out.can_take(1), "one batch at a time");
        qos0(&mut out, b"second");
        let mut wire = Vec::new();
        out.send(socket(&mut wire, 1000)).unwrap();
        assert!(wire.is_empty(), "nothing may pass the batch");
        let mut reported = Vec::new();
        out.report_sent(|w| reported.push(w));
        assert!(reported.is_empty());
        // As if the socket took the whole batch.
        wire.extend_from_slice(&batch.bytes);
        batch.pos = batch.bytes.len();
        out.finish(batch, |w| reported.push(w));
        assert_eq!(reported, [Written::Qos0Publish]);
        out.send(socket(&mut wire, 1000)).unwrap();
        out.report_sent(|w| reported.push(w));
        assert_eq!(reported.len(), 2);
        assert_eq!(&wire[5..10], b"first");
        assert_eq!(&wire[framed(5) + 5..], b"second");
    }

    #[test]
    fn what_a_batch_left_unwritten_goes_back_in_front() {
        let mut out = Output::new(ProtocolVersion::V311);
        qos0(&mut out, b"aaaa");
        qos0(&mut out, b"bbbb");
        let mut batch = out.take(stream());
        qos0(&mut out, b"cccc");
        // The socket took the first packet and two bytes of the second.
        let first = framed(4);
        let mut wire = batch.bytes[..first + 2].to_vec();
        batch.pos = first + 2;
        let mut reported = Vec::new();
        out.finish(batch, |w| reported.push(w));
        assert_eq!(reported, [Written::Qos0Publish]);
        assert_eq!(out.queued_bytes(), 2 * first - 2);
        out.send(socket(&mut wire, 3 * first)).unwrap();
        out.report_sent(|w| reported.push(w));
        assert_eq!(reported.len(), 3, "each packet reported once, in order");
        let payloads: Vec<&[u8]> = wire.chunks(first).map(|p| &p[5..]).collect();
        assert_eq!(payloads, [b"aaaa", b"bbbb", b"cccc"]);
    }

    #[test]
    fn bytes_waiting_count_a_batch_being_written() {
        let mut out = Output::new(ProtocolVersion::V311);
        qos0(&mut out, &[b'a'; 100]);
        let queued = out.queued_bytes();
        let mut batch = out.take(stream());
        assert_eq!((out.queued_bytes(), out.waiting_bytes()), (0, queued));
        qos0(&mut out, &[b'b'; 10]);
        let later = out.queued_bytes();
        assert_eq!(out.waiting_bytes(), queued + later);
        batch.pos = 40;
        out.finish(batch, |_| {});
        assert_eq!(out.queued_bytes(), queued - 40 + later);
        assert_eq!(out.waiting_bytes(), out.queued_bytes());
    }

    #[test]
    fn a_batch_from_an_earlier_connection_is_not_owned_by_the_next() {
        let mut old = Output::new(ProtocolVersion::V311);
        qos0(&mut old, b"x");
        let batch = old.take(stream());
        let mut new = Output::new(ProtocolVersion::V311);
        assert!(!new.owns(&batch));
        qos0(&mut new, b"y");
        assert!(new.can_take(1));
    }

    #[test]
    fn written_bytes_are_cut_from_the_front_once_there_are_a_megabyte() {
        let mut out = Output::new(ProtocolVersion::V311);
        let big = vec![b'z'; COMPACT_AT];
        qos0(&mut out, &big);
        let first = out.queued_bytes();
        qos0(&mut out, b"tail");
        let mut wire = Vec::new();
        out.send(socket(&mut wire, first + 4)).unwrap();
        out.report_sent(|_| {});
        assert_eq!(out.pos, 0, "compacted");
        assert_eq!(out.bytes.len(), framed(4) - 4);
        let mut reported = 0;
        out.send(socket(&mut wire, usize::MAX)).unwrap();
        out.report_sent(|_| reported += 1);
        assert_eq!(reported, 1);
    }

    #[test]
    fn buffers_are_given_back_only_when_everything_is_written() {
        let mut out = Output::new(ProtocolVersion::V311);
        qos0(&mut out, b"x");
        out.release_buffers();
        assert!(out.holds_memory());
        let mut wire = Vec::new();
        out.send(socket(&mut wire, 100)).unwrap();
        out.report_sent(|_| {});
        out.release_buffers();
        assert!(!out.holds_memory());
    }

    #[test]
    fn buffers_given_back_are_reused_by_the_next_output_on_the_thread() {
        let _ = take_spare();
        let mut first = Output::new(ProtocolVersion::V311);
        qos0(&mut first, b"x");
        let mut wire = Vec::new();
        first.send(socket(&mut wire, 100)).unwrap();
        first.report_sent(|_| {});
        let address = first.bytes.as_ptr();
        first.release_buffers();
        assert!(!first.holds_memory());
        let mut second = Output::new(ProtocolVersion::V311);
        qos0(&mut second, b"y");
        assert_eq!(second.bytes.as_ptr(), address, "the same buffer");
        assert!(second.packets.capacity() > 0);
        // Only one of each is kept: a second output's go to the allocator.
        let mut third = Output::new(ProtocolVersion::V311);
        qos0(&mut third, b"z");
        for out in [&mut second, &mut third] {
            out.send(socket(&mut wire, 100)).unwrap();
            out.report_sent(|_| {});
            out.release_buffers();
        }
        let (bytes, packets) = take_spare();
        assert!(bytes.capacity() > 0 && bytes.is_empty() && packets.is_some());
        assert_eq!(take_spare().0.capacity(), 0);
    }
}
