//! Failover inside a broker cluster (issue 19, part 2): a publisher with the
//! server list of every node sends QoS 1 messages at a steady rate; a
//! subscriber (clean session off, re-subscribe on, the list too) counts them;
//! the test SIGKILLs the node the publisher is connected to, twice, starting
//! it again each time. It prints what was sent, received, duplicated and
//! missing, and how long after each kill new messages flowed again.
//!
//! Two topologies: a three-node RabbitMQ 3.10 cluster whose durable MQTT
//! queues are quorum queues (support::rabbitmq_cluster), where every message
//! must arrive at least once; and two mosquitto brokers joined by a bridge,
//! where the second kill hits the subscriber's own broker and loses what that
//! broker held (the README's "Clusters" says why). The short versions run in
//! `cargo test`; `make soak` runs them for CLUSTER_SECONDS (tests marked
//! ignored). Ours only (server lists are skeeter's).

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mosquitto::client::server_list::Server;
use mosquitto::client::{Client, Target};
use support::broker::Broker;
use support::publisher::wait_until;
use support::rabbitmq_cluster::Cluster;
use support::stage::against_debian;

const TOPIC: &str = "cluster/seq";
/// One message every 20 ms: 50 a second.
const PERIOD: Duration = Duration::from_millis(20);

/// The brokers under test, by index in the clients' lists.
trait Topology {
    fn uris(&self) -> Vec<String>;
    fn kill(&mut self, node: usize);
    fn restart(&mut self, node: usize);
    fn describe(&self) -> String {
        String::new()
    }
}

impl Topology for Cluster {
    fn uris(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("mqtt://127.0.0.1:{}", n.mqtt))
            .collect()
    }
    fn kill(&mut self, node: usize) {
        Cluster::kill(self, node);
    }
    fn restart(&mut self, node: usize) {
        Cluster::restart(self, node);
    }
    fn describe(&self) -> String {
        self.queues(0)
    }
}

/// Two mosquitto brokers; the second bridges `cluster/#` both ways to the first.
struct Bridged {
    brokers: Vec<Broker>,
}

impl Bridged {
    fn start() -> Bridged {
        let first = Broker::start();
        let bridge = format!(
            "connection skeeter-bridge\n\
             address 127.0.0.1:{}\n\
             topic cluster/# both 1\n\
             cleansession false\n\
             restart_timeout 1\n\
             bridge_protocol_version mqttv311\n",
            first.port
        );
        let second = Broker::builder().config(&bridge).start();
        Bridged {
            brokers: vec![first, second],
        }
    }
}

impl Topology for Bridged {
    fn uris(&self) -> Vec<String> {
        self.brokers
            .iter()
            .map(|b| format!("mqtt://127.0.0.1:{}", b.port))
            .collect()
    }
    fn kill(&mut self, node: usize) {
        self.brokers[node].stop();
    }
    fn restart(&mut self, node: usize) {
        self.brokers[node].restart();
    }
}

/// A client on its `loop_start` thread with the list `uris` (in that order),
/// reconnecting after 1 s and giving up an attempt after 2 s.
fn client(id: &[u8], clean: bool, uris: &[String]) -> Arc<Client> {
    let client = Arc::new(Client::new(Some(id), clean, 0).unwrap());
    let list = uris.iter().map(|u| Server::parse(u).unwrap()).collect();
    client.set_servers(list);
    client.with_options(|o| o.set_reconnect_delay(1, 1, false));
    client.with_state(|s| s.resilience.connect_timeout = Some(Duration::from_secs(2)));
    client
}

fn connected(client: &Client) -> bool {
    client.with_state(|s| s.stats().connected_since.is_some())
}

fn start(client: &Arc<Client>) {
    let target = Target::new("ignored".into(), 1, 10, None).unwrap();
    // A refused first server is tried again by the loop, on the next one.
    let _ = client.connect(target, false);
    client.loop_start().unwrap();
    wait_until(30, "no first connection", || connected(client));
}

/// What the subscriber heard: each sequence number's count and first arrival.
#[derive(Default)]
struct Heard {
    first: HashMap<u64, Instant>,
    count: HashMap<u64, u32>,
}

