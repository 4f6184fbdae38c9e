//! skeeter's persistence (`skeeter_persistence_set`) against a real mosquitto:
//! messages a client accepted and had not finished when its process ended are
//! sent again by the next process on the same directory, with their own ids; a
//! directory in use is refused. Ours only (libmosquitto has no persistence).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use mosquitto::client::{Client, Target};
use mosquitto::error::Error;
use support::broker::Broker;
use support::publisher::wait_until;
use support::stage::{against_debian, Scratch};

type Heard = Arc<Mutex<Vec<String>>>;

fn target(broker: &Broker) -> Target {
    Target::new("127.0.0.1".into(), i32::from(broker.port), 60, None).unwrap()
}

/// A subscriber to `p/#` on its loop thread, recording payloads.
fn subscriber(broker: &Broker) -> (Arc<Client>, Heard) {
    let client = Arc::new(Client::new(Some(b"persist-sub"), true, 0).unwrap());
    let heard: Heard = Arc::default();
    let (record, subscribed) = (heard.clone(), Arc::new(AtomicUsize::new(0)));
    let acked = subscribed.clone();
    client.set_callbacks(|cb| {
        cb.on_message = Some(Arc::new(move |m| {
            let text = String::from_utf8_lossy(&m.payload).into_owned();
            record.lock().unwrap().push(text)
        }));
        cb.on_subscribe = Some(Arc::new(move |_, _| {
            acked.fetch_add(1, Ordering::SeqCst);
        }));
    });
    client.connect(target(broker), true).unwrap();
    client.loop_start().unwrap();
    wait_until(10, "the subscriber did not connect", || {
        client.with_state(|s| s.stats().connected_since.is_some())
    });
    client
        .subscribe(vec![("p/#".into(), 2)], Vec::new())
        .unwrap();
    wait_until(10, "no SUBACK", || subscribed.load(Ordering::SeqCst) > 0);
    (client, heard)
}

/// A publisher with persistence in `dir`, clean session false, counting
/// `on_publish`.
fn publisher(dir: &std::path::Path) -> (Arc<Client>, Arc<AtomicUsize>) {
    let client = Arc::new(Client::new(Some(b"persist-pub"), false, 0).unwrap());
    client.set_persistence(dir).unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let count = done.clone();
    client.set_callbacks(|cb| {
        cb.on_publish = Some(Arc::new(move |_| {
            count.fetch_add(1, Ordering::SeqCst);
        }))
    });
    (client, done)
}

#[test]
fn messages_unfinished_when_a_process_ends_are_sent_by_the_next_one_on_the_same_directory() {
    if against_debian() {
        return;
    }
    let dir = Scratch::new("persist-restart");
    let mut broker = Broker::start();
    let (first, _) = publisher(dir.path());
    first.connect(target(&broker), true).unwrap();
    first.loop_start().unwrap();
    wait_until(10, "the publisher did not connect", || {
        first.with_state(|s| s.stats().connected_since.is_some())
    });
    broker.stop();
    wait_until(5, "the publisher did not notice", || {
        first.with_state(|s| s.stats().connected_since.is_none())
    });
    for n in 0..20 {
        let qos = 1 + (n % 2);
        first
            .publish("p/x", format!("m{n}").as_bytes(), qos, false, Vec::new())
            .unwrap();
    }
    // The process "ends": nothing more is written, the lock goes with it.
    first.loop_stop(true).unwrap();
    drop(first);

    broker.restart();
    let (sub, heard) = subscriber(&broker);
    let (second, done) = publisher(dir.path());
    second.connect(target(&broker), true).unwrap();
    second.loop_start().unwrap();
    wait_until(15, "the restored messages did not arrive", || {
        heard.lock().unwrap().len() >= 20
    });
    wait_until(10, "on_publish was not called for each", || {
        done.load(Ordering::SeqCst) >= 20
    });
    thread::sleep(Duration::from_millis(300));
    let mut got = heard.lock().unwrap().clone();
    got.sort();
    let mut expected: Vec<String> = (0..20).map(|n| format!("m{n}")).collect();
    expected.sort();
    assert_eq!(got, expected, "each once");
    assert_eq!(second.with_state(|s| s.stats().in_flight_out), 0);
    second.loop_stop(true).unwrap();
    drop(second);

    // Everything finished: a third process has nothing to send.
    let (third, done) = publisher(dir.path());
    third.connect(target(&broker), true).unwrap();
    third.loop_start().unwrap();
    thread::sleep(Duration::from_millis(500));
    assert_eq!(done.load(Ordering::SeqCst), 0);
    assert_eq!(heard.lock().unwrap().len(), 20);
    third.loop_stop(true).unwrap();
    sub.loop_stop(true).unwrap();
}

#[test]
fn a_directory_in_use_by_another_client_is_refused_with_a_log_line() {
    if against_debian() {
        return;
    }
    let dir = Scratch::new("persist-locked");
    let (_holder, _) = publisher(dir.path());
    let other = Client::new(Some(b"other"), false, 0).unwrap();
    let lines: Heard = Arc::default();
    let log = lines.clone();
    other.set_callbacks(|cb| {
        cb.on_log = Some(Arc::new(move |_, line| {
            log.lock().unwrap().push(line.to_owned())
        }))
    });
    assert_eq!(other.set_persistence(dir.path()), Err(Error::Inval));
    assert!(lines
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("in use by another client")));
}
