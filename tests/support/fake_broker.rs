//! A scripted MQTT broker stand-in for tests: it listens on 127.0.0.1 at a port
//! the kernel picks, accepts a connection, and plays a script of byte-level
//! steps against it in its own thread. It knows only the MQTT fixed header
//! (enough to find where a packet ends), never the codec under test, so a codec
//! bug cannot hide itself.
//!
//! ```ignore
//! let broker = FakeBroker::script()
//!     .expect_packet_type(packet::CONNECT)
//!     .send(&[0x20, 0x02, 0x00, 0x00])
//!     .expect(&[0xe0, 0x00])
//!     .expect_closed()
//!     .start();
//! // ... point the client at broker.port() ...
//! let transcript = broker.finish(); // panics with the step that failed
//! ```

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Packet type values (the high nibble of the first byte).
pub mod packet {
    pub const CONNECT: u8 = 1;
    pub const CONNACK: u8 = 2;
    pub const PUBLISH: u8 = 3;
    pub const PUBACK: u8 = 4;
    pub const PUBREC: u8 = 5;
    pub const PUBREL: u8 = 6;
    pub const PUBCOMP: u8 = 7;
    pub const SUBSCRIBE: u8 = 8;
    pub const SUBACK: u8 = 9;
    pub const UNSUBSCRIBE: u8 = 10;
    pub const UNSUBACK: u8 = 11;
    pub const PINGREQ: u8 = 12;
    pub const PINGRESP: u8 = 13;
    pub const DISCONNECT: u8 = 14;
    pub const AUTH: u8 = 15;
}

/// How long a step that waits for the client may wait, unless changed with `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the script's first accept waits: the program's start, under valgrind
/// on a loaded machine, can take longer than any later step.
const FIRST_ACCEPT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
enum Step {
    /// Close the current connection (if any) and accept the next one.
    Accept,
    /// Read exactly these bytes.
    Expect(Vec<u8>),
    /// Read one whole packet and check its type (and, if given, its first bytes).
    ExpectPacket {
        packet_type: Option<u8>,
        prefix: Vec<u8>,
    },
    Send(Vec<u8>),
    Sleep(Duration),
    /// Close our end.
    Close,
    /// Wait for the client to close its end, failing if it sends anything.
    ExpectClosed,
    /// Change how long the following steps wait.
    Timeout(Duration),
    /// Fail if the client sends anything within this time.
    ExpectSilence(Duration),
    /// Read whatever the client sends until it closes its end; recorded as one entry.
    DrainUntilClosed,
}

/// A script under construction. `start` runs it.
#[derive(Debug, Clone)]
pub struct Script {
    steps: Vec<Step>,
}

/// What the broker read, one entry per expect step, for checks the script cannot
/// express (a generated client id, say).
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    pub received: Vec<Vec<u8>>,
}

/// A running fake broker.
pub struct FakeBroker {
    addr: SocketAddr,
    thread: Option<JoinHandle<Result<Transcript, String>>>,
}

impl FakeBroker {
    /// A new script that starts by accepting the first connection.
    pub fn script() -> Script {
        Script {
            steps: vec![Step::Accept],
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether the script has ended (passed or failed), without waiting.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Waits for the script to end and returns what was read; panics with the
    /// failing step's report.
    pub fn finish(mut self) -> Transcript {
        match self.join() {
            Ok(t) => t,
            Err(report) => panic!("fake broker: {report}"),
        }
    }

    /// Waits for the script to end; the failing step's report as an error.
    pub fn join(&mut self) -> Result<Transcript, String> {
        let thread = self.thread.take().expect("fake broker already joined");
        thread
            .join()
            .unwrap_or_else(|_| Err("script thread panicked".into()))
    }
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        // A test that forgot `finish` still must not pass silently over a failure,
        // unless it is already panicking for another reason.
        if self.thread.is_some() && !std::thread::panicking() {
            if let Err(report) = self.join() {
                panic!("fake broker: {report}");
            }
        }
    }
}

impl Script {
    /// Expects exactly `bytes` next from the client.
    pub fn expect(mut self, bytes: &[u8]) -> Self {
        self.steps.push(Step::Expect(bytes.to_vec()));
        self
    }

