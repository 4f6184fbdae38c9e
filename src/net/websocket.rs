//! MQTT over WebSockets (`MOSQ_OPT_TRANSPORT` = `MOSQ_T_WEBSOCKETS`): the layer
//! `Transport` puts between the connection's buffers and the socket (or TLS).
//! Sans-I/O, as the SOCKS5 handshake is: what to send waits in `output()`, and
//! what arrived is handed to `receive`, which leaves the MQTT bytes in the
//! caller's buffer.
//!
//! It sends the upgrade request first, and holds the MQTT bytes written meanwhile
//! until the server has accepted (a client may send no frame before that). Each
//! write becomes one binary frame, so a batch of queued packets costs one frame
//! header. Pings are answered with pongs; a close frame is answered with a close
//! and ends the connection.

use std::fmt;
use std::io::IoSlice;

use tungstenite::protocol::frame::coding::Control;

use super::websocket_frame::{self, ControlFrame, FrameReader};
use super::websocket_handshake::{Handshake, Upgrade};
use crate::error::Error;

/// Written bytes are cut from the front of the output once there are this many.
const COMPACT_AT: usize = 64 * 1024;
/// RFC 6455's status code for a normal close.
const NORMAL_CLOSE: u16 = 1000;

/// Why the WebSocket connection failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebSocketError {
    /// The server answered the upgrade with another status than 101 (its status line).
    Refused(String),
    /// The answer is not an HTTP response (its first line).
    NotHttp(String),
    /// The answer did not fit in `MOSQ_OPT_HTTP_HEADER_SIZE` bytes.
    ResponseTooLarge(usize),
    /// The answer lacks `Upgrade: websocket` or `Connection: Upgrade`.
    NotUpgraded,
    /// `Sec-WebSocket-Accept` does not match the key we sent.
    AcceptMismatch,
    /// The server chose no subprotocol, or another one than we asked for.
    Subprotocol(Option<String>),
    /// The server uses an extension we did not ask for.
    Extension(String),
    /// The server closed the connection before answering the upgrade.
    ClosedDuringUpgrade,
    /// A frame from the server is masked (servers must not mask).
    MaskedFrame,
    /// A frame has reserved bits set (no extension was agreed).
    ReservedBits,
    /// A text frame: MQTT travels in binary frames only.
    TextFrame,
    /// An opcode RFC 6455 does not define.
    BadOpcode(u8),
    /// A continuation frame without a fragmented message to continue.
    UnexpectedContinuation,
    /// A new binary frame while a fragmented message was not finished.
    ExpectedContinuation,
    /// A control frame that is fragmented or longer than 125 bytes.
    BadControlFrame,
    /// A frame length with the most significant bit set.
    LengthTooLarge(u64),
    /// The server sent a close frame (its status code and reason).
    Closed(Option<u16>, String),
}

impl WebSocketError {
    /// The `MOSQ_ERR_*` for this failure: a close from the server is a lost
    /// connection, as a TCP close is; everything else breaks the protocol.
    pub fn into_error(self) -> Error {
        match self {
            WebSocketError::Closed(..) | WebSocketError::ClosedDuringUpgrade => Error::ConnLost,
            _ => Error::Protocol,
        }
    }
}

impl fmt::Display for WebSocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use WebSocketError::*;
        write!(f, "WebSocket: ")?;
        match self {
            Refused(line) => write!(f, "the server refused the upgrade: {line}"),
            NotHttp(line) => write!(f, "the upgrade answer is not HTTP: {line}"),
            ResponseTooLarge(size) => {
                write!(f, "the upgrade answer is longer than {size} bytes")
            }
            NotUpgraded => write!(f, "the upgrade answer does not switch to websocket"),
            AcceptMismatch => write!(f, "Sec-WebSocket-Accept does not match our key"),
            Subprotocol(None) => write!(f, "the server chose no subprotocol"),
            Subprotocol(Some(p)) => write!(f, "the server chose subprotocol {p}"),
            Extension(e) => write!(f, "the server uses an extension we did not offer: {e}"),
            ClosedDuringUpgrade => write!(f, "the server closed the connection during the upgrade"),
            MaskedFrame => write!(f, "the server sent a masked frame"),
            ReservedBits => write!(f, "a frame has reserved bits set"),
            TextFrame => write!(f, "the server sent a text frame"),
            BadOpcode(code) => write!(f, "unknown opcode {code}"),
            UnexpectedContinuation => write!(f, "a continuation frame without a message"),
            ExpectedContinuation => write!(f, "a new message before the last one ended"),
            BadControlFrame => write!(f, "a fragmented or oversized control frame"),
            LengthTooLarge(n) => write!(f, "a frame length of {n} bytes"),
            Closed(Some(code), reason) => {
                write!(f, "the server closed the connection ({code} {reason})")
            }
            Closed(None, _) => write!(f, "the server closed the connection"),
        }
    }
}

