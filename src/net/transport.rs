//! The byte stream to the broker as the connection sees it: plain TCP, TLS, or
//! either of them through a SOCKS5 proxy, each optionally carrying WebSocket
//! frames. It offers what `Stream` offers (read, gathered write, the
//! descriptor) plus `flush` and `wants_write` for bytes the transport itself
//! still holds: handshake records, TLS output, WebSocket frames, and what the
//! connection wrote before a SOCKS5 tunnel was open.
//!
//! All of it is non-blocking and driven by the socket's readiness: `read` on
//! readable, `flush` on writable while `wants_write()`. The SOCKS5, TLS and
//! WebSocket handshakes run inside those calls (in that order: the upgrade
//! request goes inside TLS), so the connection queues its CONNECT packet
//! at once and never needs to know a handshake is going on.

use std::io::IoSlice;
use std::os::fd::RawFd;
use std::sync::Arc;

use rustls::ClientConfig;

use super::error::NetError;
use super::host_name_check::HandshakeWarnings;
use super::socket::{ConnectState, Endpoint, Progress, Stream};
use super::socks5::Socks5Proxy;
use super::socks5::{Socks5Error, Socks5Handshake};
use super::tls::TlsSession;
use super::tls_config::{self, TlsSetup};
use super::tls_settings::TlsSettings;
use super::websocket::WebSocket;
use super::websocket_handshake::Upgrade;

/// What to put between the socket and MQTT, decided once per connect from the
/// client's settings.
#[derive(Debug, Clone, Default)]
pub struct TransportPlan {
    /// TLS with this configuration (built by `tls_config::client_config`).
    pub tls: Option<Arc<ClientConfig>>,
    /// Where that configuration's certificate check leaves lines to log.
    pub handshake_warnings: HandshakeWarnings,
    /// Connect to this proxy and have it open the connection to the broker.
    pub socks5: Option<Socks5Proxy>,
    /// Carry MQTT in WebSocket frames, after this upgrade.
    pub websocket: Option<Upgrade>,
    /// Turn Nagle's algorithm off on a TCP socket (`MOSQ_OPT_TCP_NODELAY`).
    pub nodelay: bool,
}

impl TransportPlan {
    /// The plan for the current settings. Builds the TLS configuration when TLS is
    /// enabled (reading the CA, certificate and key files, and asking the password
    /// callback for an encrypted key), and returns lines to log as warnings.
    pub fn from_settings(
        tls: &TlsSettings,
        socks5: Option<&Socks5Proxy>,
    ) -> Result<(TransportPlan, Vec<String>), NetError> {
        let (tls, warnings, handshake_warnings) = if tls.enabled() {
            let TlsSetup {
                config,
                warnings,
                handshake_warnings,
            } = tls_config::client_config(tls)?;
            (Some(config), warnings, handshake_warnings)
        } else {
            (None, Vec::new(), HandshakeWarnings::default())
        };
        Ok((
            TransportPlan {
                tls,
                handshake_warnings,
                socks5: socks5.cloned(),
                websocket: None,
                nodelay: false,
            },
            warnings,
        ))
    }

    /// The same plan carrying MQTT in WebSocket frames after `upgrade` (from
    /// `Options::upgrade`), or not.
    pub fn with_websocket(mut self, upgrade: Option<Upgrade>) -> TransportPlan {
        self.websocket = upgrade;
        self
    }

    /// The same plan with Nagle's algorithm off (`nodelay`) or left on.
    pub fn with_nodelay(mut self, nodelay: bool) -> TransportPlan {
        self.nodelay = nodelay;
        self
    }
}

/// An open (or opening) connection to the broker.
#[derive(Debug)]
pub struct Transport {
    stream: Stream,
    /// False while a non-blocking connect is still in progress.
    connected: bool,
    /// Present until the proxy has opened the tunnel; boxed, as most clients use
    /// no proxy and the tunnel is open before the connection idles.
    socks: Option<Box<Socks5Handshake>>,
    /// Boxed: a TLS session is large, and a plain connection should not pay for it.
    tls: Option<Box<TlsSession>>,
    /// Plaintext written (without TLS) before the tunnel was open, or that the
    /// socket did not take yet.
    held: Vec<u8>,
    /// Boxed: only WebSocket clients pay for it.
    ws: Option<Box<WebSocket>>,
}

