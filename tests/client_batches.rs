//! With `loop_start`, the loop thread writes large batches of queued output
//! without the client lock while other threads go on publishing (see
//! `client::unlocked_write`). Whatever the timing, every message must reach the
//! broker once, whole, and in the order each thread published it; a broker that
//! stops reading for a while makes the socket refuse part of a batch, which must
//! then go out first.

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

mod support;
use support::publisher::{wait_until, Publisher};

const CONNACK_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const THREADS: usize = 4;
const PER_THREAD: usize = 25_000;
/// Padding that makes a few hundred messages fill a batch of tens of KiB.
const PAD: usize = 100;

/// What the broker saw: QoS 0 PUBLISH payloads `thread:seq:padding`, checked as
/// they arrive.
#[derive(Debug, Default)]
struct Seen {
    messages: usize,
    /// The next sequence number expected from each thread.
    next: HashMap<usize, usize>,
    errors: Vec<String>,
}

fn read_remaining_length(r: &mut impl Read) -> Option<usize> {
    let (mut value, mut shift) = (0usize, 0);
    loop {
        let mut byte = [0u8; 1];
        r.read_exact(&mut byte).ok()?;
        value |= usize::from(byte[0] & 127) << shift;
        if byte[0] & 128 == 0 {
            return Some(value);
        }
        shift += 7;
    }
}

/// Answers CONNECT, sleeps `stall` (so the client's socket fills up), then
/// reads and checks packets until the client closes.
fn broker(listener: TcpListener, stall: Duration) -> Seen {
    let (stream, _) = listener.accept().unwrap();
    let mut writer: TcpStream = stream.try_clone().unwrap();
    let mut r = BufReader::with_capacity(256 * 1024, stream);
    let mut seen = Seen::default();
    let mut first = true;
    loop {
        let mut kind = [0u8; 1];
        if r.read_exact(&mut kind).is_err() {
            return seen;
        }
        let Some(len) = read_remaining_length(&mut r) else {
            return seen;
        };
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            seen.errors.push("a packet cut short".into());
            return seen;
        }
        match kind[0] >> 4 {
            1 if first => {
                first = false;
                writer.write_all(&CONNACK_OK).unwrap();
                thread::sleep(stall);
            }
            3 => {
                let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
                let payload = String::from_utf8_lossy(&body[2 + topic_len..]).into_owned();
                let mut parts = payload.splitn(3, ':');
                let (Some(t), Some(s), Some(pad)) = (parts.next(), parts.next(), parts.next())
                else {
                    seen.errors.push(format!("bad payload {payload:?}"));
                    continue;
                };
                let (t, s): (usize, usize) = (t.parse().unwrap(), s.parse().unwrap());
                let next = seen.next.entry(t).or_insert(0);
                if s != *next || pad.len() != PAD {
                    seen.errors.push(format!(
                        "thread {t}: got {s} (pad {}), expected {next}",
                        pad.len()
                    ));
                }
                *next = s + 1;
                seen.messages += 1;
            }
            14 => return seen,
            other => seen.errors.push(format!("unexpected packet type {other}")),
        }
        if seen.errors.len() > 10 {
            return seen;
        }
    }
}

/// A listener whose connections have a small receive buffer, so the client's
/// socket refuses part of a large batch (the kernel's buffers would otherwise
/// take the whole burst).
fn small_window_listener() -> TcpListener {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(1).unwrap();
    socket.into()
}

fn publish_from_threads_and_check(stall: Duration) {
    let listener = small_window_listener();
    let port = listener.local_addr().unwrap().port();
    let reader = thread::spawn(move || broker(listener, stall));

    let started = Publisher::start(b"batches", port);
    let client = started.client.clone();

    let publishers: Vec<_> = (0..THREADS)
        .map(|t| {
            let client = client.clone();
            thread::spawn(move || {
                let pad = "p".repeat(PAD);
                for s in 0..PER_THREAD {
                    let payload = format!("{t}:{s}:{pad}");
                    client
                        .publish("batch/t", payload.as_bytes(), 0, false, vec![])
                        .unwrap();
                }
            })
        })
        .collect();
    for p in publishers {
        p.join().unwrap();
    }
    let total = THREADS * PER_THREAD;
    wait_until(30, "not every message was written", || {
        started.published() >= total
    });
    client.disconnect(0, vec![]).unwrap();
    client.loop_stop(false).unwrap();
    let seen = reader.join().unwrap();
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    assert_eq!(seen.messages, total);
    assert_eq!(started.published(), total, "on_publish count");
}

#[test]
fn messages_from_several_threads_arrive_once_and_in_order() {
    publish_from_threads_and_check(Duration::ZERO);
}

#[test]
fn a_batch_the_socket_takes_only_part_of_is_finished_first() {
    // While the broker sleeps, the socket fills and the loop's batches are cut
    // short; the rest must go out before anything queued meanwhile.
    publish_from_threads_and_check(Duration::from_millis(300));
}