impl std::error::Error for WebSocketError {}

/// One WebSocket connection's state.
#[derive(Debug)]
pub struct WebSocket {
    /// Present until the server has accepted the upgrade.
    handshake: Option<Handshake>,
    reader: FrameReader,
    /// Bytes for the server, `output[sent..]` still to go: the request, then frames.
    output: Vec<u8>,
    sent: usize,
    /// Frames written before the upgrade was accepted.
    early: Vec<u8>,
    /// Set by the server's close frame: what the next `receive` reports.
    closed: Option<WebSocketError>,
}

impl WebSocket {
    /// Starts the upgrade to `host`:`port`; the request waits in `output()`.
    pub fn start(upgrade: &Upgrade, host: &str, port: u16) -> WebSocket {
        let mut output = Vec::new();
        let handshake = Handshake::start(upgrade, host, port, &mut output);
        WebSocket {
            handshake: Some(handshake),
            reader: FrameReader::default(),
            output,
            sent: 0,
            early: Vec::new(),
            closed: None,
        }
    }

    /// Whether the server has accepted the upgrade.
    pub fn is_upgraded(&self) -> bool {
        self.handshake.is_none()
    }

    /// Bytes to send now.
    pub fn output(&self) -> &[u8] {
        &self.output[self.sent..]
    }

