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
fn persisted_publishes_outside_loop_start_go_at_the_next_loop_call_and_complete() {
    if against_debian() {
        return;
    }
    let dir = Scratch::new("persist-direct");
    let broker = Broker::start();
    let (client, done) = publisher(dir.path());
    client.connect(target(&broker), true).unwrap();
    support::seen::loop_until(&client, || {
        client.with_state(|s| s.stats().connected_since.is_some())
    })
    .unwrap();
    for n in 0..50 {
        let qos = 1 + (n % 2);
        client
            .publish("p/direct", b"x", qos, false, Vec::new())
            .unwrap();
    }
    // Nothing was written yet: one sync for all fifty, at the next loop call.
    assert_eq!(client.with_state(|s| s.stats().bytes_unsent), 0);
    support::seen::loop_until(&client, || done.load(Ordering::SeqCst) == 50).unwrap();
    let log = std::fs::metadata(dir.path().join("log")).unwrap().len();
    assert!(log > 50 * 20, "every message was recorded ({log} bytes)");
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

// ---------------------------------------------------------------------------------
// The kill test: `cbindings-tests/persistence/publisher.c`, with persistence, is
// killed with SIGKILL at random points and started again each time; a subscriber
// counts what arrives. Small here; `make soak` runs the issue's size:
//
// ```sh
// SKEETER_PERSIST_MESSAGES=100000 SKEETER_PERSIST_KILLS=20 cargo test --release \
//     --test persistence -- --nocapture
// ```
//
// The program writes the next index to a file after each publish the library
// accepted; a kill between the two leaves one message (the index the file
// says) handed to the library but not recorded, which the next run publishes
// again under a new mid. That message alone may arrive twice, once per kill:
// such duplicates are the program's, counted apart, and any other QoS 2
// duplicate fails the test. The broker is not restarted, so it causes none.

use std::time::Instant;

use support::stage::{c_program, subject_command, Process};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// A small xorshift generator: the kill points are random but reproducible
/// from the seed printed (`SKEETER_PERSIST_SEED`).
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// How many times each index arrived, and on which QoS it came.
struct Counts {
    times: Vec<AtomicUsize>,
    wrong_qos: AtomicUsize,
}

fn counting_subscriber(broker: &Broker, tag: &str, total: usize) -> (Arc<Client>, Arc<Counts>) {
    let id = format!("persist-sub-{tag}");
    let client = Arc::new(Client::new(Some(id.as_bytes()), false, 0).unwrap());
    let counts = Arc::new(Counts {
        times: (0..total).map(|_| AtomicUsize::new(0)).collect(),
        wrong_qos: AtomicUsize::new(0),
    });
    let (seen, subscribed) = (counts.clone(), Arc::new(AtomicUsize::new(0)));
    let acked = subscribed.clone();
    client.set_callbacks(|cb| {
        cb.on_message = Some(Arc::new(move |m| {
            let text = String::from_utf8_lossy(&m.payload);
            let index: usize = text
                .split(' ')
                .next()
                .unwrap_or("")
                .parse()
                .unwrap_or(usize::MAX);
            if let Some(slot) = seen.times.get(index) {
                slot.fetch_add(1, Ordering::SeqCst);
                if usize::from(m.qos) != 1 + index % 2 {
                    seen.wrong_qos.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
        cb.on_subscribe = Some(Arc::new(move |_, _| {
            acked.fetch_add(1, Ordering::SeqCst);
        }));
    });
    client.with_options(|o| o.set_reconnect_delay(1, 1, false));
    client.connect(target(broker), true).unwrap();
    client.loop_start().unwrap();
    wait_until(10, "the subscriber did not connect", || {
        client.with_state(|s| s.stats().connected_since.is_some())
    });
    let filter = format!("skeeter/persist/{tag}/#");
    client.subscribe(vec![(filter, 2)], Vec::new()).unwrap();
    wait_until(10, "no SUBACK", || subscribed.load(Ordering::SeqCst) > 0);
    (client, counts)
}

/// How many messages the publisher keeps unfinished at most (its send maximum),
/// and so what the broker must take in flight from it (`max_inflight_messages`):
/// see `a_broker_past_its_in_flight_limit_acknowledges_a_mqtt_311_publish_it_drops`.
const WINDOW: usize = 1000;

fn read_progress(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

fn spawn_publisher(
    broker: &Broker,
    n: usize,
    dir: &std::path::Path,
    progress: &std::path::Path,
    tag: &str,
    trace: Option<&std::path::Path>,
) -> Process {
    let mut command = subject_command(c_program("persistence/publisher.c"));
    command
        .arg(broker.port.to_string())
        .arg(n.to_string())
        .arg(dir)
        .arg(progress)
        .arg(tag)
        // Large enough that the log passes the compaction threshold (1 MiB)
        // a few times in the small run.
        .arg("300")
        .arg(WINDOW.to_string());
    if let Some(trace) = trace {
        command.arg(trace.join("published"));
    }
    Process::spawn(&mut command)
}

#[test]
fn a_publisher_killed_at_random_points_loses_no_qos_1_and_doubles_no_qos_2_message() {
    if against_debian() {
        return;
    }
    let n = env_number("SKEETER_PERSIST_MESSAGES", 2_000);
    let kills = env_number("SKEETER_PERSIST_KILLS", 5);
    let seed = std::env::var("SKEETER_PERSIST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mut random = Random(seed);
    let total = 2 * n;
    let started = Instant::now();
    // SKEETER_PERSIST_TRACE=DIR keeps the evidence there: the broker's full log,
    // each publisher's index-to-mid list and a copy of the store at each kill.
    let trace = std::env::var_os("SKEETER_PERSIST_TRACE").map(std::path::PathBuf::from);
    let mut config = format!("max_queued_messages 0\nmax_inflight_messages {WINDOW}\n");
    if let Some(trace) = &trace {
        std::fs::create_dir_all(trace).unwrap();
        config.push_str("log_type all\n");
    }
    let broker = Broker::builder().persistence().config(&config).start();
    let tag = format!("{}", std::process::id());
    let (sub, counts) = counting_subscriber(&broker, &tag, total);
    let scratch = Scratch::new("persist-kills");
    let dir = scratch.path().join("store");
    let progress = scratch.path().join("progress");

    // Each kill leaves at most one message whose hand-over was not recorded.
    let mut unrecorded = Vec::new();
    let mut kill_progress = Vec::new();
    for k in 0..kills {
        let mut program = spawn_publisher(&broker, n, &dir, &progress, &tag, trace.as_deref());
        if k % 4 == 3 {
            // While it starts: opening the store, connecting, resending.
            std::thread::sleep(Duration::from_millis(random.below(60)));
        } else {
            let goal = (k + 1) * total / (kills + 1);
            let deadline = Instant::now() + Duration::from_secs(120);
            while read_progress(&progress) < goal && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_micros(random.below(20_000)));
        }
        let output = program.kill_and_collect();
        assert!(
            !output.stdout.contains("FAIL"),
            "the publisher failed before it was killed:\n{output}"
        );
        let at = read_progress(&progress);
        eprintln!(
            "kill {k} at {at} after {:.1} s; it said: {:?}",
            started.elapsed().as_secs_f64(),
            output
                .stdout
                .lines()
                .filter(|l| !l.starts_with("loaded"))
                .collect::<Vec<_>>()
        );
        kill_progress.push(at);
        unrecorded.push(at);
        if let Some(trace) = &trace {
            let copy = trace.join(format!("store-after-kill-{k}"));
            std::fs::create_dir_all(&copy).unwrap();
            let _ = std::fs::copy(dir.join("log"), copy.join("log"));
        }
    }
    let mut last = spawn_publisher(&broker, n, &dir, &progress, &tag, trace.as_deref());
    last.wait_for_line("done", Duration::from_secs(240 + total as u64 / 200));
    let output = last.finish(Duration::from_secs(30));
    output.assert_passed();
    // The broker may still be working through a backlog for the subscriber
    // (mosquitto 2.0.11 with persistence managed about 115 a second here): wait
    // for as long as messages keep arriving, and 60 s after the last one.
    let arrived = || {
        counts
            .times
            .iter()
            .filter(|t| t.load(Ordering::SeqCst) > 0)
            .count()
    };
    let (mut last_count, mut last_change) = (arrived(), Instant::now());
    while last_count < total && last_change.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
        let now_count = arrived();
        if now_count != last_count {
            (last_count, last_change) = (now_count, Instant::now());
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    sub.loop_stop(true).unwrap();

    let times: Vec<usize> = counts
        .times
        .iter()
        .map(|t| t.load(Ordering::SeqCst))
        .collect();
    let lost: Vec<usize> = (0..total).filter(|&i| times[i] == 0).collect();
    if let Some(trace) = &trace {
        std::fs::write(trace.join("mosquitto.log"), broker.log()).unwrap();
        std::fs::write(trace.join("lost"), format!("{lost:?}\n")).unwrap();
        let lines: Vec<String> = times.iter().map(|t| t.to_string()).collect();
        std::fs::write(trace.join("times"), lines.join("\n")).unwrap();
    }
    let qos1_repeats: usize = (0..total)
        .step_by(2)
        .map(|i| times[i].saturating_sub(1))
        .sum();
    let qos2_doubled: Vec<usize> = (1..total).step_by(2).filter(|&i| times[i] > 1).collect();
    let (by_program, unexplained): (Vec<usize>, Vec<usize>) =
        qos2_doubled.iter().partition(|i| unrecorded.contains(i));
    // Arrivals per QoS (even indices went as QoS 1, odd ones as QoS 2).
    let received = |qos: usize| -> usize { times.iter().skip(qos - 1).step_by(2).sum() };
    let lost_of = |qos: usize| lost.iter().filter(|&&i| i % 2 == qos - 1).count();
    println!(
        "persistence kill test: {n} QoS 1 + {n} QoS 2 sent, {kills} kills at hand-over counts \
         {kill_progress:?} (seed {seed}), {:.1} s: received {} QoS 1 and {} QoS 2, lost {} QoS 1 \
         and {} QoS 2, {qos1_repeats} QoS 1 repeats, {} QoS 2 duplicates, all of the program's \
         own unrecorded hand-over",
        started.elapsed().as_secs_f64(),
        received(1),
        received(2),
        lost_of(1),
        lost_of(2),
        by_program.len(),
    );
    assert!(
        lost.is_empty(),
        "{} lost, the first: {:?}",
        lost.len(),
        &lost[..lost.len().min(20)]
    );
    assert!(
        unexplained.is_empty(),
        "QoS 2 messages delivered twice: {unexplained:?}"
    );
    assert_eq!(
        counts.wrong_qos.load(Ordering::SeqCst),
        0,
        "a message came at the wrong QoS"
    );
}

/// What the kill test's broker settings rest on (the cause of its one failure,
/// 2 QoS 1 messages lost, when its publisher's window was 1000 and the broker's
/// `max_inflight_messages` 100): mosquitto 2.0 answers an MQTT 3.1.1 PUBLISH
/// beyond that many unfinished ones with a plain PUBACK (its log says rc151,
/// quota exceeded, which 3.1.1 cannot carry), drops the message and closes the
/// connection. A client that reads the PUBACK before it sees the close takes
/// the message for delivered, as any 3.1.1 client must.
#[test]
fn a_broker_past_its_in_flight_limit_acknowledges_a_mqtt_311_publish_it_drops() {
    use std::io::{Read, Write};

    if against_debian() {
        return;
    }
    let limit: u16 = 10;
    let broker = Broker::builder()
        .config(&format!(
            "max_queued_messages 0\nmax_inflight_messages {limit}\nlog_type all\n"
        ))
        .start();
    let (sub, heard) = subscriber(&broker);
    let publish = |first: u8, topic: &str, mid: u16, payload: &[u8]| {
        let mut body = (topic.len() as u16).to_be_bytes().to_vec();
        body.extend_from_slice(topic.as_bytes());
        body.extend_from_slice(&mid.to_be_bytes());
        body.extend_from_slice(payload);
        let mut packet = vec![first, body.len() as u8];
        packet.extend_from_slice(&body);
        packet
    };
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", broker.port)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // CONNECT, MQTT 3.1.1, clean session, keepalive 60, client id "quota".
    raw.write_all(b"\x10\x11\x00\x04MQTT\x04\x02\x00\x3c\x00\x05quota")
        .unwrap();
    let mut connack = [0u8; 4];
    raw.read_exact(&mut connack).unwrap();
    assert_eq!(connack, [0x20, 2, 0, 0]);
    // `limit` QoS 2 messages left without their PUBREL, then one QoS 1 message.
    let mut burst = Vec::new();
    for mid in 1..=limit {
        burst.extend(publish(0x34, "p/held", mid, b"held"));
    }
    burst.extend(publish(0x32, "p/dropped", limit + 1, b"dropped"));
    raw.write_all(&burst).unwrap();
    let mut answers = Vec::new();
    let _ = raw.read_to_end(&mut answers);
    let mut expected = Vec::new();
    for mid in 1..=limit {
        expected.extend_from_slice(&[0x50, 2]);
        expected.extend_from_slice(&mid.to_be_bytes());
    }
    expected.extend_from_slice(&[0x40, 2]);
    expected.extend_from_slice(&(limit + 1).to_be_bytes());
    assert_eq!(
        answers, expected,
        "a PUBREC each, a plain PUBACK for the last, then the close"
    );
    // A message published after it arrives; the acknowledged one never did.
    let after = Client::new(Some(b"quota-after"), true, 0).unwrap();
    after.connect(target(&broker), true).unwrap();
    after
        .publish("p/after", b"after", 1, false, Vec::new())
        .unwrap();
    support::seen::loop_until(&after, || {
        heard.lock().unwrap().iter().any(|m| m == "after")
    })
    .unwrap();
    assert_eq!(*heard.lock().unwrap(), ["after"]);
    assert!(broker.log().contains("rc151"));
    sub.loop_stop(true).unwrap();
}

// ---------------------------------------------------------------------------------
// Damaged logs through the C API: `cbindings-tests/persistence/damaged.c` opens a
// copy of a log that a test cut short or flipped a bit in, must not crash, and
// must send again exactly the messages of the intact records before the damage.

/// Where each record's frame starts in a log (after the 8-byte header), from
/// the length each frame begins with.
fn frame_starts(log: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 8;
    while at + 8 <= log.len() {
        starts.push(at);
        let len = u32::from_le_bytes(log[at..at + 4].try_into().unwrap()) as usize;
        at += 8 + len;
    }
    starts
}

#[test]
fn a_damaged_log_is_opened_through_the_c_api_without_a_crash_keeping_every_intact_record() {
    if against_debian() {
        return;
    }
    let id = "persist-damaged";
    let scratch = Scratch::new("persist-damaged");
    let original = scratch.path().join("original");
    let mut broker = Broker::start();
    {
        let client = Arc::new(Client::new(Some(id.as_bytes()), false, 0).unwrap());
        client.set_persistence(&original).unwrap();
        client.connect(target(&broker), true).unwrap();
        broker.stop();
        for n in 0..10 {
            let _ = client.publish(
                "p/damaged",
                format!("m{n}").as_bytes(),
                1,
                false,
                Vec::new(),
            );
        }
    }
    broker.restart();
    let log = std::fs::read(original.join("log")).unwrap();
    let starts = frame_starts(&log);
    assert_eq!(starts.len(), 11, "the client record and ten messages");
    let sixth_message = starts[6];

    let cut = log[..sixth_message + 11].to_vec();
    let mut flipped = log.clone();
    flipped[sixth_message + 20] ^= 0x10;
    let mut junk_after = log.clone();
    junk_after.extend_from_slice(&[0xA5; 37]);
    let cases: [(&str, Vec<u8>, i32, usize); 5] = [
        ("cut in the sixth message", cut, 0, 5),
        ("a bit flipped in the sixth message", flipped, 0, 5),
        ("junk after the last record", junk_after, 0, 10),
        ("only half a header", log[..4].to_vec(), 0, 0),
        (
            "not a log at all",
            b"certainly not a skeeter log".to_vec(),
            3,
            0,
        ),
    ];
    let program = c_program("persistence/damaged.c");
    for (what, bytes, rc, restored) in cases {
        let dir = scratch.path().join(what.replace(' ', "-"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("log"), &bytes).unwrap();
        let mut command = subject_command(&program);
        command
            .arg(broker.port.to_string())
            .arg(&dir)
            .arg(id)
            .arg(rc.to_string())
            .arg(restored.to_string());
        let output = support::stage::run(&mut command, Duration::from_secs(30));
        assert!(
            output.status.success() && output.stdout.contains("ok"),
            "{what}:\n{output}"
        );
    }
}