/// The subscriber: clean session off and re-subscribe on, so its queue (or
/// its subscription) outlives its connection.
fn subscriber(uris: &[String]) -> (Arc<Client>, Arc<Mutex<Heard>>) {
    let client = client(b"skeeter-cluster-sub", false, uris);
    client.set_resubscribe(true);
    let heard = Arc::new(Mutex::new(Heard::default()));
    let subscribed = Arc::new(AtomicBool::new(false));
    let (h, s) = (heard.clone(), subscribed.clone());
    client.set_callbacks(|cb| {
        cb.on_subscribe = Some(Arc::new(move |_, _| s.store(true, Ordering::Release)));
        cb.on_message = Some(Arc::new(move |m| {
            let Ok(seq) = String::from_utf8_lossy(&m.payload).parse::<u64>() else {
                return;
            };
            let mut heard = h.lock().unwrap();
            heard.first.entry(seq).or_insert_with(Instant::now);
            *heard.count.entry(seq).or_default() += 1;
        }));
    });
    start(&client);
    client
        .subscribe(vec![("cluster/#".into(), 1)], Vec::new())
        .unwrap();
    wait_until(20, "no SUBACK", || subscribed.load(Ordering::Acquire));
    (client, heard)
}

/// Publishes "0", "1", ... at QoS 1 every PERIOD until `stop`; a message
/// published without a connection waits in the offline queue.
fn publish_steadily(
    client: Arc<Client>,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let mut refused = 0;
        let mut next = Instant::now();
        while !stop.load(Ordering::Acquire) {
            let seq = sent.load(Ordering::Acquire);
            match client.publish(TOPIC, seq.to_string().as_bytes(), 1, false, Vec::new()) {
                Ok(_) | Err(mosquitto::error::Error::NoConn) => {
                    sent.store(seq + 1, Ordering::Release);
                }
                Err(_) => refused += 1,
            }
            next += PERIOD;
            thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        refused
    })
}

/// What one run measured.
struct Report {
    sent: u64,
    received: usize,
    duplicates: u64,
    missing: Vec<u64>,
    /// For each kill: the node, and how long until a message published after
    /// it first arrived.
    recoveries: Vec<(usize, Duration)>,
    /// The sequence number published last before each kill.
    kill_seqs: Vec<u64>,
}

