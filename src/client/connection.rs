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
use std::collections::VecDeque;
use std::io::IoSlice;
use std::os::fd::RawFd;

use super::pace::Pace;
use crate::error::Error;
use crate::net::{NetError, Progress, Transport};
use crate::protocol::decoder::{encode, Decoded, Decoder};
use crate::protocol::packet::{Packet, ProtocolVersion, Publish};
use crate::protocol::packets::publish;
use crate::protocol::property::Property;
use crate::session::Written;

/// The size of each thread's shared read buffer: packets up to this size are
/// read there; larger ones in the connection's own buffer.
const READ_CHUNK: usize = 64 * 1024;
/// A connection's leftover-bytes buffer is given back once empty if larger.
const KEEP_CAPACITY: usize = 4 * 1024;

thread_local! {
    /// The read buffer shared by the connections this thread reads.
    static SHARED_INPUT: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}
/// Reads per `read_packets` call, so that a flood from the broker cannot keep
/// the loop from writing and keeping time.
const MAX_READS: usize = 16;
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
    in_output: VecDeque<(usize, Written)>,
    /// How the broker has been answering: whether the loop looks again before sleeping.
    pub pace: Pace,
}

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
            in_output: VecDeque::new(),
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
        self.connecting || self.out_pos < self.output.len() || self.stream.wants_write()
    }

    /// Whether the transport has not yet opened the SOCKS5 tunnel or finished
    /// the TLS handshake.
    pub fn is_handshaking(&self) -> bool {
        !self.connecting && !self.stream.is_established()
    }

    /// Whether bytes were read but not yet handed over (TLS plaintext); the loop
    /// reads again before waiting in `poll`.
    pub fn has_buffered_input(&mut self) -> bool {
        !self.connecting && self.stream.has_buffered_input()
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.output.len() - self.out_pos
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
    pub fn queue_qos0(
        &mut self,
        topic: &str,
        payload: &[u8],
        retain: bool,
        properties: &[Property],
    ) -> Result<(), Error> {
        publish::write_parts(
            publish::Parts {
                dup: false,
                qos: 0,
                retain,
                topic,
                packet_id: 0,
                properties,
                payload,
            },
            self.decoder.version,
            &mut self.output,
        )?;
        self.in_output
            .push_back((self.output.len(), Written::Qos0Publish));
        Ok(())
    }

    /// Writes as much queued output as the socket takes now, and hands the kind of
    /// each packet whose last byte went out to `written`, in order. A TLS or
    /// SOCKS5 transport takes all of it (keeping what the socket refuses), and is
    /// flushed too.
    pub fn flush(&mut self, mut written: impl FnMut(Written)) -> Result<(), NetError> {
        if self.connecting {
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

    fn compact_output(&mut self) {
        if self.out_pos == self.output.len() {
            self.output.clear();
            self.out_pos = 0;
        } else if self.out_pos >= COMPACT_AT {
            self.output.drain(..self.out_pos);
            for (end, _) in &mut self.in_output {
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
    pub fn read_packets(
        &mut self,
        mut each: impl FnMut(Packet) -> bool,
    ) -> Result<(), ReadFailure> {
        let mut shared = SHARED_INPUT.take();
        let mut packets = 0;
        let result = self.read_with(&mut shared, &mut |packet| {
            packets += 1;
            each(packet)
        });
        if shared.len() <= 2 * READ_CHUNK {
            SHARED_INPUT.set(shared);
        }
        self.pace.note_read(packets);
        result
    }

    fn read_with(
        &mut self,
        shared: &mut Vec<u8>,
        each: &mut impl FnMut(Packet) -> bool,
    ) -> Result<(), ReadFailure> {
        for _ in 0..MAX_READS {
            if self.need > READ_CHUNK {
                // A large packet: read into our own buffer, which grows with what
                // arrives, at most `RESERVE_AHEAD` ahead of it (a remaining
                // length is only the broker's claim).
                if self.input.len() == self.in_len {
                    let ahead = room_ahead(self.need - self.in_len);
                    self.input.resize(self.in_len + ahead, 0);
                }
                let room = self.input.len() - self.in_len;
                let Some(n) = read(&mut self.stream, &mut self.input[self.in_len..])? else {
                    return Ok(());
                };
                self.in_len += n;
                if self.in_len >= self.need {
                    let (at, need, stopped) =
                        decode_all(&mut self.decoder, &self.input[..self.in_len], each)?;
                    self.input.copy_within(at..self.in_len, 0);
                    self.in_len -= at;
                    self.input.truncate(self.in_len);
                    self.need = need;
                    if self.in_len == 0 {
                        self.input = Vec::new();
                    }
                    if stopped {
                        return Ok(());
                    }
                }
                if n < room {
                    return Ok(());
                }
                continue;
            }
            // Otherwise: what is left of a packet, then the read, in the shared buffer.
            let pending = self.in_len;
            if shared.len() < pending + READ_CHUNK {
                shared.resize(pending + READ_CHUNK, 0);
            }
            shared[..pending].copy_from_slice(&self.input[..pending]);
            let room = shared.len() - pending;
            let Some(n) = read(&mut self.stream, &mut shared[pending..])? else {
                return Ok(());
            };
            let end = pending + n;
            let (at, need, stopped) = decode_all(&mut self.decoder, &shared[..end], each)?;
            self.keep(&shared[at..end], need);
            // A read that did not fill the room took everything there was.
            if stopped || n < room {
                return Ok(());
            }
        }
        Ok(())
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
    /// released when dropped. Leaves `errno` as it was: a failure being reported
    /// as `MOSQ_ERR_ERRNO` keeps its errno for the program.
    pub fn shutdown(&mut self) {
        let errno = crate::net::error::errno();
        self.stream.shutdown();
        crate::net::error::set_errno(errno);
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

    #[test]
    fn an_announced_length_reserves_at_most_a_megabyte_ahead() {
        assert_eq!(room_ahead(10), 10);
        assert_eq!(room_ahead(RESERVE_AHEAD), RESERVE_AHEAD);
        // MQTT's largest remaining length: 256 MiB claimed, 1 MiB made room for.
        assert_eq!(room_ahead(268_435_455), 1024 * 1024);
    }
}
