//! One live network connection: the socket, the bytes read but not yet decoded,
//! and the bytes encoded but not yet written.
//!
//! Reads go into one large buffer (shared by the connections a thread reads)
//! and every whole packet in it is decoded, so a burst of small packets costs
//! one `read`, not several per packet. Writes send everything queued with one
//! `sendmsg`. Each queued packet's kind is remembered (the packet itself is
//! dropped once encoded) until its last byte is written, so the session can be
//! told which packets went out (`Session::note_sent`).
//!
//! The byte stream is a `net::Transport`: plain TCP or a Unix socket, TLS, or
//! either through a SOCKS5 proxy. Its handshakes run inside `read` and `flush`;
//! what it still holds to send shows in `wants_write`. Socket failures come back
//! as `NetError`, so the caller can log a TLS or proxy failure's reason before
//! turning it into a `MOSQ_ERR_*` (`net_error`).

use std::cell::Cell;
use std::io::IoSlice;
use std::os::fd::RawFd;

use super::pace::Pace;
use crate::error::Error;
use crate::lazy_queue::LazyQueue;
use crate::net::{NetError, Progress, Transport};
use crate::protocol::decoder::{encode, Decoded, Decoder};
use crate::protocol::packet::{Packet, ProtocolVersion, Publish};
use crate::protocol::packets::publish;
use crate::session::Written;

use super::unlocked_write::{self, UnlockedWrite};

/// The size of each thread's shared read buffer: packets up to this size are
/// read there; larger ones in the connection's own buffer. One read of it a
/// turn of the loop. 16 KiB holds at most 1,024 packets of 16 bytes or more,
/// so the lists that carry a turn's packets to the callbacks stay within what
/// a thread recycles (`session::SPARE_MAX`); sixteen reads of 64 KiB a turn
/// made fresh lists of thousands of entries every turn, and growing and
/// freeing them took a fifth of the receive path. It also bounds how long a
/// flood from the broker keeps the loop from writing and keeping time.
const READ_CHUNK: usize = 16 * 1024;
/// A connection's leftover-bytes buffer is given back once empty if larger.
const KEEP_CAPACITY: usize = 4 * 1024;

thread_local! {
    /// The read buffer shared by the connections this thread reads.
    static SHARED_INPUT: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}
/// The most room made for a packet's announced bytes before they arrive.
const RESERVE_AHEAD: usize = 1024 * 1024;
/// Written bytes are cut from the front of the write buffer once there are this many.
const COMPACT_AT: usize = 1024 * 1024;

/// Why reading stopped the connection.
#[derive(Debug)]
pub enum ReadFailure {
    /// The socket, TLS or the proxy failed, or the broker closed the connection.
    Io(NetError),
    /// The bytes did not make a valid packet (or one too big).
    Decode(Error),
}

#[derive(Debug)]
pub struct Connection {
    stream: Transport,
    /// A non-blocking connect has not finished yet.
    connecting: bool,
    decoder: Decoder,
    /// Undecoded bytes (the start of a packet) are `input[..in_len]`; empty and
    /// holding no memory between bursts.
    input: Vec<u8>,
    in_len: usize,
    /// The whole size of the packet `input` starts, once known (else 0).
    need: usize,
    output: Vec<u8>,
    /// Bytes before this offset have been written.
    out_pos: usize,
    /// Queued packets' kinds with the offset in `output` just past their last byte.
    /// While an unlocked write runs, the first of them end in its batch instead.
    in_output: LazyQueue<(usize, Written)>,
    /// While an unlocked write has this connection's earlier output (and nothing
    /// else may be written until it is finished): the bytes of its batch not yet
    /// written when it was taken.
    taken: Option<usize>,
    /// Tells this connection from a later one (an unlocked write may finish
    /// after a reconnect).
    serial: u32,
    /// How the broker has been answering: whether the loop looks again before sleeping.
    pub pace: Pace,
}

