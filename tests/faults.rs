//! Faults with a real broker: the client's connections go through a proxy that cuts,
//! stalls and black-holes them on demand (`tests/support/fault_proxy.rs`), and the
//! broker, which keeps sessions on disk, is restarted under it.
//!
//! `cbindings-tests/faults/delivery.c` publishes N QoS 1 and N QoS 2 messages from
//! one client to another (clean_session false, automatic reconnect) and checks
//! QoS 1 at least once, QoS 2 exactly once, in order per topic. N is
//! `SKEETER_FAULT_MESSAGES` (default 5,000; the issue's figure is 100,000):
//!
//! ```sh
//! SKEETER_FAULT_MESSAGES=100000 cargo test --release --test faults -- --nocapture
//! ```
//!
//! What mosquitto 2.0.11 does, seen in its log (`log_type all`) and alike with
//! Debian's libmosquitto as the client, so the test holds the client to what it
//! controls:
//! - After a restart it sends the PUBLISH of a QoS 2 message again where it had
//!   already received the PUBREC and sent the PUBREL: its persistence file keeps no
//!   "PUBREL sent" state. A subscriber that had completed the message (its PUBCOMP
//!   lost in the shutdown) must take it for a new one, so it is delivered twice.
//!   Each QoS 2 duplicate must be such a resend in the broker's log.
//! - After a reconnect or a restart it sends queued messages to the subscriber out
//!   of the order it received them (first sends, DUP clear, in its log). Messages
//!   whose first arrival is out of order are reported, not failed.
//!
//! To look closer: `SKEETER_FAULT_BROKER_LOG=<file>` saves the broker's log of a run,
//! `SKEETER_FAULT_BROKER_CONFIG=<lines>` adds to its configuration.
//!
//! The soak run (`make soak`, `scripts/soak.sh`) is here too, ignored by default.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::broker::Broker;
use support::fault_proxy::FaultProxy;
use support::stage::{against_debian, c_program, subject_command, Process, Scratch};

const DEFAULT_MESSAGES: usize = 5_000;
const CUTS: usize = 20;
const RESTARTS: usize = 3;

fn messages() -> usize {
    std::env::var("SKEETER_FAULT_MESSAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_MESSAGES)
}

/// A broker that keeps sessions across restarts and queues without limit for a
/// subscriber that is away (mosquitto drops beyond 1,000 by default).
fn persistent_broker() -> Broker {
    Broker::builder()
        .persistence()
        .config("max_queued_messages 0\nmax_inflight_messages 100\nlog_type all\n")
        .config(&std::env::var("SKEETER_FAULT_BROKER_CONFIG").unwrap_or_default())
        .start()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    Cut,
    Restart,
    Stall,
    BlackHole,
}

fn spawn_delivery(
    port: u16,
    messages: usize,
    mode: &str,
    milestones: usize,
    keepalive: u16,
    done_file: &Path,
) -> Process {
    let program = c_program("faults/delivery.c");
    let mut command = subject_command(program);
    command
        .args([
            port.to_string(),
            messages.to_string(),
            mode.to_string(),
            milestones.to_string(),
            keepalive.to_string(),
        ])
        .arg(done_file);
    Process::spawn(&mut command)
}

/// Runs delivery.c in `mode` through the proxy, injecting `faults` one at each
/// milestone, and returns its result line.
fn deliver_through(mode: &str, messages: usize, faults: &[Fault], keepalive: u16) -> String {
    let mut broker = persistent_broker();
    let proxy = FaultProxy::start(broker.port);
    let started = Instant::now();
    let scratch = Scratch::new("delivery");
    let done_file = scratch.path().join("faults-done");
    let mut program = spawn_delivery(
        proxy.port,
        messages,
        mode,
        faults.len(),
        keepalive,
        &done_file,
    );
    // Each stretch between faults: a reconnect, and its share of the messages.
    let stretch = Duration::from_secs(60) + Duration::from_millis(messages as u64 / 5);
    program.wait_for_line("ready", Duration::from_secs(30));
    let (mut cuts, mut restarts) = (0, 0);
    for (k, fault) in faults.iter().enumerate() {
        program.wait_for_line(&format!("milestone {} reached", k + 1), stretch);
        match fault {
            Fault::Cut => {
                proxy.cut();
                cuts += 1;
            }
            Fault::Restart => {
                broker.terminate();
                broker.restart();
                restarts += 1;
            }
            Fault::Stall => {
                proxy.stall(true);
                std::thread::sleep(Duration::from_millis(1500));
                proxy.stall(false);
            }
            Fault::BlackHole => {
                proxy.black_hole(true);
                std::thread::sleep(Duration::from_secs(2));
                proxy.black_hole(false);
            }
        }
    }
    std::fs::write(&done_file, "").unwrap();
    let result = program.wait_for_line("result ", stretch * 2);
    let subscriber = format!("skeeter-faults-sub-{}", program.pid());
    let output = program.finish(Duration::from_secs(30));
    if let Ok(path) = std::env::var("SKEETER_FAULT_BROKER_LOG") {
        std::fs::write(path, broker.log()).unwrap();
    }
    output.assert_passed();
    let mut resent = resent_after_pubrec(&broker.log(), &subscriber);
    let duplicates = qos2_duplicate_mids(&output.stdout);
    for mid in &duplicates {
        assert!(
            resent.get(mid).copied().unwrap_or(0) > 0,
            "QoS 2 message mid {mid} arrived twice, and the broker did not resend its \
             PUBLISH after a PUBREC:\n{output}"
        );
        *resent.get_mut(mid).unwrap() -= 1;
    }
    let summary = format!(
        "{mode}: {} cuts, {restarts} restarts, {} connections through the proxy, \
         {} QoS 2 duplicates all resent by the broker after PUBREC, {:.1} s: {}",
        cuts,
        proxy.accepted(),
        duplicates.len(),
        started.elapsed().as_secs_f64(),
        result.trim()
    );
    println!("{summary}");
    summary
}

/// The mids of the QoS 2 messages delivered twice (delivery.c prints each).
fn qos2_duplicate_mids(stdout: &str) -> Vec<u16> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("duplicate QoS 2 message "))
        .map(|rest| rest.rsplit(' ').next().unwrap().parse().unwrap())
        .collect()
}

