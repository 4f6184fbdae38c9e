//! With many QoS 1 messages in flight, the loop lets acknowledgements gather
//! before reading them, so the messages they make room for leave together.
//! The peer here answers like mosquitto with `set_tcp_nodelay`: one PUBACK,
//! one write, for every PUBLISH. A loop that read each PUBACK as it came would
//! answer with one or two PUBLISHes per write, so one or two per TCP segment
//! (measured: 1.2 to 1.3), where gathering brings about eight.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mosquitto::client::{Client, Target};

const CONNACK_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const MESSAGES: usize = 20_000;
const WINDOW: i32 = 1000;
/// What a broker spends on each message besides reading and answering it, a
/// few times the client's own cost even in a debug build, so the client is
/// idle between acknowledgements as it is in front of mosquitto.
const BROKER_WORK: Duration = Duration::from_micros(10);

/// What the peer saw: how many TCP segments came, and how many PUBLISHes.
struct Seen {
    segments: u32,
    publishes: usize,
}

/// Answers CONNECT, then every QoS 1 PUBLISH with a PUBACK written on its own,
/// until `MESSAGES` have come.
fn peer() -> (u16, thread::JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut s, _): (TcpStream, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut publishes = 0;
        // Packet by packet, a read for each part, as mosquitto reads: the
        // PUBACKs leave one at a time, spaced by the work of reading.
        while publishes < MESSAGES {
            let (kind, body) = read_packet(&mut s)
                .unwrap_or_else(|| panic!("client closed after {publishes} PUBLISHes"));
            match kind {
                1 => s.write_all(&CONNACK_OK).unwrap(),
                3 => {
                    // Topic length, topic, then the packet identifier.
                    let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
                    let id = &body[2 + topic_len..4 + topic_len];
                    s.write_all(&[0x40, 0x02, id[0], id[1]]).unwrap();
                    publishes += 1;
                    work_for(BROKER_WORK);
                }
                other => panic!("unexpected packet type {other}"),
            }
        }
        Seen {
            segments: segments_in(&s),
            publishes,
        }
    });
    (port, handle)
}

/// How many TCP segments `s` has received, from the kernel's `TCP_INFO`.
fn segments_in(s: &TcpStream) -> u32 {
    use std::os::fd::AsRawFd;
    // SAFETY: all-zero bytes are a valid `tcp_info` (integers only).
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` and `len` are live and `len` is `info`'s size.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "getsockopt(TCP_INFO)");
    info.tcpi_segs_in
}

/// Busy for `time`, as a broker handling a message is.
fn work_for(time: Duration) {
    let until = Instant::now() + time;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// The next packet's type and body, or `None` when the client has closed.
fn read_packet(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut byte = [0u8; 1];
    s.read_exact(&mut byte).ok()?;
    let kind = byte[0] >> 4;
    let mut remaining = 0usize;
    for shift in (0..28).step_by(7) {
        s.read_exact(&mut byte).ok()?;
        remaining |= usize::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            break;
        }
    }
    let mut body = vec![0u8; remaining];
    s.read_exact(&mut body).ok()?;
    Some((kind, body))
}

#[test]
fn acknowledgements_gather_while_the_window_is_deep() {
    let (port, peer) = peer();
    let client = Client::new(Some(b"gather"), true, 0).unwrap();
    client.with_options(|o| o.set_send_maximum(WINDOW)).unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let counted = done.clone();
    client.set_callbacks(|cb| {
        cb.on_publish = Some(Arc::new(move |_| {
            counted.fetch_add(1, Ordering::AcqRel);
        }))
    });
    let target = Target::new("127.0.0.1".into(), i32::from(port), 60, None).unwrap();
    client.connect(target, true).unwrap();

    // As a program in loop mode would: publish while fewer than twice the
    // window are unacknowledged, otherwise run the loop.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut published = 0;
    while done.load(Ordering::Acquire) < MESSAGES {
        assert!(Instant::now() < deadline, "stuck at {published} published");
        if published < MESSAGES && published - done.load(Ordering::Acquire) < 2 * WINDOW as usize {
            client
                .publish("g", b"0123456789abcdef", 1, false, vec![])
                .unwrap();
            published += 1;
        } else {
            client.run_loop(10, 1).unwrap();
        }
    }
    let seen = peer.join().unwrap();
    assert_eq!(seen.publishes, MESSAGES);
    let per_segment = seen.publishes as f64 / f64::from(seen.segments);
    println!(
        "{} PUBLISHes in {} segments: {per_segment:.1} per segment",
        seen.publishes, seen.segments
    );
    assert!(
        per_segment >= 4.0,
        "only {per_segment:.1} PUBLISHes per segment"
    );
}