/// The run: `kills` kills (at least two, more while `seconds` last), each of
/// the node the publisher is connected to, restarted after traffic flows
/// again; `steady` between them.
fn run(
    topology: &mut dyn Topology,
    subscriber_order: &[usize],
    kills: usize,
    seconds: u64,
    steady: Duration,
) -> Report {
    let uris = topology.uris();
    let sub_uris: Vec<String> = subscriber_order.iter().map(|&i| uris[i].clone()).collect();
    let (sub, heard) = subscriber(&sub_uris);
    let publisher = client(b"skeeter-cluster-pub", true, &uris);
    start(&publisher);
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let publishing = publish_steadily(publisher.clone(), sent.clone(), stop.clone());
    let began = Instant::now();
    let mut recoveries = Vec::new();
    let mut kill_seqs = Vec::new();
    let mut n = 0;
    while n < kills || began.elapsed() < Duration::from_secs(seconds) {
        thread::sleep(steady);
        let node = publisher.with_state(|s| s.server_index()) as usize;
        let killed = Instant::now();
        let last = sent.load(Ordering::Acquire);
        topology.kill(node);
        kill_seqs.push(last);
        // New messages flow once both clients are on live nodes; where they
        // cannot until the killed node is back (a classic queue on it), it is
        // started again after 15 s and waited for.
        let mut flowed = wait_for_flow(&heard, last, killed, Duration::from_secs(15));
        let restarted_early = flowed.is_none();
        if restarted_early {
            topology.restart(node);
            flowed = wait_for_flow(&heard, last, killed, Duration::from_secs(60));
        }
        let Some(flowed) = flowed else {
            panic!(
                "no message arrived within 60 s of killing node {node}\n{}",
                topology.describe()
            );
        };
        eprintln!("cluster: killed node {node}; new messages arrived after {flowed:?}");
        recoveries.push((node, flowed));
        if !restarted_early {
            topology.restart(node);
        }
        eprintln!(
            "cluster: node {node} restarted ({:?} after the kill)",
            killed.elapsed()
        );
        n += 1;
    }
    thread::sleep(steady);
    stop.store(true, Ordering::Release);
    let refused = publishing.join().unwrap();
    assert_eq!(refused, 0, "publishes refused");
    let total = sent.load(Ordering::Acquire);
    // Everything sent may still be on its way: wait for it, giving up 5 s
    // after the last new arrival (20 s at most).
    let until = Instant::now() + Duration::from_secs(20);
    let mut progress = (0, Instant::now());
    loop {
        let count = heard.lock().unwrap().first.len();
        if count >= total as usize || Instant::now() > until {
            break;
        }
        if count > progress.0 {
            progress = (count, Instant::now());
        } else if progress.1.elapsed() > Duration::from_secs(5) {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    eprintln!("cluster: queues at the end:\n{}", topology.describe());
    let heard = heard.lock().unwrap();
    let missing: Vec<u64> = (0..total)
        .filter(|s| !heard.count.contains_key(s))
        .collect();
    let duplicates = heard.count.values().map(|c| u64::from(c - 1)).sum();
    let report = Report {
        sent: total,
        received: heard.count.values().map(|&c| c as usize).sum(),
        duplicates,
        missing,
        recoveries,
        kill_seqs,
    };
    eprintln!(
        "cluster: sent {}, received {}, duplicates {}, missing {} {}; kill -> traffic: {:?}",
        report.sent,
        report.received,
        report.duplicates,
        report.missing.len(),
        ranges(&report.missing),
        report.recoveries
    );
    let _ = publisher.loop_stop(true);
    let _ = sub.loop_stop(true);
    report
}

/// `1-3 7` for [1, 2, 3, 7].
fn ranges(numbers: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let mut j = i;
        while j + 1 < numbers.len() && numbers[j + 1] == numbers[j] + 1 {
            j += 1;
        }
        out.push(match j > i {
            true => format!("{}-{}", numbers[i], numbers[j]),
            false => numbers[i].to_string(),
        });
        i = j + 1;
    }
    out.join(" ")
}

/// How long after `killed` a message numbered `last` or later first
/// arrived, waiting up to `limit` from `killed`.
fn wait_for_flow(
    heard: &Mutex<Heard>,
    last: u64,
    killed: Instant,
    limit: Duration,
) -> Option<Duration> {
    loop {
        let arrived = heard
            .lock()
            .unwrap()
            .first
            .iter()
            .filter(|(seq, _)| **seq >= last)
            .map(|(_, at)| *at)
            .min();
        if let Some(at) = arrived {
            return Some(at.saturating_duration_since(killed));
        }
        if killed.elapsed() > limit {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// CLUSTER_SECONDS for the long runs of `make soak` (default 300).
fn soak_seconds() -> u64 {
    std::env::var("CLUSTER_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

/// The RabbitMQ run: publisher from node 0, subscriber from node 1, so the
/// first kill hits the publisher's node and the second (node 1, where it went)
/// both clients' and the leader of the subscriber's quorum queue.
fn rabbitmq_quorum(seconds: u64) {
    if against_debian() {
        return;
    }
    let mut cluster = Cluster::start(true);
    let report = run(&mut cluster, &[1, 2, 0], 2, seconds, Duration::from_secs(3));
    assert!(
        report.missing.is_empty(),
        "missing: {}",
        ranges(&report.missing)
    );
    assert!(report.recoveries.len() >= 2);
}

#[test]
fn a_rabbitmq_quorum_cluster_loses_no_qos_1_message_when_the_publishers_node_is_killed_twice() {
    rabbitmq_quorum(0);
}

#[test]
#[ignore = "long: make soak (CLUSTER_SECONDS)"]
fn soak_a_rabbitmq_quorum_cluster_through_kills_for_cluster_seconds() {
    rabbitmq_quorum(soak_seconds());
}

#[test]
#[ignore = "a measurement for the README: classic queues lose messages"]
fn with_classic_queues_the_subscribers_node_takes_its_queue_down_with_it() {
    if against_debian() {
        return;
    }
    // The subscriber's classic queue lives on node 1; the second kill takes
    // it down until that node is back. Counted, not asserted.
    let mut cluster = Cluster::start(false);
    let report = run(&mut cluster, &[1, 2, 0], 2, 0, Duration::from_secs(3));
    eprintln!("classic: {} missing", report.missing.len());
}

/// The bridge run: publisher from the first broker, subscriber on the second.
/// The first kill (the publisher's broker) loses nothing: the subscriber's
/// broker holds its session. The second hits the broker both clients moved
/// to, the subscriber's own: what it held, and what was published before the
/// subscriber had subscribed again on the other, is lost; it is counted, not
/// asserted.
fn bridged(seconds: u64) {
    if against_debian() {
        return;
    }
    let mut brokers = Bridged::start();
    // The bridge connects within a second of starting.
    thread::sleep(Duration::from_secs(2));
    let report = run(&mut brokers, &[1, 0], 2, seconds, Duration::from_secs(3));
    // Up to the second kill, minus what was on its way, everything arrived.
    let safe = report.kill_seqs[1].saturating_sub(50);
    let lost_early: Vec<u64> = report
        .missing
        .iter()
        .copied()
        .filter(|s| *s < safe)
        .collect();
    assert!(
        lost_early.is_empty(),
        "lost before the second kill: {lost_early:?}"
    );
}

#[test]
fn two_bridged_mosquitto_brokers_lose_only_what_the_subscribers_own_broker_held() {
    bridged(0);
}

#[test]
#[ignore = "long: make soak (CLUSTER_SECONDS)"]
fn soak_two_bridged_mosquitto_brokers_through_kills_for_cluster_seconds() {
    bridged(soak_seconds());
}