/// mosquitto 2.0.11 does not keep the "PUBREL sent" state of an outgoing QoS 2
/// message in its persistence file: after a restart it sends the PUBLISH again (DUP
/// set) where MQTT wants the PUBREL, and a client that had already received and
/// acknowledged the message (PUBCOMP lost in the shutdown) takes it, rightly, for a
/// new one. Counts, by mid, the PUBLISH packets the broker's log (`log_type all`)
/// shows it resending to `client` after receiving their PUBREC in an earlier run.
fn resent_after_pubrec(log: &str, client: &str) -> std::collections::HashMap<u16, usize> {
    let mut run = 0;
    let mut pubrec_in_run = std::collections::HashMap::new();
    let mut resent = std::collections::HashMap::new();
    let received_pubrec = format!("Received PUBREC from {client} (Mid: ");
    let received_pubcomp = format!("Received PUBCOMP from {client} (Mid: ");
    let sending_publish = format!("Sending PUBLISH to {client} (d1, q2, r0, m");
    let number = |rest: &str| -> u16 {
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse().unwrap()
    };
    for line in log.lines() {
        if line.contains("mosquitto version") && line.ends_with("starting") {
            run += 1;
        } else if let Some((_, rest)) = line.split_once(&received_pubrec) {
            pubrec_in_run.insert(number(rest), run);
        } else if let Some((_, rest)) = line.split_once(&received_pubcomp) {
            pubrec_in_run.remove(&number(rest));
        } else if let Some((_, rest)) = line.split_once(&sending_publish) {
            let mid = number(rest);
            if pubrec_in_run.get(&mid).is_some_and(|&at| at < run) {
                pubrec_in_run.remove(&mid);
                *resent.entry(mid).or_insert(0) += 1;
            }
        }
    }
    resent
}

/// 20 cuts and 3 restarts, evenly spread, with a stall among them.
fn the_issue_s_faults() -> Vec<Fault> {
    let mut faults = vec![Fault::Cut; CUTS];
    for (i, at) in [5, 11, 17].into_iter().enumerate() {
        assert!(i < RESTARTS);
        faults.insert(at, Fault::Restart);
    }
    faults.insert(2, Fault::Stall);
    faults
}

