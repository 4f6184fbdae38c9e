//! Bounded memory with `loop_start`: a thread that publishes faster than the
//! socket drains waits once `QUEUE_HIGH` bytes are queued, instead of queueing
//! without bound, and every publish still succeeds; over TLS too.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mosquitto::client::actions::QUEUE_HIGH;
use mosquitto::client::{Client, Target};

mod support;
use support::broker::Broker;
use support::own_loop::loop_until;
use support::publisher::{counting_client, wait_until, Publisher};
use support::tls::cert_file;

const CONNACK_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const MESSAGES: usize = 20_000;
const SIZE: usize = 1024;

/// A broker that answers CONNECT and then reads nothing until told to.
struct StalledBroker {
    port: u16,
    read_all: Arc<AtomicBool>,
    reader: thread::JoinHandle<usize>,
}

impl StalledBroker {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let read_all = Arc::new(AtomicBool::new(false));
        let go = read_all.clone();
        let reader = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut header = [0u8; 2];
            stream.read_exact(&mut header).unwrap();
            let mut connect = vec![0u8; usize::from(header[1])];
            stream.read_exact(&mut connect).unwrap();
            stream.write_all(&CONNACK_OK).unwrap();
            while !go.load(Ordering::Acquire) {
                thread::sleep(Duration::from_millis(5));
            }
            drain(stream)
        });
        StalledBroker {
            port,
            read_all,
            reader,
        }
    }
}

/// Reads until the client closes; returns the byte count.
fn drain(mut stream: TcpStream) -> usize {
    let mut total = 0;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

/// Bytes not yet handed to the socket: the queue and a batch being written.
fn waiting(client: &Client) -> usize {
    client.lock().conn.as_ref().map_or(0, |c| c.waiting_bytes())
}

#[test]
fn a_publisher_outrunning_the_socket_waits_instead_of_queueing_without_bound() {
    let broker = StalledBroker::start();
    let started = Publisher::start(b"bp", broker.port);
    outrun(&started, || broker.read_all.store(true, Ordering::Release));
    started.client.disconnect(0, vec![]).unwrap();
    started.client.loop_stop(false).unwrap();
    let received = broker.reader.join().unwrap();
    // Each message: fixed header (3 bytes), topic (3 bytes), payload.
    assert!(received >= MESSAGES * (SIZE + 6), "{received} bytes read");
}

#[test]
fn a_publisher_outrunning_a_stopped_tls_broker_waits_instead_of_queueing_without_bound() {
    // TLS records the socket did not take wait inside the library, unseen by the
    // queue's bound unless the tunnel refuses more while it holds them.
    let broker = Broker::builder().tls_listeners().start();
    let port = broker.tls.as_ref().unwrap().good;
    let started = Publisher::start_with(b"bp-tls", port, |client| {
        client.with_options(|o| o.tls.cafile = Some(cert_file("ca.pem")));
    });
    let pid = broker.pid().unwrap().to_string();
    signal("-STOP", &pid);
    outrun(&started, || signal("-CONT", &pid));
    started.client.disconnect(0, vec![]).unwrap();
    started.client.loop_stop(false).unwrap();
}

#[test]
fn in_the_programs_own_loop_a_stopped_tls_broker_leaves_publishes_queued_and_unreported() {
    // More than the kernel's socket buffers on both ends can hold.
    let messages = kernel_buffer_max() / SIZE + 10_000;
    let broker = Broker::builder().tls_listeners().start();
    let port = broker.tls.as_ref().unwrap().good;
    let (client, connected, reported) = counting_client(b"own-loop-tls");
    client.with_options(|o| o.tls.cafile = Some(cert_file("ca.pem")));
    let target = Target::new("127.0.0.1".into(), i32::from(port), 60, None).unwrap();
    client.connect(target, true).unwrap();
    loop_until(&client, || connected.load(Ordering::Acquire));
    let pid = broker.pid().unwrap().to_string();
    signal("-STOP", &pid);
    for i in 0..messages {
        client
            .publish("t", &[b'x'; SIZE], 0, false, vec![])
            .unwrap();
        if i % 100 == 99 {
            let _ = client.run_loop(0, 1);
        }
    }
    // What the socket did not take is queued, visible and not reported written.
    let written = reported.load(Ordering::Acquire);
    assert!(written < messages, "all {messages} reported written");
    assert!(
        waiting(&client) >= (messages - written - 1) * SIZE,
        "{} bytes waiting for {} unreported messages",
        waiting(&client),
        messages - written
    );
    signal("-CONT", &pid);
    let until = Instant::now() + Duration::from_secs(20);
    while reported.load(Ordering::Acquire) < messages {
        assert!(Instant::now() < until, "not all messages were written");
        let _ = client.run_loop(50, 1);
    }
}

/// The most a loopback connection's two socket buffers can hold, in bytes.
fn kernel_buffer_max() -> usize {
    ["tcp_wmem", "tcp_rmem"]
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}")).unwrap();
            text.split_whitespace()
                .nth(2)
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum()
}

fn signal(which: &str, pid: &str) {
    let status = Command::new("kill").args([which, pid]).status().unwrap();
    assert!(status.success(), "kill {which} {pid}");
}

/// Publishes 20 MiB from another thread to a peer that reads nothing: the
/// publisher must stop with at most QUEUE_HIGH queued behind a batch of at most
/// QUEUE_HIGH being written (plus what the kernel's socket buffers hold), not
/// with everything queued. Once `unstall` lets the peer read, every publish
/// returns and every message is written.
fn outrun(started: &Publisher, unstall: impl FnOnce()) {
    let client = started.client.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let publisher = {
        let (client, calls) = (client.clone(), calls.clone());
        thread::spawn(move || {
            for _ in 0..MESSAGES {
                client
                    .publish("t", &[b'x'; SIZE], 0, false, vec![])
                    .unwrap();
                calls.fetch_add(1, Ordering::AcqRel);
            }
        })
    };
    thread::sleep(Duration::from_millis(500));
    let stalled_at = calls.load(Ordering::Acquire);
    assert!(stalled_at < MESSAGES, "publisher never waited");
    assert!(
        waiting(&client) <= 2 * QUEUE_HIGH + SIZE + 16,
        "{} bytes waiting",
        waiting(&client)
    );
    thread::sleep(Duration::from_millis(200));
    assert_eq!(
        calls.load(Ordering::Acquire),
        stalled_at,
        "still publishing"
    );
    assert!(
        started.published() < MESSAGES,
        "every message reported written"
    );

    unstall();
    publisher.join().unwrap();
    wait_until(10, "not all messages were written", || {
        started.published() >= MESSAGES
    });
}

#[test]
fn a_waiting_publisher_returns_when_the_loop_is_stopped() {
    let broker = StalledBroker::start();
    let client = Publisher::start(b"bp2", broker.port).client;
    let done = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (client, done) = (client.clone(), done.clone());
        thread::spawn(move || {
            for _ in 0..MESSAGES {
                // After the loop stops, messages are only queued (never waited for).
                let _ = client.publish("t", &[b'x'; SIZE], 0, false, vec![]);
            }
            done.store(true, Ordering::Release);
        })
    };
    thread::sleep(Duration::from_millis(300));
    assert!(!done.load(Ordering::Acquire), "publisher never waited");
    // Forced: loop_stop(false) would first wait for the queue to drain, which a
    // broker that reads nothing never lets happen.
    client.loop_stop(true).unwrap();
    publisher.join().unwrap();
    assert!(done.load(Ordering::Acquire));
    broker.read_all.store(true, Ordering::Release);
    drop(client);
    let _ = broker.reader.join();
}