    /// `n` bytes of `output()` were sent.
    pub fn consumed(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.output.len());
        if self.sent == self.output.len() {
            self.output.clear();
            self.sent = 0;
            if self.output.capacity() > COMPACT_AT {
                self.output = Vec::new();
            }
        } else if self.sent >= COMPACT_AT {
            self.output.drain(..self.sent);
            self.sent = 0;
        }
    }

    /// Sends all of `bufs` as one binary frame (held until the upgrade is accepted).
    pub fn send(&mut self, bufs: &[IoSlice<'_>]) {
        let out = if self.is_upgraded() {
            &mut self.output
        } else {
            &mut self.early
        };
        websocket_frame::write_binary(out, bufs);
    }

    /// `buf` arrived from the server: moves the MQTT bytes in it to its front
    /// and returns how many there are. Queues the answers to pings and to a
    /// close. After the server's close, the payload before it is returned
    /// first, and the next call (or this one, when there was none) fails.
    pub fn receive(&mut self, buf: &mut [u8]) -> Result<usize, WebSocketError> {
        if let Some(closed) = &self.closed {
            return Err(closed.clone());
        }
        let mut from = 0;
        if let Some(handshake) = &mut self.handshake {
            match handshake.feed(buf)? {
                None => return Ok(0),
                Some(end) => {
                    from = end;
                    self.handshake = None;
                    let early = std::mem::take(&mut self.early);
                    self.output.extend_from_slice(&early);
                }
            }
        }
        let mut controls = Vec::new();
        let n = self
            .reader
            .unframe(buf, from, |control| controls.push(control))?;
        for control in controls {
            self.answer(control);
        }
        match &self.closed {
            Some(closed) if n == 0 => Err(closed.clone()),
            _ => Ok(n),
        }
    }

    /// The server's close, once received: reads report it (after the MQTT
    /// bytes that came before it).
    pub fn close_received(&self) -> Option<WebSocketError> {
        self.closed.clone()
    }

    /// Whether the server's close frame arrived (its report is pending or given).
    pub fn is_closed_by_server(&self) -> bool {
        self.closed.is_some()
    }

    /// What a read that found the connection closed reports.
    pub fn end_of_stream(&self) -> Option<WebSocketError> {
        if !self.is_upgraded() {
            return Some(WebSocketError::ClosedDuringUpgrade);
        }
        self.closed.clone()
    }

    /// Queues a close frame, when the connection is up and not closing already.
    pub fn close(&mut self) {
        if self.is_upgraded() && self.closed.is_none() {
            websocket_frame::write_control(
                &mut self.output,
                Control::Close,
                &NORMAL_CLOSE.to_be_bytes(),
            );
        }
    }

    fn answer(&mut self, control: ControlFrame) {
        match control {
            ControlFrame::Ping(payload) => {
                websocket_frame::write_control(&mut self.output, Control::Pong, &payload);
            }
            ControlFrame::Close(code, reason) => {
                // Echo the status code, as RFC 6455 asks.
                let echo = code.map(u16::to_be_bytes);
                let payload: &[u8] = echo.as_ref().map_or(&[], |c| c.as_slice());
                websocket_frame::write_control(&mut self.output, Control::Close, payload);
                self.closed = Some(WebSocketError::Closed(code, reason));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::handshake::derive_accept_key;

    fn upgrade() -> Upgrade {
        Upgrade {
            path: "/mqtt".into(),
            header_size: 4096,
            subprotocol: "mqtt",
        }
    }

    /// The server's 101 for the request in `ws.output()`.
    fn accept_for(ws: &WebSocket) -> Vec<u8> {
        let request = String::from_utf8_lossy(ws.output()).into_owned();
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n",
            derive_accept_key(key.as_bytes())
        )
        .into_bytes()
    }

    #[test]
    fn mqtt_bytes_written_during_the_upgrade_wait_for_the_servers_answer() {
        let mut ws = WebSocket::start(&upgrade(), "h", 1);
        ws.send(&[IoSlice::new(b"\x10\x00")]);
        let request_len = ws.output().len();
        assert!(ws.output().starts_with(b"GET /mqtt HTTP/1.1\r\n"));
        let mut answer = accept_for(&ws);
        ws.consumed(request_len);
        assert!(ws.output().is_empty(), "no frame before the 101");
        answer.extend_from_slice(&[0x82, 2, 0x20, 0x02]);
        assert_eq!(ws.receive(&mut answer), Ok(2));
        assert_eq!(&answer[..2], &[0x20, 0x02]);
        assert!(ws.is_upgraded());
        assert_eq!(ws.output()[0], 0x82, "the held frame follows");
    }

    #[test]
    fn a_ping_is_answered_and_a_close_is_echoed_then_reported() {
        let mut ws = WebSocket::start(&upgrade(), "h", 1);
        let mut answer = accept_for(&ws);
        let len = ws.output().len();
        ws.consumed(len);
        answer.extend_from_slice(&[0x89, 1, b'p', 0x82, 1, 0xC0, 0x88, 2, 0x03, 0xE9]);
        assert_eq!(ws.receive(&mut answer), Ok(1));
        let out = ws.output().to_vec();
        assert_eq!(out[0], 0x8A, "a pong");
        assert_eq!(out[1], 0x81, "masked, one byte");
        assert_eq!(out[2 + 4] ^ out[2], b'p');
        assert_eq!(out[7], 0x88, "then the close answer");
        assert_eq!(
            ws.receive(&mut [0x82, 0]),
            Err(WebSocketError::Closed(Some(1001), String::new()))
        );
        assert_eq!(
            WebSocketError::Closed(None, String::new()).into_error(),
            Error::ConnLost
        );
    }

    #[test]
    fn a_connection_closed_during_the_upgrade_is_reported_as_such() {
        let ws = WebSocket::start(&upgrade(), "h", 1);
        assert_eq!(
            ws.end_of_stream(),
            Some(WebSocketError::ClosedDuringUpgrade)
        );
    }
}