impl Transport {
    /// Connects to `to` (or to the plan's proxy, which is then asked for `to`) and
    /// starts the handshakes the plan calls for. With `InProgress`, wait until the
    /// descriptor is writable, then call `finish_connect`.
    pub fn connect(
        to: Endpoint<'_>,
        plan: &TransportPlan,
        blocking: bool,
    ) -> Result<(Transport, ConnectState), NetError> {
        let tls = match &plan.tls {
            Some(config) => Some(Box::new(TlsSession::new(
                config.clone(),
                tls_config::server_name(to.host)?,
                plan.handshake_warnings.clone(),
            )?)),
            None => None,
        };
        let (stream, state, socks) = match &plan.socks5 {
            Some(proxy) => {
                let handshake = Socks5Handshake::new(
                    to.host,
                    to.port,
                    proxy.username.as_deref(),
                    proxy.password.as_deref(),
                )?;
                let via = Endpoint {
                    host: &proxy.host,
                    port: proxy.port,
                    bind_address: to.bind_address,
                };
                let (stream, state) = Stream::connect_with(via, blocking, plan.nodelay)?;
                (stream, state, Some(Box::new(handshake)))
            }
            None => {
                let (stream, state) = Stream::connect_with(to, blocking, plan.nodelay)?;
                (stream, state, None)
            }
        };
        let ws = plan
            .websocket
            .as_ref()
            .map(|upgrade| Box::new(WebSocket::start(upgrade, to.host, to.port)));
        let transport = Transport {
            stream,
            connected: state == ConnectState::Connected,
            socks,
            tls,
            held: Vec::new(),
            ws,
        };
        Ok((transport, state))
    }

    /// A plain transport over a stream that is already connected.
    pub fn plain(stream: Stream) -> Transport {
        Transport {
            stream,
            connected: true,
            socks: None,
            tls: None,
            held: Vec::new(),
            ws: None,
        }
    }

    /// After an `InProgress` connect became writable: whether it succeeded. The
    /// handshakes start moving with the next `flush`.
    pub fn finish_connect(&mut self) -> Result<(), NetError> {
        self.stream.finish_connect()?;
        self.connected = true;
        Ok(())
    }