/// debian_known_bug: Debian's libmosquitto 2.0.11 fails these two in our runs: in
/// loop_forever mode it lost QoS 2 messages (2 of 5,000, in each of two runs),
/// and with loop_start it delivered QoS 2 duplicates that the broker's log does not
/// explain. Skipped in Debian mode unless `SKEETER_FAULT_DEBIAN=1`.
fn skip_against_debian() -> bool {
    let skip = against_debian() && std::env::var_os("SKEETER_FAULT_DEBIAN").is_none();
    if skip {
        eprintln!(
            "skipped against Debian's libmosquitto (debian_known_bug: QoS 2 lost or doubled)"
        );
    }
    skip
}

#[test]
fn qos_1_and_2_survive_cuts_and_broker_restarts_in_loop_forever() {
    if skip_against_debian() {
        return;
    }
    deliver_through("forever", messages(), &the_issue_s_faults(), 60);
}

#[test]
fn qos_1_and_2_survive_cuts_and_broker_restarts_with_loop_start() {
    if skip_against_debian() {
        return;
    }
    deliver_through("start", messages(), &the_issue_s_faults(), 60);
}

#[test]
fn a_black_holed_connection_is_given_up_after_the_keepalive() {
    // Keepalive 5 s: the client finds the dead link within 1.5 keepalives.
    let summary = deliver_through("start", 400, &[Fault::BlackHole, Fault::Cut], 5);
    assert!(summary.contains("publisher_connects="), "{summary}");
}

// ---------------------------------------------------------------------------------
// Soak

/// The process's resident set, in kB.
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `make soak`: `cbindings-tests/faults/soak.c` publishes and receives for
/// `SOAK_SECONDS` (default 600) through the proxy, which is cut every 10 s; the
/// broker is restarted every minute. The program's RSS is sampled every 5 s; after
/// the warm-up (the first fifth, at most 2 minutes) it may not grow by more than
/// `SOAK_RSS_GROWTH_KB` (default 2048) over the warm-up's peak.
#[test]
#[ignore]
fn soak() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let allowed_growth: u64 = std::env::var("SOAK_RSS_GROWTH_KB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2048);
    let warm_up = Duration::from_secs((seconds / 5).min(120));
    let mut broker = Broker::builder()
        .persistence()
        .config("max_queued_messages 0\n")
        .start();
    let proxy = FaultProxy::start(broker.port);
    let mut command = subject_command(c_program("faults/soak.c"));
    command.arg(proxy.port.to_string()).arg(seconds.to_string());
    let mut program = Process::spawn(&mut command);
    let pid = program.pid();
    let started = Instant::now();
    let (mut cuts, mut restarts) = (0, 0);
    let (mut warm_peak, mut peak) = (0u64, 0u64);
    let mut samples = Vec::new();
    let mut last_cut = Instant::now();
    let mut last_restart = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_secs(5));
        let Some(rss) = rss_kb(pid) else { break };
        let t = started.elapsed().as_secs();
        samples.push((t, rss));
        if started.elapsed() <= warm_up {
            warm_peak = warm_peak.max(rss);
        } else {
            peak = peak.max(rss);
        }
        println!("soak t={t}s rss={rss} kB");
        if last_restart.elapsed() >= Duration::from_secs(60) {
            broker.terminate();
            broker.restart();
            restarts += 1;
            last_restart = Instant::now();
        } else if last_cut.elapsed() >= Duration::from_secs(10) {
            proxy.cut();
            cuts += 1;
            last_cut = Instant::now();
        }
    }
    let output = program.finish(Duration::from_secs(60));
    output.assert_passed();
    let result = output
        .stdout
        .lines()
        .find(|line| line.starts_with("result "))
        .unwrap_or("(no result)")
        .to_owned();
    let first = samples.first().map_or(0, |s| s.1);
    let last = samples.last().map_or(0, |s| s.1);
    println!(
        "soak: {seconds} s, {cuts} cuts, {restarts} restarts, {} samples; RSS first {first} kB, \
         warm-up peak {warm_peak} kB, peak after warm-up {peak} kB, last {last} kB; {result}",
        samples.len()
    );
    assert!(
        peak <= warm_peak + allowed_growth,
        "RSS grew from {warm_peak} kB (warm-up peak) to {peak} kB: {samples:?}"
    );
}
