//! A rustls client session over a non-blocking `Stream`, driven by the same
//! readiness the plain socket uses: `read` when the socket is readable, `flush`
//! when it is writable and `wants_write` says TLS output is pending.
//!
//! Plaintext handed to `queue` is taken whole while the handshake runs (rustls
//! buffers it), so the caller never waits for writability in vain; afterwards up
//! to `OUTPUT_MAX` of unsent records. What is not yet on the wire shows in
//! `wants_write`, which `mosquitto_want_write` reports.

use std::io::{self, IoSlice, Read, Write};
use std::sync::Arc;

use rustls::{ClientConfig, ClientConnection};
use rustls_pki_types::ServerName;

use super::error::NetError;
use super::host_name_check::HandshakeWarnings;
use super::socket::{Progress, Stream};
use super::tls_config::describe;
use super::tls_error::TlsError;

/// Unsent TLS records above which an established session takes no more
/// plaintext, so a broker that stops reading cannot grow them without bound.
const OUTPUT_MAX: usize = 256 * 1024;

/// One TLS connection's state. The socket is passed to each call, so the same
/// session works on a direct connection and through a SOCKS5 tunnel.
#[derive(Debug)]
pub struct TlsSession {
    conn: ClientConnection,
    /// What the certificate check asked to log, shared with the configuration.
    warnings: HandshakeWarnings,
}

impl TlsSession {
    /// Starts a handshake with `name` (the broker's host: SNI and the name its
    /// certificate must carry). The ClientHello waits in `wants_write`.
    /// `warnings` is where `config`'s certificate check leaves its log lines.
    pub fn new(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
        warnings: HandshakeWarnings,
    ) -> Result<TlsSession, NetError> {
        let mut conn = ClientConnection::new(config, name)
            .map_err(|e| NetError::Tls(TlsError::Config(e.to_string())))?;
        // No limit: the connection's own queue bounds what it hands over, and a
        // refused partial write would leave it polling for writability in vain
        // while the handshake waits for the broker.
        conn.set_buffer_limit(None);
        Ok(TlsSession { conn, warnings })
    }

    /// Lines for `MOSQ_LOG_WARNING` from the handshake so far, each given once.
    pub fn take_warnings(&self) -> Vec<String> {
        self.warnings.take()
    }

    /// Whether TLS records (handshake or data) wait to be written.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Whether decrypted bytes wait to be read: a `read` stopped by a full buffer
    /// leaves them here, where `poll` on the socket cannot see them.
    pub fn has_plaintext(&mut self) -> bool {
        self.conn
            .process_new_packets()
            .is_ok_and(|state| state.plaintext_bytes_to_read() > 0)
    }

    /// Decrypted bytes into `buf`: reads records from `socket` as needed, answers
    /// the handshake, and returns `WouldBlock` when nothing is decrypted yet.
    pub fn read(&mut self, socket: &Stream, buf: &mut [u8]) -> Result<Progress, NetError> {
        loop {
            if let Some(progress) = self.take_plaintext(buf)? {
                return Ok(progress);
            }
            let got = match self.conn.read_tls(&mut SocketIo(socket)) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::WouldBlock),
                Err(e) => return Err(NetError::Os(e)),
            };
            self.process(socket)?;
            if got == 0 {
                // The broker closed the TCP connection: whatever it sent first is
                // decrypted now, and after that the stream is over.
                return match self.take_plaintext(buf)? {
                    Some(progress) => Ok(progress),
                    None => Err(NetError::Closed),
                };
            }
        }
    }

    /// Takes `bufs` as plaintext without writing to the socket (a SOCKS5 tunnel
    /// may not be open yet); `flush` sends it. Returns the bytes taken: all of
    /// them during the handshake, afterwards what fits below `OUTPUT_MAX` of
    /// unsent records.
    pub fn queue(&mut self, bufs: &[IoSlice<'_>]) -> usize {
        if !self.conn.is_handshaking() {
            self.conn.set_buffer_limit(Some(OUTPUT_MAX));
        }
        // One call, so the slices share records.
        self.conn.writer().write_vectored(bufs).unwrap_or(0)
    }

    /// Writes pending TLS records until the socket would block.
    pub fn flush(&mut self, socket: &Stream) -> Result<(), NetError> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut SocketIo(socket)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(NetError::Os(e)),
            }
        }
        Ok(())
    }

    /// Queues a close_notify alert and writes it if the socket takes it now; the
    /// broker then knows the close was meant, not a truncation.
    pub fn close(&mut self, socket: &Stream) {
        self.conn.send_close_notify();
        let _ = self.flush(socket);
    }

    /// Plaintext already decrypted: `Some` with bytes or the end of the stream,
    /// `None` when more records are needed.
    fn take_plaintext(&mut self, buf: &mut [u8]) -> Result<Option<Progress>, NetError> {
        match self.conn.reader().read(buf) {
            // close_notify from the broker: a clean end.
            Ok(0) if !buf.is_empty() => Err(NetError::Closed),
            Ok(n) => Ok(Some(Progress::Bytes(n))),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            // The socket ended without close_notify: the connection is lost.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(NetError::Closed),
            Err(e) => Err(NetError::Os(e)),
        }
    }

    /// Decrypts what was read, sending the alert and answering the handshake.
    fn process(&mut self, socket: &Stream) -> Result<(), NetError> {
        let handshaking = self.conn.is_handshaking();
        if let Err(e) = self.conn.process_new_packets() {
            // rustls has queued an alert telling the broker why; send it if we can.
            let _ = self.flush(socket);
            let reason = describe(&e);
            return Err(NetError::Tls(if handshaking {
                TlsError::Handshake(reason)
            } else {
                TlsError::Session(reason)
            }));
        }
        self.flush(socket)
    }
}

/// `io::Read` and `io::Write` over a non-blocking `Stream`, as rustls wants them:
/// end of stream is `Ok(0)`, not ready is `WouldBlock`.
struct SocketIo<'a>(&'a Stream);

impl Read for SocketIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf) {
            Ok(Progress::Bytes(n)) => Ok(n),
            Ok(Progress::WouldBlock) => Err(io::ErrorKind::WouldBlock.into()),
            Err(NetError::Closed) => Ok(0),
            Err(e) => Err(into_io(e)),
        }
    }
}

impl Write for SocketIo<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.0.write(bufs) {
            Ok(Progress::Bytes(n)) => Ok(n),
            Ok(Progress::WouldBlock) => Err(io::ErrorKind::WouldBlock.into()),
            Err(e) => Err(into_io(e)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn into_io(e: NetError) -> io::Error {
    match e {
        NetError::Os(e) => e,
        other => io::Error::other(other.to_string()),
    }
}