    /// Expects one whole packet of this type (see `packet`), any contents.
    pub fn expect_packet_type(mut self, packet_type: u8) -> Self {
        self.steps.push(Step::ExpectPacket {
            packet_type: Some(packet_type),
            prefix: Vec::new(),
        });
        self
    }

    /// Expects one whole packet whose bytes begin with `prefix` (fixed header
    /// included); the rest may vary.
    pub fn expect_packet_starting_with(mut self, prefix: &[u8]) -> Self {
        self.steps.push(Step::ExpectPacket {
            packet_type: None,
            prefix: prefix.to_vec(),
        });
        self
    }

    /// Expects one whole packet of any type and length.
    pub fn expect_any_packet(mut self) -> Self {
        self.steps.push(Step::ExpectPacket {
            packet_type: None,
            prefix: Vec::new(),
        });
        self
    }

    pub fn send(mut self, bytes: &[u8]) -> Self {
        self.steps.push(Step::Send(bytes.to_vec()));
        self
    }

    pub fn sleep(mut self, duration: Duration) -> Self {
        self.steps.push(Step::Sleep(duration));
        self
    }

    pub fn close(mut self) -> Self {
        self.steps.push(Step::Close);
        self
    }

    pub fn expect_closed(mut self) -> Self {
        self.steps.push(Step::ExpectClosed);
        self
    }

    /// Closes the current connection and waits for the client to connect again.
    pub fn accept(mut self) -> Self {
        self.steps.push(Step::Accept);
        self
    }

    /// Expects the client to send nothing for `duration` (the connection may stay open
    /// or be closed by the client).
    pub fn expect_silence(mut self, duration: Duration) -> Self {
        self.steps.push(Step::ExpectSilence(duration));
        self
    }

    /// Reads everything the client sends until it closes its end (within the
    /// timeout), and records it as one transcript entry, for a test that accepts more
    /// than one right answer.
    pub fn drain_until_closed(mut self) -> Self {
        self.steps.push(Step::DrainUntilClosed);
        self
    }

    /// How long later steps wait for the client (default `DEFAULT_TIMEOUT`).
    pub fn timeout(mut self, duration: Duration) -> Self {
        self.steps.push(Step::Timeout(duration));
        self
    }

    /// Binds 127.0.0.1:0 and runs the script in a new thread.
    pub fn start(self) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let thread = std::thread::Builder::new()
            .name("fake-broker".into())
            .spawn(move || run(listener, self.steps))
            .expect("spawn fake broker");
        FakeBroker {
            addr,
            thread: Some(thread),
        }
    }
}

fn run(listener: TcpListener, steps: Vec<Step>) -> Result<Transcript, String> {
    let mut transcript = Transcript::default();
    let mut conn: Option<TcpStream> = None;
    let mut timeout = DEFAULT_TIMEOUT;
    for (index, step) in steps.iter().enumerate() {
        let report = |what: String| format!("step {index} ({}): {what}", describe(step));
        match step {
            Step::Accept => {
                drop(conn.take());
                let wait = if index == 0 {
                    timeout.max(FIRST_ACCEPT_TIMEOUT)
                } else {
                    timeout
                };
                conn = Some(accept(&listener, wait).map_err(report)?);
            }
            Step::Timeout(t) => timeout = *t,
            Step::Sleep(d) => std::thread::sleep(*d),
            Step::Close => drop(conn.take()),
            step => {
                let stream = conn
                    .as_mut()
                    .ok_or_else(|| report("no open connection".into()))?;
                stream
                    .set_read_timeout(Some(timeout))
                    .map_err(|e| report(e.to_string()))?;
                match step {
                    Step::Expect(want) => {
                        let got = read_exact(stream, want.len()).map_err(report)?;
                        if &got != want {
                            return Err(report(hex_diff(want, &got)));
                        }
                        transcript.received.push(got);
                    }
                    Step::ExpectPacket {
                        packet_type,
                        prefix,
                    } => {
                        let got = read_packet(stream).map_err(report)?;
                        if let Some(t) = packet_type {
                            if got[0] >> 4 != *t {
                                let what = format!(
                                    "packet type {} instead of {t}: {}",
                                    got[0] >> 4,
                                    hex(&got)
                                );
                                return Err(report(what));
                            }
                        }
                        if !got.starts_with(prefix) {
                            return Err(report(hex_diff(
                                prefix,
                                &got[..prefix.len().min(got.len())],
                            )));
                        }
                        transcript.received.push(got);
                    }
                    Step::Send(bytes) => {
                        stream.write_all(bytes).map_err(|e| report(e.to_string()))?
                    }
                    Step::ExpectClosed => expect_closed(stream).map_err(report)?,
                    Step::ExpectSilence(d) => expect_silence(stream, *d).map_err(report)?,
                    Step::DrainUntilClosed => transcript
                        .received
                        .push(drain(stream, timeout).map_err(report)?),
                    _ => unreachable!("handled above"),
                }
            }
        }
    }
    Ok(transcript)
}

