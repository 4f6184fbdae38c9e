//! Bounded memory with `loop_start`: a thread that publishes faster than the
//! socket drains waits once `QUEUE_HIGH` bytes are queued, instead of queueing
//! without bound, and every publish still succeeds.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mosquitto::client::actions::QUEUE_HIGH;
use mosquitto::client::{Client, Target};

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

fn queued(client: &Client) -> usize {
    client.lock().conn.as_ref().map_or(0, |c| c.queued_bytes())
}

/// Connects `client` to the broker on `port` and starts its loop thread.
fn start(client: &Arc<Client>, port: u16) {
    let target = Target::new("127.0.0.1".into(), i32::from(port), 60, None).unwrap();
    client.connect(target, true).unwrap();
    client.loop_start().unwrap();
}

/// Polls `done` until it holds; fails with `what` after `seconds`.
fn wait_until(seconds: u64, what: &str, done: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(seconds);
    while !done() {
        assert!(Instant::now() < until, "{what}");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_publisher_outrunning_the_socket_waits_instead_of_queueing_without_bound() {
    let broker = StalledBroker::start();
    let client = Arc::new(Client::new(Some(b"bp"), true, 0).unwrap());
    let connected = Arc::new(AtomicBool::new(false));
    let published = Arc::new(AtomicUsize::new(0));
    let (c, p) = (connected.clone(), published.clone());
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |rc| c.store(rc == 0, Ordering::Release)));
        cb.on_publish = Some(Arc::new(move |_| {
            p.fetch_add(1, Ordering::AcqRel);
        }));
    });
    start(&client, broker.port);
    wait_until(5, "no CONNACK", || connected.load(Ordering::Acquire));

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
    // 20 MiB of messages cannot pass a broker that reads nothing: the
    // publisher must stop with about QUEUE_HIGH queued (plus what the kernel's
    // socket buffers hold), not with everything queued.
    thread::sleep(Duration::from_millis(500));
    let stalled_at = calls.load(Ordering::Acquire);
    assert!(stalled_at < MESSAGES, "publisher never waited");
    assert!(
        queued(&client) <= QUEUE_HIGH + SIZE + 16,
        "{} bytes queued",
        queued(&client)
    );
    thread::sleep(Duration::from_millis(200));
    assert_eq!(
        calls.load(Ordering::Acquire),
        stalled_at,
        "still publishing"
    );

    // Once the broker reads, every publish returns and every message is written.
    broker.read_all.store(true, Ordering::Release);
    publisher.join().unwrap();
    wait_until(10, "not all messages were written", || {
        published.load(Ordering::Acquire) >= MESSAGES
    });
    client.disconnect(0, vec![]).unwrap();
    client.loop_stop(false).unwrap();
    let received = broker.reader.join().unwrap();
    // Each message: fixed header (3 bytes), topic (3 bytes), payload.
    assert!(received >= MESSAGES * (SIZE + 6), "{received} bytes read");
}

#[test]
fn a_waiting_publisher_returns_when_the_loop_is_stopped() {
    let broker = StalledBroker::start();
    let client = Arc::new(Client::new(Some(b"bp2"), true, 0).unwrap());
    let connected = Arc::new(AtomicBool::new(false));
    let c = connected.clone();
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |rc| c.store(rc == 0, Ordering::Release)));
    });
    start(&client, broker.port);
    wait_until(5, "no CONNACK", || connected.load(Ordering::Acquire));
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
