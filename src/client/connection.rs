//! One live network connection: the transport, with the input side (bytes read
//! but not yet decoded, `input.rs`) and the output side (bytes encoded but not
//! yet written, `output.rs`) on either side of it.
//!
//! The byte stream is a `net::Transport`: plain TCP or a Unix socket, TLS,
//! WebSocket frames, or any of them through a SOCKS5 proxy. Its handshakes run
//! inside `read` and `flush`; what it still holds to send shows in
//! `wants_write`. Socket failures come back as `NetError`, so the caller can log
//! a TLS or proxy failure's reason before turning it into a `MOSQ_ERR_*`
//! (`net_error`).

use std::io::IoSlice;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::Error;
use crate::net::{NetError, Transport};
use crate::protocol::packet::{Packet, ProtocolVersion, Publish};
use crate::protocol::packets::publish;
use crate::session::Written;

use super::input::Input;
pub use super::input::ReadFailure;
use super::output::Output;
use super::unlocked_write::UnlockedWrite;

#[derive(Debug)]
pub struct Connection {
    stream: Transport,
    /// A non-blocking connect has not finished yet.
    connecting: bool,
    input: Input,
    output: Output,
    /// Unique in the process: tells the shared loop a new connection from
    /// one that reuses the old one's descriptor number.
    serial: u32,
}

/// The next connection's `serial`.
static NEXT_SERIAL: AtomicU32 = AtomicU32::new(1);

impl Connection {
    pub fn new(stream: Transport, connecting: bool, version: ProtocolVersion, limit: u32) -> Self {
        Connection {
            stream,
            connecting,
            input: Input::new(version, limit),
            output: Output::new(version),
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// This connection's number, unique in the process.
    pub fn serial(&self) -> u32 {
        self.serial
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
        self.connecting || self.output.has_unwritten() || self.stream.wants_write()
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
        self.output.queued_bytes()
    }

    /// Every byte not yet handed to the socket: the queue, and the batch an
    /// unlocked write has taken, as it was when taken.
    pub fn waiting_bytes(&self) -> usize {
        self.output.waiting_bytes()
    }

    /// Completes a non-blocking connect once the socket is writable.
    pub fn finish_connect(&mut self) -> Result<(), NetError> {
        self.stream.finish_connect()?;
        self.connecting = false;
        Ok(())
    }

    /// Whether Nagle's algorithm is off on the socket.
    #[cfg(test)]
    pub fn has_nodelay(&self) -> bool {
        self.stream.has_nodelay()
    }

    /// Encodes `packet` after what is queued; its kind is kept until written.
    pub fn queue(&mut self, packet: &Packet) -> Result<(), Error> {
        self.output.queue(packet)
    }

    /// Encodes a QoS 1 or 2 PUBLISH the session keeps (lent, not copied).
    pub fn queue_publish(&mut self, publish: &Publish) -> Result<(), Error> {
        self.output.queue_publish(publish)
    }

    /// Encodes a QoS 0 PUBLISH straight from the caller's buffers.
    pub fn queue_qos0(&mut self, parts: publish::Parts<'_>) -> Result<(), Error> {
        self.output.queue_qos0(parts)
    }

    /// Writes as much queued output as the socket takes now, and hands the kind of
    /// each packet whose last byte went out to `written`, in order. A TLS or
    /// SOCKS5 transport takes all of it (keeping what the socket refuses), and is
    /// flushed too.
    pub fn flush(&mut self, written: impl FnMut(Written)) -> Result<(), NetError> {
        if self.connecting {
            return Ok(());
        }
        let stream = &mut self.stream;
        self.output
            .send(|bytes| stream.write(&[IoSlice::new(bytes)]))?;
        if self.stream.wants_write() {
            self.stream.flush()?;
        }
        self.output.report_sent(written);
        Ok(())
    }

    /// Encodes a QoS 0 PUBLISH and writes it at once, when nothing waits to be
    /// written before it (`wants_write` false): true when it went out whole,
    /// as `flush` would report it written. Otherwise it stays queued and
    /// `flush` reports it once written (a write failure is left for the loop to
    /// find, as it finds it after `flush`). Err: it could not be encoded, and
    /// nothing was queued.
    pub fn send_qos0_now(&mut self, parts: publish::Parts<'_>) -> Result<bool, Error> {
        debug_assert!(!self.wants_write());
        self.output.queue_qos0_now(parts)?;
        let stream = &mut self.stream;
        let mut sent = self
            .output
            .send(|bytes| stream.write(&[IoSlice::new(bytes)]))
            .is_ok();
        if sent && self.stream.wants_write() {
            sent = self.stream.flush().is_ok();
        }
        Ok(self.output.settle_qos0_now(sent))
    }

    /// Takes the queued output for writing without the lock, when at least
    /// `min` bytes are queued, they go straight to the socket (no TLS, proxy
    /// tunnel open) and no other unlocked write runs. Give the batch back to
    /// `finish_output`.
    pub fn take_output(&mut self, min: usize) -> Option<UnlockedWrite> {
        if self.connecting || !self.output.can_take(min) {
            return None;
        }
        // Without a second descriptor (out of them), the write is made locked.
        let stream = self.stream.plain_stream()?.try_clone().ok()?;
        Some(self.output.take(stream))
    }

    /// Whether `batch` was taken from this connection.
    pub fn owns(&self, batch: &UnlockedWrite) -> bool {
        self.output.owns(batch)
    }

    /// Ends an unlocked write taken from this connection (`owns`), as
    /// `Output::finish` does.
    pub fn finish_output(&mut self, batch: UnlockedWrite, written: impl FnMut(Written)) {
        self.output.finish(batch, written);
    }

    /// Reads what the socket has and hands every whole packet to `each`, which
    /// returns false to stop (the rest is then left unread). Returns how many
    /// packets were handed over.
    ///
    /// After a CONNACK or a PINGRESP, a connection with nothing left to write
    /// gives its write buffers back (`release_write_buffers`).
    pub fn read_packets(
        &mut self,
        mut each: impl FnMut(Packet) -> bool,
    ) -> Result<usize, ReadFailure> {
        let mut settled = false;
        let mut each = |packet: Packet| {
            settled |= matches!(packet, Packet::ConnAck(_) | Packet::PingResp);
            each(packet)
        };
        let result = self.input.read_packets(&mut self.stream, &mut each);
        if settled {
            self.release_write_buffers();
        }
        result
    }

    /// Gives the write buffers back if everything queued is written. Called when
    /// the connection is likely to be idle (CONNECT written, CONNACK read, a
    /// keepalive exchange done), so a connected client that sends nothing holds
    /// no write buffer; a busy one seldom reaches these points and keeps its buffers.
    pub fn release_write_buffers(&mut self) {
        self.output.release_buffers();
    }

    /// Ends the connection (a TLS close_notify first); dropping it closes the
    /// socket. The socket is shut down here only while an unlocked write holds
    /// a duplicate of its descriptor, which would keep it open: a program that
    /// connects and loops on one thread needs no `shutdown` per connection.
    /// Whoever may be waiting on the socket in another thread is the caller's
    /// to wake (`Client::wake`), as closing a descriptor does not end a `poll`.
    pub fn shutdown(&mut self) {
        self.stream.shutdown(self.output.is_taken());
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
    use crate::client::output::tests::qos0_parts;
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
        conn.queue_qos0(qos0_parts(payload)).unwrap();
    }

    fn read_exactly(peer: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut got = vec![0u8; n];
        peer.read_exact(&mut got).unwrap();
        got
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
        assert!(conn.output.holds_memory());

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
        assert!(!conn.output.holds_memory());
    }
}
