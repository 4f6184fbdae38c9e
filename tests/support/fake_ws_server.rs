//! A scripted WebSocket server for one client connection, for tests that need
//! exact bytes (a wrong accept key, a refusal, frames cut and joined anyhow).
//! The script is a closure over a [`WsPeer`]; a failed expectation in it
//! panics, and [`FakeWsServer::finish`] reports that panic.
//!
//! ```ignore
//! let server = FakeWsServer::start(|peer| {
//!     let request = peer.read_request();
//!     peer.send(&upgrade_answer(&request));
//!     assert_eq!(peer.read_frame().payload, CONNECT);
//! });
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use tungstenite::handshake::derive_accept_key;

const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A frame the client sent, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFrame {
    /// The first header byte: FIN and the opcode.
    pub first: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

/// The server's side of the connection.
pub struct WsPeer {
    stream: TcpStream,
}

impl WsPeer {
    /// The client's upgrade request, through its blank line.
    pub fn read_request(&mut self) -> String {
        let mut request = Vec::new();
        while !request.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            self.stream
                .read_exact(&mut byte)
                .expect("the upgrade request");
            request.push(byte[0]);
        }
        String::from_utf8(request).unwrap()
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends `bytes` in pieces of `step`, pausing between them so each arrives
    /// in its own read.
    pub fn send_in_pieces(&mut self, bytes: &[u8], step: usize) {
        for piece in bytes.chunks(step) {
            self.send(piece);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The next frame from the client.
    pub fn read_frame(&mut self) -> ClientFrame {
        let head = self.read_exact(2);
        let length = match head[1] & 0x7F {
            126 => u16::from_be_bytes(self.read_exact(2).try_into().unwrap()) as usize,
            127 => u64::from_be_bytes(self.read_exact(8).try_into().unwrap()) as usize,
            n => n as usize,
        };
        let masked = head[1] & 0x80 != 0;
        let mask = if masked {
            self.read_exact(4)
        } else {
            vec![0; 4]
        };
        let payload = self
            .read_exact(length)
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        ClientFrame {
            first: head[0],
            masked,
            payload,
        }
    }

    /// Waits until the client closes the connection (reading what comes).
    pub fn expect_closed(&mut self) {
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
                Err(e) => panic!("the client did not close the connection: {e}"),
            }
        }
    }

    fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        self.stream
            .read_exact(&mut buf)
            .expect("bytes from the client");
        buf
    }
}

/// The `Sec-WebSocket-Key` of a request.
pub fn request_key(request: &str) -> &str {
    request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("a Sec-WebSocket-Key")
}

/// A 101 answer to `request`, with `extra` header lines (each ending in CRLF).
pub fn upgrade_answer_with(request: &str, accept: Option<&str>, extra: &str) -> Vec<u8> {
    let accept = accept
        .map(String::from)
        .unwrap_or_else(|| derive_accept_key(request_key(request).as_bytes()));
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// The right 101 answer to `request`, choosing the `mqtt` subprotocol.
pub fn upgrade_answer(request: &str) -> Vec<u8> {
    upgrade_answer_with(request, None, "Sec-WebSocket-Protocol: mqtt\r\n")
}

/// An unmasked server frame: FIN and `opcode`, holding `payload`.
pub fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// A binary frame.
pub fn binary(payload: &[u8]) -> Vec<u8> {
    frame(0x2, payload)
}

/// The header of a final binary frame announcing `length` payload bytes, in the
/// 64-bit length form (whatever the length).
pub fn binary_header(length: u64) -> Vec<u8> {
    let mut header = vec![0x82, 127];
    header.extend_from_slice(&length.to_be_bytes());
    header
}

/// A server for one connection on 127.0.0.1, running its script on a thread.
pub struct FakeWsServer {
    pub port: u16,
    thread: Option<JoinHandle<()>>,
}

impl FakeWsServer {
    pub fn start(script: impl FnOnce(&mut WsPeer) + Send + 'static) -> FakeWsServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let thread = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            stream.set_nodelay(true).unwrap();
            script(&mut WsPeer { stream });
        });
        FakeWsServer {
            port,
            thread: Some(thread),
        }
    }

    /// Waits for the script; fails the test if it panicked.
    pub fn finish(mut self) {
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                panic!("the fake WebSocket server's script failed (see its panic above)");
            }
        }
    }
}
