//! One live network connection: the socket, the bytes read but not yet decoded,
//! and the bytes encoded but not yet written.
//!
//! Reads go into one large buffer and every whole packet in it is decoded, so a
//! burst of small packets costs one `read`, not several per packet. Writes send
//! everything queued with one `sendmsg`. Each queued packet is remembered (its
//! payload dropped once encoded) until its last byte is written, so the session
//! can be told which packets went out (`Session::note_written`).
//!
//! The byte stream is a `net::Transport`: plain TCP or a Unix socket, TLS, or
//! either through a SOCKS5 proxy. Its handshakes run inside `read` and `flush`;
//! what it still holds to send shows in `wants_write`. Socket failures come back
//! as `NetError`, so the caller can log a TLS or proxy failure's reason before
//! turning it into a `MOSQ_ERR_*` (`net_error`).

use std::collections::VecDeque;
use std::io::IoSlice;
use std::os::fd::RawFd;

use crate::error::Error;
use crate::net::{NetError, Progress, Transport};
use crate::protocol::decoder::{encode, Decoded, Decoder};
use crate::protocol::packet::{Packet, ProtocolVersion};

/// The read buffer's first size, and the size it returns to once empty.
const READ_CHUNK: usize = 64 * 1024;
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
    input: Vec<u8>,
    /// Undecoded bytes are `input[in_start..in_end]`.
    in_start: usize,
    in_end: usize,
    output: Vec<u8>,
    /// Bytes before this offset have been written.
    out_pos: usize,
    /// Queued packets with the offset in `output` just past their last byte.
    in_output: VecDeque<(usize, Packet)>,
}

impl Connection {
    pub fn new(stream: Transport, connecting: bool, version: ProtocolVersion, limit: u32) -> Self {
        let mut decoder = Decoder::new(version);
        decoder.max_packet_size = limit;
        Connection {
            stream,
            connecting,
            decoder,
            input: vec![0; READ_CHUNK],
            in_start: 0,
            in_end: 0,
            output: Vec::new(),
            out_pos: 0,
            in_output: VecDeque::new(),
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

    /// Encodes `packet` after what is queued. The packet is kept, without its
    /// payload, until written.
    pub fn queue(&mut self, mut packet: Packet) -> Result<(), Error> {
        encode(&packet, self.decoder.version, &mut self.output)?;
        if let Packet::Publish(publish) = &mut packet {
            publish.payload = Vec::new();
        }
        self.in_output.push_back((self.output.len(), packet));
        Ok(())
    }

    /// Writes as much queued output as the socket takes now, and hands each packet
    /// whose last byte went out to `written`, in order. A TLS or SOCKS5 transport
    /// takes all of it (keeping what the socket refuses), and is flushed too.
    pub fn flush(&mut self, mut written: impl FnMut(Packet)) -> Result<(), NetError> {
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
            if let Some((_, packet)) = self.in_output.pop_front() {
                written(packet);
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
    pub fn read_packets(
        &mut self,
        mut each: impl FnMut(Packet) -> bool,
    ) -> Result<(), ReadFailure> {
        for _ in 0..MAX_READS {
            self.make_room();
            let room = self.input.len() - self.in_end;
            let n = match self.stream.read(&mut self.input[self.in_end..]) {
                Ok(Progress::Bytes(n)) => n,
                Ok(Progress::WouldBlock) => return Ok(()),
                Err(e) => return Err(ReadFailure::Io(e)),
            };
            self.in_end += n;
            loop {
                match self.decoder.decode(&self.input[self.in_start..self.in_end]) {
                    Ok(Decoded::Packet { packet, consumed }) => {
                        self.in_start += consumed;
                        if !each(packet) {
                            return Ok(());
                        }
                    }
                    Ok(Decoded::NeedMore(more)) => {
                        self.reserve(more);
                        break;
                    }
                    Err(e) => return Err(ReadFailure::Decode(e)),
                }
            }
            // A read that did not fill the room took everything there was.
            if n < room {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Moves undecoded bytes to the front, and gives back a big buffer once empty.
    fn make_room(&mut self) {
        if self.in_start == self.in_end {
            self.in_start = 0;
            self.in_end = 0;
            if self.input.len() > 16 * READ_CHUNK {
                self.input = vec![0; READ_CHUNK];
            }
        } else if self.in_end == self.input.len() && self.in_start > 0 {
            self.input.copy_within(self.in_start..self.in_end, 0);
            self.in_end -= self.in_start;
            self.in_start = 0;
        }
        if self.in_end == self.input.len() {
            self.input.resize(self.input.len() * 2, 0);
        }
    }

    /// Makes room for up to `more` bytes beyond what the buffer has, so a large
    /// packet arrives in few reads. At most `RESERVE_AHEAD` is made ahead of the
    /// bytes themselves: a remaining length is only the broker's claim, and the
    /// buffer grows with what actually arrives (`make_room`).
    fn reserve(&mut self, more: usize) {
        let needed = self.in_end - self.in_start + room_ahead(more);
        if needed > self.input.len() - self.in_start {
            if self.in_start > 0 {
                self.input.copy_within(self.in_start..self.in_end, 0);
                self.in_end -= self.in_start;
                self.in_start = 0;
            }
            if needed > self.input.len() {
                self.input.resize(needed, 0);
            }
        }
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