    /// Decrypted (or plain) bytes from the broker into `buf`; `WouldBlock` while
    /// nothing has arrived or a handshake is still running.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<Progress, NetError> {
        if !self.connected {
            return Ok(Progress::WouldBlock);
        }
        if self.socks.is_some() && !self.drive_socks()? {
            return Ok(Progress::WouldBlock);
        }
        if self.ws.is_some() {
            return self.read_websocket(buf);
        }
        self.read_below(buf)
    }

    /// What TLS decrypted, or the socket's bytes.
    fn read_below(&mut self, buf: &mut [u8]) -> Result<Progress, NetError> {
        match &mut self.tls {
            Some(tls) => tls.read(&self.stream, buf),
            None => self.stream.read(buf),
        }
    }

    /// Reads until some MQTT bytes came out of the frames (or nothing more is
    /// there), sending the answers the frames asked for.
    fn read_websocket(&mut self, buf: &mut [u8]) -> Result<Progress, NetError> {
        loop {
            if let Some(closed) = self.ws.as_deref().and_then(WebSocket::close_received) {
                return Err(NetError::WebSocket(closed));
            }
            let n = match self.read_below(buf) {
                Ok(Progress::Bytes(n)) => n,
                Ok(Progress::WouldBlock) => return Ok(Progress::WouldBlock),
                Err(NetError::Closed) => {
                    let ended = self.ws.as_deref().and_then(WebSocket::end_of_stream);
                    return Err(ended.map_or(NetError::Closed, NetError::WebSocket));
                }
                Err(e) => return Err(e),
            };
            let Some(ws) = self.ws.as_deref_mut() else {
                return Ok(Progress::Bytes(n));
            };
            let got = ws.receive(&mut buf[..n]);
            // A pong, a close answer, or frames that waited for the upgrade.
            self.flush()?;
            match got? {
                0 => continue,
                got => return Ok(Progress::Bytes(got)),
            }
        }
    }

    /// Takes all of `bufs`, in order, and sends what the socket accepts now; the
    /// rest stays here and `wants_write()` says so. Returns the bytes taken;
    /// `WouldBlock` (nothing taken) when the socket took none of a plain write with
    /// nothing held, or an established TLS or WebSocket tunnel still holds bytes.
    #[inline]
    pub fn write(&mut self, bufs: &[IoSlice<'_>]) -> Result<Progress, NetError> {
        // The usual case first, inline: bytes that go straight to the socket.
        if self.ws.is_none()
            && self.tls.is_none()
            && self.socks.is_none()
            && self.held.is_empty()
            && self.connected
        {
            return self.stream.write(bufs);
        }
        self.write_wrapped(bufs)
    }

    /// `write` through WebSocket, TLS or the proxy, or held back.
    #[inline(never)]
    fn write_wrapped(&mut self, bufs: &[IoSlice<'_>]) -> Result<Progress, NetError> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        // Like a socket, an established WebSocket takes more only once what it
        // holds is on the wire: otherwise a broker that stops reading grows the
        // frames here without bound, while the caller counts them as written.
        if self.ws.is_some() && self.is_established() {
            self.flush()?;
            if self.wants_write() {
                return Ok(Progress::WouldBlock);
            }
        }
        if let Some(ws) = self.ws.as_deref_mut() {
            ws.send(bufs);
            self.flush()?;
            return Ok(Progress::Bytes(total));
        }
        if let Some(tls) = &mut self.tls {
            // After the handshake TLS takes what its bounded buffer holds.
            let taken = tls.queue(bufs);
            self.flush()?;
            return Ok(if taken == 0 && total > 0 {
                Progress::WouldBlock
            } else {
                Progress::Bytes(taken)
            });
        }
        if self.socks.is_none() && self.held.is_empty() && self.connected {
            return self.stream.write(bufs);
        }
        for buf in bufs {
            self.held.extend_from_slice(buf);
        }
        self.flush()?;
        Ok(Progress::Bytes(total))
    }

    /// The socket itself, when bytes written to it go straight to the broker: no
    /// TLS or WebSocket, the proxy's tunnel open (or none), nothing held back.
    pub fn plain_stream(&self) -> Option<&Stream> {
        (self.connected
            && self.tls.is_none()
            && self.ws.is_none()
            && self.socks.is_none()
            && self.held.is_empty())
        .then_some(&self.stream)
    }

    /// Writes what the transport holds (SOCKS5 requests, TLS records, held
    /// plaintext) until the socket would block.
    pub fn flush(&mut self) -> Result<(), NetError> {
        if !self.connected {
            return Ok(());
        }
        if let Some(socks) = &mut self.socks {
            write_some(&self.stream, socks.output()).map(|n| socks.consumed(n))?;
            return Ok(());
        }
        if !self.held.is_empty() {
            let n = write_some(&self.stream, &self.held)?;
            self.held.drain(..n);
        }
        if let Some(ws) = self.ws.as_deref_mut() {
            let n = match &mut self.tls {
                Some(tls) => tls.queue(&[IoSlice::new(ws.output())]),
                None => write_some(&self.stream, ws.output())?,
            };
            ws.consumed(n);
        }
        match &mut self.tls {
            Some(tls) => tls.flush(&self.stream),
            None => Ok(()),
        }
    }

    /// Whether the transport has bytes to write once the socket is writable (or,
    /// while connecting, waits for writability to learn the connect's result).
    pub fn wants_write(&self) -> bool {
        if !self.connected {
            return true;
        }
        if let Some(socks) = &self.socks {
            return !socks.output().is_empty();
        }
        !self.held.is_empty()
            || self.ws.as_deref().is_some_and(|ws| !ws.output().is_empty())
            || self.tls.as_deref().is_some_and(TlsSession::wants_write)
    }

    /// Whether the tunnel is open and the TLS handshake and WebSocket upgrade
    /// (if any) are complete.
    pub fn is_established(&self) -> bool {
        self.connected
            && self.socks.is_none()
            && !self.tls.as_deref().is_some_and(TlsSession::is_handshaking)
            && self.ws.as_deref().is_none_or(WebSocket::is_upgraded)
    }

    /// Whether `read` has something without waiting for the socket (TLS
    /// plaintext decrypted but not yet read, or the server's WebSocket close
    /// to report): the loop must not wait in `poll` then.
    pub fn has_buffered_input(&mut self) -> bool {
        self.socks.is_none()
            && (self
                .tls
                .as_deref_mut()
                .is_some_and(TlsSession::has_plaintext)
                || self
                    .ws
                    .as_deref()
                    .is_some_and(WebSocket::is_closed_by_server))
    }

    /// Lines for `MOSQ_LOG_WARNING` that the TLS handshake left since the last call.
    pub fn take_warnings(&self) -> Vec<String> {
        self.tls
            .as_deref()
            .map(TlsSession::take_warnings)
            .unwrap_or_default()
    }

    /// Whether this transport encrypts.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The descriptor to poll (the proxy's, when there is one).
    pub fn fd(&self) -> RawFd {
        self.stream.fd()
    }

    /// Whether Nagle's algorithm is off on the socket.
    #[cfg(test)]
    pub fn has_nodelay(&self) -> bool {
        self.stream.has_nodelay()
    }

    /// Ends the connection: a WebSocket close frame and a TLS close_notify first
    /// when they are up (best effort: what the socket does not take is dropped),
    /// then, with `socket_too`, the socket both ways, for when another
    /// descriptor of it stays open (else closing this one ends it).
    pub fn shutdown(&mut self, socket_too: bool) {
        if self.socks.is_none() && self.connected {
            if let Some(ws) = self.ws.as_deref_mut() {
                ws.close();
                let _ = self.flush();
            }
            if let Some(tls) = &mut self.tls {
                tls.close(&self.stream);
            }
        }
        if socket_too {
            self.stream.shutdown();
        }
    }

    /// Moves the SOCKS5 handshake on; true once the tunnel is open.
    fn drive_socks(&mut self) -> Result<bool, NetError> {
        // The longest reply step: a domain name of 255 bytes and the port.
        let mut scratch = [0u8; 257];
        while let Some(socks) = &mut self.socks {
            write_some(&self.stream, socks.output()).map(|n| socks.consumed(n))?;
            if socks.is_done() {
                self.socks = None;
                // The tunnel is open: what waited for it (ClientHello, CONNECT) goes now.
                self.flush()?;
                return Ok(true);
            }
            let want = socks.wanted();
            match self.stream.read(&mut scratch[..want]) {
                Ok(Progress::Bytes(n)) => socks.feed(&scratch[..n])?,
                Ok(Progress::WouldBlock) => return Ok(false),
                Err(NetError::Closed) => return Err(Socks5Error::Closed.into()),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

/// Writes as much of `bytes` as the socket takes now.
fn write_some(stream: &Stream, bytes: &[u8]) -> Result<usize, NetError> {
    let mut sent = 0;
    while sent < bytes.len() {
        match stream.write(&[IoSlice::new(&bytes[sent..])])? {
            Progress::Bytes(n) => sent += n,
            Progress::WouldBlock => break,
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// Reads from `t` until `n` bytes arrived, flushing as the loop would.
    fn read_n(t: &mut Transport, n: usize) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < n {
            t.flush().unwrap();
            match t.read(&mut buf).unwrap() {
                Progress::Bytes(k) => got.extend_from_slice(&buf[..k]),
                Progress::WouldBlock => std::thread::sleep(std::time::Duration::from_millis(2)),
            }
        }
        got
    }

    #[test]
    fn data_written_before_the_socks_tunnel_opens_follows_the_handshake() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = std::thread::spawn(move || {
            let (mut peer, _) = listener.accept().unwrap();
            let mut greeting = [0u8; 3];
            peer.read_exact(&mut greeting).unwrap();
            assert_eq!(greeting, [5, 1, 0]);
            peer.write_all(&[5, 0]).unwrap();
            let mut request = [0u8; 4 + 1 + 6 + 2];
            peer.read_exact(&mut request).unwrap();
            assert_eq!(&request[..5], &[5, 1, 0, 3, 6]);
            assert_eq!(&request[5..11], b"broker");
            // The reply and the broker's first bytes in one segment: the
            // handshake must take only its own bytes.
            peer.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 1, b'h', b'i'])
                .unwrap();
            let mut early = [0u8; 5];
            peer.read_exact(&mut early).unwrap();
            assert_eq!(&early, b"hello");
        });
        let plan = TransportPlan {
            socks5: Some(Socks5Proxy {
                host: "127.0.0.1".into(),
                port,
                username: None,
                password: None,
            }),
            ..TransportPlan::default()
        };
        let to = Endpoint {
            host: "broker",
            port: 1883,
            bind_address: None,
        };
        let (mut t, _) = Transport::connect(to, &plan, true).unwrap();
        assert!(t.wants_write(), "the greeting waits to be sent");
        assert_eq!(
            t.write(&[IoSlice::new(b"hel"), IoSlice::new(b"lo")])
                .unwrap(),
            Progress::Bytes(5)
        );
        assert!(!t.is_established());
        assert_eq!(read_n(&mut t, 2), b"hi");
        assert!(t.is_established());
        proxy.join().unwrap();
    }

    #[test]
    fn a_transport_and_its_plan_can_move_to_the_loop_thread() {
        fn send<T: Send>() {}
        fn shared<T: Send + Sync>() {}
        send::<Transport>();
        shared::<TransportPlan>();
    }

    #[test]
    fn a_plain_transport_passes_bytes_straight_through() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let to = Endpoint {
            host: "127.0.0.1",
            port,
            bind_address: None,
        };
        let (mut t, _) = Transport::connect(to, &TransportPlan::default(), true).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        assert!(t.is_established() && !t.is_tls() && !t.wants_write());
        assert_eq!(
            t.write(&[IoSlice::new(b"abc")]).unwrap(),
            Progress::Bytes(3)
        );
        let mut got = [0u8; 3];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"abc");
        peer.write_all(b"xy").unwrap();
        assert_eq!(read_n(&mut t, 2), b"xy");
    }
}