/// Serial numbers for connections.
static NEXT_SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Connection {
    pub fn new(stream: Transport, connecting: bool, version: ProtocolVersion, limit: u32) -> Self {
        let mut decoder = Decoder::new(version);
        decoder.max_packet_size = limit;
        Connection {
            stream,
            connecting,
            decoder,
            input: Vec::new(),
            in_len: 0,
            need: 0,
            output: Vec::new(),
            out_pos: 0,
            in_output: LazyQueue::new(),
            taken: None,
            serial: NEXT_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            pace: Pace::default(),
        }
    }

    pub fn fd(&self) -> RawFd {
        self.stream.fd()
    }

    pub fn is_connecting(&self) -> bool {
        self.connecting
    }

    /// Whether bytes wait to be written (or the connect to finish): ours, or TLS
    /// and SOCKS5 records the transport holds. While a handshake waits for the
    /// broker, packets already handed to the transport do not count.
    pub fn wants_write(&self) -> bool {
        self.connecting
            || self.taken.is_some()
            || self.out_pos < self.output.len()
            || self.stream.wants_write()
    }

    /// Whether the transport has not yet opened the SOCKS5 tunnel or finished
    /// the TLS handshake.
    pub fn is_handshaking(&self) -> bool {
        !self.connecting && !self.stream.is_established()
    }

    /// Lines for `MOSQ_LOG_WARNING` that the transport's handshake left (a read
    /// runs the handshake).
    pub fn take_transport_warnings(&self) -> Vec<String> {
        self.stream.take_warnings()
    }

    /// Whether bytes were read but not yet handed over (TLS plaintext); the loop
    /// reads again before waiting in `poll`.
    pub fn has_buffered_input(&mut self) -> bool {
        !self.connecting && self.stream.has_buffered_input()
    }

    /// Bytes queued and not yet written (besides a batch an unlocked write has taken).
    pub fn queued_bytes(&self) -> usize {
        self.output.len() - self.out_pos
    }

    /// Every byte not yet handed to the socket: the queue, and the batch an
    /// unlocked write has taken, as it was when taken.
    pub fn waiting_bytes(&self) -> usize {
        self.queued_bytes() + self.taken.unwrap_or(0)
    }

    /// Completes a non-blocking connect once the socket is writable.
    pub fn finish_connect(&mut self) -> Result<(), NetError> {
        self.stream.finish_connect()?;
        self.connecting = false;
        Ok(())
    }

    pub fn set_nodelay(&self, nodelay: bool) {
        // Best effort, as in libmosquitto: a socket without Nagle's switch still works.
        let _ = self.stream.set_nodelay(nodelay);
    }

    /// Encodes `packet` after what is queued; its kind is kept until written.
    pub fn queue(&mut self, packet: &Packet) -> Result<(), Error> {
        encode(packet, self.decoder.version, &mut self.output)?;
        self.in_output
            .push_back((self.output.len(), Written::of(packet)));
        Ok(())
    }

    /// Encodes a QoS 1 or 2 PUBLISH the session keeps (lent, not copied).
    pub fn queue_publish(&mut self, publish: &Publish) -> Result<(), Error> {
        publish::write(publish, self.decoder.version, &mut self.output)?;
        self.in_output
            .push_back((self.output.len(), Written::Other));
        Ok(())
    }

    /// Encodes a QoS 0 PUBLISH straight from the caller's buffers after what is
    /// queued (the message is never kept, so it is never copied but here).
    pub fn queue_qos0(&mut self, parts: publish::Parts<'_>) -> Result<(), Error> {
        publish::write_parts(parts, self.decoder.version, &mut self.output)?;
        self.in_output
            .push_back((self.output.len(), Written::Qos0Publish));
        Ok(())
    }

    /// Writes as much queued output as the socket takes now, and hands the kind of
    /// each packet whose last byte went out to `written`, in order. A TLS or
    /// SOCKS5 transport takes all of it (keeping what the socket refuses), and is
    /// flushed too.
    pub fn flush(&mut self, mut written: impl FnMut(Written)) -> Result<(), NetError> {
        if self.connecting || self.taken.is_some() {
            // An unlocked write has earlier bytes: these go after them.
            return Ok(());
        }
        while self.out_pos < self.output.len() {
            let slice = [IoSlice::new(&self.output[self.out_pos..])];
            match self.stream.write(&slice)? {
                Progress::Bytes(n) => self.out_pos += n,
                Progress::WouldBlock => break,
            }
        }
        if self.stream.wants_write() {
            self.stream.flush()?;
        }
        while let Some((end, _)) = self.in_output.front() {
            if *end > self.out_pos {
                break;
            }
            if let Some((_, kind)) = self.in_output.pop_front() {
                written(kind);
            }
        }
        self.compact_output();
        Ok(())
    }

    /// Takes the queued output for writing without the lock, when at least
    /// `min` bytes are queued, they go straight to the socket (no TLS, proxy
    /// tunnel open) and no other unlocked write runs. The connection's buffer is
    /// left empty for other threads to queue into. Give the batch back to
    /// `finish_output`.
    pub fn take_output(&mut self, min: usize) -> Option<UnlockedWrite> {
        if self.taken.is_some() || self.connecting || self.queued_bytes() < min {
            return None;
        }
        // Without a second descriptor (out of them), the write is made locked.
        let stream = self.stream.plain_stream()?.try_clone().ok()?;
        self.taken = Some(self.queued_bytes());
        let bytes = std::mem::replace(&mut self.output, unlocked_write::take_spare());
        let pos = std::mem::replace(&mut self.out_pos, 0);
        Some(UnlockedWrite::new(
            stream,
            bytes,
            pos,
            self.serial,
            self.in_output.len(),
        ))
    }

    /// Whether `batch` was taken from this connection.
    pub fn owns(&self, batch: &UnlockedWrite) -> bool {
        self.taken.is_some() && batch.serial == self.serial
    }

    /// Ends an unlocked write taken from this connection (`owns`): reports each
    /// packet whose last byte went out to `written`, in order, and puts what the
    /// socket did not take back in front of what was queued meanwhile.
    pub fn finish_output(&mut self, batch: UnlockedWrite, mut written: impl FnMut(Written)) {
        let UnlockedWrite {
            mut bytes,
            pos,
            mut packets,
            ..
        } = batch;
        self.taken = None;
        while packets > 0 {
            match self.in_output.front() {
                Some((end, _)) if *end <= pos => {}
                _ => break,
            }
            if let Some((_, kind)) = self.in_output.pop_front() {
                written(kind);
            }
            packets -= 1;
        }
        if pos == bytes.len() {
            unlocked_write::keep_spare(bytes);
            return;
        }
        // The socket is full: the batch becomes the buffer again, its written
        // part cut off later by `compact_output` (not copied down now: a slow
        // broker would make that a copy of the whole backlog per write), and
        // what was queued meanwhile goes after it.
        // Nothing was written meanwhile (`flush` waits for the batch).
        debug_assert_eq!(self.out_pos, 0);
        let offset = bytes.len();
        for (end, _) in self.in_output.iter_mut().skip(packets) {
            *end += offset;
        }
        bytes.extend_from_slice(&self.output);
        let newer = std::mem::replace(&mut self.output, bytes);
        self.out_pos = pos;
        unlocked_write::keep_spare(newer);
        self.compact_output();
    }

    fn compact_output(&mut self) {
        if self.out_pos == self.output.len() {
            self.output.clear();
            self.out_pos = 0;
        } else if self.out_pos >= COMPACT_AT {
            self.output.drain(..self.out_pos);
            for (end, _) in self.in_output.iter_mut() {
                *end -= self.out_pos;
            }
            self.out_pos = 0;
        }
    }

    /// Reads what the socket has and hands every whole packet to `each`, which
    /// returns false to stop (the rest is then left unread).
    ///
    /// Reads go into a buffer shared by every connection this thread reads (the
    /// bytes of a packet cut short by the end of a read are put in front of the
    /// next read), so an idle connection holds no read buffer. A packet larger
    /// than that buffer is gathered in the connection's own.
    ///
    /// After a CONNACK or a PINGRESP, a connection with nothing left to write
    /// gives its write buffers back (`release_write_buffers`).
    pub fn read_packets(
        &mut self,
        mut each: impl FnMut(Packet) -> bool,
    ) -> Result<(), ReadFailure> {
        let mut settled = false;
        let mut each = |packet: Packet| {
            settled |= matches!(packet, Packet::ConnAck(_) | Packet::PingResp);
            each(packet)
        };
        let mut shared = SHARED_INPUT.take();
        let mut packets = 0;
        let result = self.read_with(&mut shared, &mut |packet| {
            packets += 1;
            each(packet)
        });
        if shared.len() <= 2 * READ_CHUNK {
            SHARED_INPUT.set(shared);
        }
        if settled {
            self.release_write_buffers();
        }
        self.pace.note_read(packets);
        result
    }

    /// Gives the write buffers back if everything queued is written. Called when
    /// the connection is likely to be idle (CONNECT written, CONNACK read, a
    /// keepalive exchange done), so a connected client that sends nothing holds
    /// no write buffer; a busy one seldom reaches these points and keeps its buffers.
    pub fn release_write_buffers(&mut self) {
        if self.taken.is_none() && self.out_pos == self.output.len() && self.in_output.is_empty() {
            self.output = Vec::new();
            self.out_pos = 0;
            self.in_output.release();
        }
    }

    /// One read from the socket, plus what TLS has decrypted beyond it (no
    /// `poll` would report that), every whole packet handed to `each`.
    fn read_with(
        &mut self,
        shared: &mut Vec<u8>,
        each: &mut impl FnMut(Packet) -> bool,
    ) -> Result<(), ReadFailure> {
        loop {
            let read = if self.need > READ_CHUNK {
                self.read_large(each)?
            } else {
                self.read_small(shared, each)?
            };
            match read {
                Some(false) if self.stream.has_buffered_input() => continue,
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
        each: &mut impl FnMut(Packet) -> bool,
    ) -> Result<Option<bool>, ReadFailure> {
        if self.input.len() == self.in_len {
            let ahead = room_ahead(self.need - self.in_len);
            self.input.resize(self.in_len + ahead, 0);
        }
        let Some(n) = read(&mut self.stream, &mut self.input[self.in_len..])? else {
            return Ok(None);
        };
        self.in_len += n;
        if self.in_len < self.need {
            return Ok(Some(false));
        }
        let (at, need, stopped) = decode_all(&mut self.decoder, &self.input[..self.in_len], each)?;
        self.input.copy_within(at..self.in_len, 0);
        self.in_len -= at;
        self.input.truncate(self.in_len);
        self.need = need;
        if self.in_len == 0 {
            self.input = Vec::new();
        }
        Ok(Some(stopped))
    }

    /// What is left of a packet, then the read, in the shared buffer; as
    /// `read_large` returns.
    fn read_small(
        &mut self,
        shared: &mut Vec<u8>,
        each: &mut impl FnMut(Packet) -> bool,
    ) -> Result<Option<bool>, ReadFailure> {
        let pending = self.in_len;
        if shared.len() < pending + READ_CHUNK {
            shared.resize(pending + READ_CHUNK, 0);
        }
        shared[..pending].copy_from_slice(&self.input[..pending]);
        let Some(n) = read(&mut self.stream, &mut shared[pending..])? else {
            return Ok(None);
        };
        let end = pending + n;
        let (at, need, stopped) = decode_all(&mut self.decoder, &shared[..end], each)?;
        self.keep(&shared[at..end], need);
        Ok(Some(stopped))
    }

    /// Keeps the undecoded start of a packet for the next read.
    fn keep(&mut self, bytes: &[u8], need: usize) {
        self.need = need;
        self.in_len = bytes.len();
        if bytes.is_empty() && self.input.capacity() > KEEP_CAPACITY {
            self.input = Vec::new();
            return;
        }
        self.input.clear();
        self.input.extend_from_slice(bytes);
    }

    /// Closes the socket both ways (after a TLS close_notify); the descriptor is
    /// released when dropped.
    pub fn shutdown(&mut self) {
        self.stream.shutdown();
    }
}

/// How much room to make for `more` announced bytes that have not arrived.
fn room_ahead(more: usize) -> usize {
    more.min(RESERVE_AHEAD)
}

/// One read: the byte count, or `None` when the socket has nothing now.
fn read(stream: &mut Transport, buf: &mut [u8]) -> Result<Option<usize>, ReadFailure> {
    match stream.read(buf) {
        Ok(Progress::Bytes(n)) => Ok(Some(n)),
        Ok(Progress::WouldBlock) => Ok(None),
        Err(e) => Err(ReadFailure::Io(e)),
    }
}

/// Hands every whole packet at the start of `bytes` to `each`. Returns how many
/// bytes they took, the size of the packet that follows if known (0 if not), and
/// whether `each` asked to stop.
fn decode_all(
    decoder: &mut Decoder,
    bytes: &[u8],
    each: &mut impl FnMut(Packet) -> bool,
) -> Result<(usize, usize, bool), ReadFailure> {
    let mut at = 0;
    loop {
        match decoder.decode(&bytes[at..]) {
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

/// The `MOSQ_ERR_*` for a socket failure: a reset or closed peer is a lost
/// connection, as libmosquitto reports it; other failures keep their errno.
pub fn net_error(e: NetError) -> Error {
    match e.errno() {
        Some(libc::ECONNRESET) | Some(libc::EPIPE) => Error::ConnLost,
        _ => e.into_error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::socket::Endpoint;
    use crate::net::TransportPlan;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    /// A plain connection to a local listener, and the listener's end of it.
    fn connected() -> (Connection, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = Endpoint {
            host: "127.0.0.1",
            port: listener.local_addr().unwrap().port(),
            bind_address: None,
        };
        let (t, _) = Transport::connect(to, &TransportPlan::default(), true).unwrap();
        let (peer, _) = listener.accept().unwrap();
        (Connection::new(t, false, ProtocolVersion::V311, 0), peer)
    }

    fn qos0(conn: &mut Connection, payload: &[u8]) {
        let parts = publish::Parts {
            dup: false,
            qos: 0,
            retain: false,
            topic: "t",
            packet_id: 1,
            properties: &[],
            payload,
        };
        conn.queue_qos0(parts).unwrap();
    }

    fn read_exactly(peer: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut got = vec![0u8; n];
        peer.read_exact(&mut got).unwrap();
        got
    }

    #[test]
    fn small_output_is_not_taken_for_an_unlocked_write() {
        let (mut conn, _peer) = connected();
        qos0(&mut conn, b"x");
        assert!(conn.take_output(1024).is_none());
        assert!(conn.take_output(1).is_some());
    }

    #[test]
    fn output_queued_during_an_unlocked_write_follows_the_batch() {
        let (mut conn, mut peer) = connected();
        qos0(&mut conn, b"first");
        let mut batch = conn.take_output(1).unwrap();
        assert!(conn.owns(&batch) && conn.wants_write());
        assert!(
            conn.take_output(1).is_none(),
            "one unlocked write at a time"
        );
        // Queued meanwhile, and not written by a flush: it must wait for the batch.
        qos0(&mut conn, b"second");
        let mut reported = Vec::new();
        conn.flush(|w| reported.push(w)).unwrap();
        assert!(reported.is_empty());
        batch.send().unwrap();
        assert!(batch.is_done());
        conn.finish_output(batch, |w| reported.push(w));
        assert_eq!(reported, [Written::Qos0Publish]);
        conn.flush(|w| reported.push(w)).unwrap();
        assert_eq!(reported, [Written::Qos0Publish, Written::Qos0Publish]);
        let wire = read_exactly(&mut peer, 2 * (2 + 3) + 5 + 6);
        assert_eq!(&wire[5..10], b"first");
        assert_eq!(&wire[15..], b"second");
        assert!(!conn.wants_write());
    }

    #[test]
    fn what_an_unlocked_write_left_goes_back_in_front() {
        let (mut conn, mut peer) = connected();
        qos0(&mut conn, b"aaaa");
        qos0(&mut conn, b"bbbb");
        let mut batch = conn.take_output(1).unwrap();
        qos0(&mut conn, b"cccc");
        // As if the socket took the first packet and two bytes of the second.
        let first = 2 + 3 + 4;
        let sent = batch.bytes[..first + 2].to_vec();
        batch.pos = first + 2;
        let mut reported = Vec::new();
        conn.finish_output(batch, |w| reported.push(w));
        assert_eq!(reported, [Written::Qos0Publish]);
        assert_eq!(conn.queued_bytes(), 2 * first - 2);
        conn.flush(|w| reported.push(w)).unwrap();
        assert_eq!(reported.len(), 3, "each packet reported once, in order");
        let mut wire = sent;
        wire.extend(read_exactly(&mut peer, 2 * first - 2));
        let payloads: Vec<&[u8]> = wire.chunks(first).map(|p| &p[5..]).collect();
        assert_eq!(payloads, [b"aaaa", b"bbbb", b"cccc"]);
    }

    #[test]
    fn bytes_waiting_for_the_socket_count_a_batch_being_written() {
        let (mut conn, _peer) = connected();
        qos0(&mut conn, &[b'a'; 100]);
        let queued = conn.queued_bytes();
        let mut batch = conn.take_output(1).unwrap();
        assert_eq!((conn.queued_bytes(), conn.waiting_bytes()), (0, queued));
        qos0(&mut conn, &[b'b'; 10]);
        let later = conn.queued_bytes();
        assert_eq!(conn.waiting_bytes(), queued + later);
        // The socket took 40 bytes: the rest waits again, in the queue.
        batch.pos = 40;
        conn.finish_output(batch, |_| {});
        assert_eq!(conn.queued_bytes(), queued - 40 + later);
        assert_eq!(conn.waiting_bytes(), conn.queued_bytes());
    }

    #[test]
    fn a_batch_from_a_closed_connection_is_not_owned_by_the_next() {
        let (mut old, _peer) = connected();
        qos0(&mut old, b"x");
        let batch = old.take_output(1).unwrap();
        let (mut new, _peer2) = connected();
        assert!(!new.owns(&batch));
        qos0(&mut new, b"y");
        assert!(new.take_output(1).is_some());
    }

    #[test]
    fn an_announced_length_reserves_at_most_a_megabyte_ahead() {
        assert_eq!(room_ahead(10), 10);
        assert_eq!(room_ahead(RESERVE_AHEAD), RESERVE_AHEAD);
        // MQTT's largest remaining length: 256 MiB claimed, 1 MiB made room for.
        assert_eq!(room_ahead(268_435_455), 1024 * 1024);
    }

    #[test]
    fn a_keepalive_exchange_gives_the_write_buffers_back() {
        use crate::net::socket::{Endpoint, Stream};
        use std::io::{Read, Write};
        use std::os::unix::net::UnixListener;

        let path = std::env::temp_dir().join(format!("skeeter-idle-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let endpoint = Endpoint {
            host: path.to_str().unwrap(),
            port: 0,
            bind_address: None,
        };
        let (stream, _) = Stream::connect(endpoint, true).unwrap();
        let (mut broker, _) = listener.accept().unwrap();
        let _ = std::fs::remove_file(&path);
        let mut conn = Connection::new(Transport::plain(stream), false, ProtocolVersion::V311, 0);

        conn.queue(&Packet::PingReq).unwrap();
        conn.flush(|_| {}).unwrap();
        let mut pingreq = [0u8; 2];
        broker.read_exact(&mut pingreq).unwrap();
        assert!(conn.output.capacity() > 0);

        broker.write_all(&[0xd0, 0x00]).unwrap();
        let mut got = Vec::new();
        while got.is_empty() {
            conn.read_packets(|p| {
                got.push(p);
                true
            })
            .unwrap();
        }
        assert_eq!(got, vec![Packet::PingResp]);
        assert_eq!(conn.output.capacity(), 0);
        assert_eq!(conn.in_output, LazyQueue::new());
    }
}
