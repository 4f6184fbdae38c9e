//! A request made from a callback must reach the socket promptly. A publish
//! from a callback of the client's own loop wakes no one (that loop writes once
//! the callbacks return); one made from any other thread, including a callback
//! of another client's loop, must wake the `loop_start` thread, which may be
//! asleep in `poll`: the `loop_start` thread waits up to 1 s at a time, so each
//! test publishes about 200 ms into such a wait and wants the packet within
//! `PROMPT`, long before the wait would end by itself.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use mosquitto::client::dispatch::{Notice, Work};
use mosquitto::client::{Client, Target};

const CONNACK_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
/// Far longer than any test waits, so keepalive never wakes the loop.
const KEEPALIVE: i32 = 600;
/// How soon a packet must arrive: a loop that was not woken would take up to
/// 800 ms more.
const PROMPT: Duration = Duration::from_millis(400);

/// A peer that answers CONNECT and reports the type of each later packet.
fn peer() -> (u16, mpsc::Receiver<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (mut s, _): (TcpStream, _) = listener.accept().unwrap();
        let mut first = true;
        loop {
            let mut header = [0u8; 2];
            if s.read_exact(&mut header).is_err() {
                return;
            }
            // Short packets only (remaining length under 128).
            let mut body = vec![0u8; usize::from(header[1])];
            if s.read_exact(&mut body).is_err() {
                return;
            }
            if first {
                first = false;
                s.write_all(&CONNACK_OK).unwrap();
            } else if tx.send(header[0] >> 4).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

fn started(id: &[u8], port: u16, on_start: impl FnOnce(&Arc<Client>)) -> Arc<Client> {
    let client = Arc::new(Client::new(Some(id), true, 0).unwrap());
    on_start(&client);
    let target = Target::new("127.0.0.1".into(), i32::from(port), KEEPALIVE, None).unwrap();
    client.connect(target, true).unwrap();
    client.loop_start().unwrap();
    client
}

fn expect_publishes(rx: &mpsc::Receiver<u8>, n: usize) {
    for i in 0..n {
        let kind = rx
            .recv_timeout(PROMPT)
            .unwrap_or_else(|_| panic!("PUBLISH {} of {n} never arrived", i + 1));
        assert_eq!(kind, 3, "packet type");
    }
}

#[test]
fn a_publish_from_another_clients_loop_callback_wakes_this_loop() {
    let (port, rx) = peer();
    let b = started(b"wake-b", port, |_| {});
    // Let B's loop settle into its long sleep.
    thread::sleep(Duration::from_millis(200));
    let a = Client::new(Some(b"wake-a"), true, 0).unwrap();
    let target = b.clone();
    a.set_callbacks(|cb| {
        cb.on_log = Some(Arc::new(move |_, _| {
            target.publish("t", b"x", 0, false, vec![]).unwrap();
        }))
    });
    // As A's network loop would call back: B must still be woken.
    let mut work = Work::new(true);
    work.notices.push(Notice::Log {
        level: 1,
        line: String::new(),
    });
    a.dispatch_from_loop(work);
    expect_publishes(&rx, 1);
    b.loop_stop(true).unwrap();
}

#[test]
fn a_publish_from_this_loops_on_connect_goes_out() {
    let (port, rx) = peer();
    let b = started(b"own-connect", port, |client| {
        let me = Arc::downgrade(client);
        client.set_callbacks(|cb| {
            cb.on_connect = Some(Arc::new(move |_| {
                if let Some(me) = me.upgrade() {
                    me.publish("t", b"hello", 1, false, vec![]).unwrap();
                }
            }))
        });
    });
    expect_publishes(&rx, 1);
    b.loop_stop(true).unwrap();
}

#[test]
fn a_chain_of_publishes_from_on_publish_goes_out() {
    const CHAIN: usize = 100;
    let (port, rx) = peer();
    let sent = Arc::new(AtomicUsize::new(0));
    let b = started(b"own-chain", port, |client| {
        let me = Arc::downgrade(client);
        let sent = sent.clone();
        client.set_callbacks(|cb| {
            cb.on_publish = Some(Arc::new(move |_| {
                if sent.fetch_add(1, Ordering::AcqRel) + 1 < CHAIN {
                    if let Some(me) = me.upgrade() {
                        me.publish("t", b"next", 0, false, vec![]).unwrap();
                    }
                }
            }))
        });
    });
    // Let the loop settle into its long sleep, then start the chain from here.
    thread::sleep(Duration::from_millis(200));
    b.publish("t", b"first", 0, false, vec![]).unwrap();
    expect_publishes(&rx, CHAIN);
    b.loop_stop(true).unwrap();
}

// A loop wakes only when a waker finds it waiting (see `WaitGate`): each of
// the ways another thread hands a loop work must still end its sleep at once.

#[test]
fn a_publish_from_the_program_wakes_a_loop_start_thread_asleep_in_poll() {
    let (port, rx) = peer();
    let b = started(b"program-publish", port, |_| {});
    for _ in 0..3 {
        // Let the loop settle into its long sleep each time.
        thread::sleep(Duration::from_millis(200));
        b.publish("t", b"x", 0, false, vec![]).unwrap();
        expect_publishes(&rx, 1);
    }
    b.loop_stop(true).unwrap();
}

/// A publish from the program to a `loop_start` client with nothing queued is
/// written by the program's thread at once, without the loop thread (here busy
/// in a callback); the next one before that thread's next pass waits for it,
/// so a flood is still written there in batches.
#[test]
fn a_publish_from_the_program_goes_out_at_once_while_the_loop_thread_is_busy() {
    let (port, rx) = peer();
    let (entered_tx, entered) = mpsc::channel();
    let (release_tx, release) = mpsc::channel::<()>();
    let release = std::sync::Mutex::new(release);
    let b = started(b"busy-loop", port, |client| {
        client.set_callbacks(|cb| {
            cb.on_connect = Some(Arc::new(move |_| {
                entered_tx.send(()).unwrap();
                let _ = release
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(10));
            }))
        });
    });
    entered.recv_timeout(Duration::from_secs(5)).unwrap();
    b.publish("t", b"first", 1, false, vec![]).unwrap();
    expect_publishes(&rx, 1);
    b.publish("t", b"second", 1, false, vec![]).unwrap();
    assert!(
        rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "the second waits for the loop thread"
    );
    release_tx.send(()).unwrap();
    expect_publishes(&rx, 1);
    b.loop_stop(true).unwrap();
}

#[test]
fn loop_stop_ends_a_loop_start_thread_asleep_in_poll_at_once() {
    let (port, _rx) = peer();
    let b = started(b"stop-asleep", port, |_| {});
    thread::sleep(Duration::from_millis(200));
    let asked = std::time::Instant::now();
    b.loop_stop(true).unwrap();
    assert!(asked.elapsed() < PROMPT, "took {:?}", asked.elapsed());
}

/// `loop_forever` on a thread of its own, the program's other thread calling
/// the API: the loop sleeps in `poll` for up to `timeout_ms` at a time.
fn looping_forever(
    id: &[u8],
    port: u16,
    timeout_ms: i32,
    threaded: bool,
) -> (Arc<Client>, mpsc::Receiver<()>) {
    let client = Arc::new(Client::new(Some(id), true, 0).unwrap());
    client.with_options(|o| o.threaded = threaded);
    let target = Target::new("127.0.0.1".into(), i32::from(port), KEEPALIVE, None).unwrap();
    client.connect(target, true).unwrap();
    let (done_tx, done) = mpsc::channel();
    let looper = client.clone();
    thread::spawn(move || {
        looper.loop_forever(timeout_ms, 1).unwrap();
        let _ = done_tx.send(());
    });
    (client, done)
}

#[test]
fn a_publish_from_another_thread_wakes_loop_forever_asleep_in_poll() {
    let (port, rx) = peer();
    let (client, done) = looping_forever(b"forever-publish", port, 5_000, true);
    thread::sleep(Duration::from_millis(200));
    client.publish("t", b"x", 0, false, vec![]).unwrap();
    expect_publishes(&rx, 1);
    client.disconnect(0, Vec::new()).unwrap();
    done.recv_timeout(PROMPT).expect("loop_forever ended");
}

#[test]
fn a_disconnect_from_another_thread_ends_loop_forever_asleep_in_poll_at_once() {
    for threaded in [false, true] {
        let (port, _rx) = peer();
        let (client, done) = looping_forever(b"forever-disconnect", port, 5_000, threaded);
        thread::sleep(Duration::from_millis(200));
        client.disconnect(0, Vec::new()).unwrap();
        done.recv_timeout(PROMPT)
            .unwrap_or_else(|_| panic!("loop_forever still sleeps (threaded {threaded})"));
    }
}