fn accept(listener: &TcpListener, timeout: Duration) -> Result<TcpStream, String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).map_err(|e| e.to_string())?;
                stream.set_nodelay(true).map_err(|e| e.to_string())?;
                return Ok(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(format!("no connection within {timeout:?}"));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn read_exact(stream: &mut TcpStream, len: usize) -> Result<Vec<u8>, String> {
    let mut got = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match stream.read(&mut got[filled..]) {
            Ok(0) => {
                return Err(format!(
                    "connection closed after {filled} of {len} bytes: {}",
                    hex(&got[..filled])
                ))
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                return Err(format!(
                    "timed out after {filled} of {len} bytes: {}",
                    hex(&got[..filled])
                ))
            }
            Err(e) => return Err(format!("read failed after {filled} of {len} bytes: {e}")),
        }
    }
    Ok(got)
}

/// Reads one packet: the first byte, the remaining length (a variable byte
/// integer of at most four bytes), then that many bytes.
fn read_packet(stream: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut packet = read_exact(stream, 1)?;
    let mut remaining: usize = 0;
    for shift in (0..4).map(|i| 7 * i) {
        let byte = read_exact(stream, 1)?[0];
        packet.push(byte);
        remaining |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            packet.extend(read_exact(stream, remaining)?);
            return Ok(packet);
        }
    }
    Err(format!(
        "remaining length longer than four bytes: {}",
        hex(&packet)
    ))
}

fn expect_closed(stream: &mut TcpStream) -> Result<(), String> {
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => return Err(format!("received instead of a close: {}", hex(&buf[..n]))),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Err("the client kept the connection open".into()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn expect_silence(stream: &mut TcpStream, duration: Duration) -> Result<(), String> {
    let deadline = Instant::now() + duration;
    let mut buf = [0u8; 256];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            // Closed: nothing more can come.
            Ok(0) => return Ok(()),
            Ok(n) => return Err(format!("received during the silence: {}", hex(&buf[..n]))),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn drain(stream: &mut TcpStream, timeout: Duration) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "the client kept the connection open; received: {}",
                hex(&got)
            ));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                // A client that floods is not closing: stop at a bound.
                if got.len() > 1 << 20 {
                    return Err(format!("received over 1 MiB: {}", hex(&got[..64])));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(got),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn describe(step: &Step) -> String {
    match step {
        Step::Accept => "accept".into(),
        Step::Expect(b) => format!("expect {}", hex(b)),
        Step::ExpectPacket {
            packet_type: Some(t),
            ..
        } => format!("expect a packet of type {t}"),
        Step::ExpectPacket { prefix, .. } if !prefix.is_empty() => {
            format!("expect a packet starting {}", hex(prefix))
        }
        Step::ExpectPacket { .. } => "expect any packet".into(),
        Step::Send(b) => format!("send {}", hex(b)),
        Step::Sleep(d) => format!("sleep {d:?}"),
        Step::Close => "close".into(),
        Step::ExpectClosed => "expect the client to close".into(),
        Step::Timeout(d) => format!("timeout {d:?}"),
        Step::ExpectSilence(d) => format!("expect silence for {d:?}"),
        Step::DrainUntilClosed => "read until the client closes".into(),
    }
}

/// Bytes as spaced lowercase hex: "10 0c 00 04".
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A report of where `got` first differs from `want`.
pub fn hex_diff(want: &[u8], got: &[u8]) -> String {
    let at = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    format!(
        "bytes differ at offset {at}\n  expected: {}\n  received: {}",
        hex(want),
        hex(got)
    )
}
