//! Drop-in: Debian's `mosquitto_pub`, `mosquitto_sub` and `mosquitto_rr`, unchanged,
//! run on our library through `LD_LIBRARY_PATH` (see `tests/support/stage.rs`).
//!
//! Each run of a tool under test sets `LD_DEBUG=libs` with `LD_DEBUG_OUTPUT` pointing
//! at a file, so the loader's trace goes there (not to stderr): the test reads which
//! `libmosquitto.so.1` the loader initialised and checks it is the library under
//! test, and checks stderr holds nothing it did not expect.
//!
//! A subscriber is known to be subscribed when it prints a retained "ready" message
//! published under its topic before it started. Prove the tests right against
//! Debian's libmosquitto:
//!
//! ```sh
//! SKEETER_TEST_AGAINST_DEBIAN=1 cargo test --test client_dropin -- --include-ignored
//! ```

mod support;

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::broker::Broker;
use support::stage::{
    require, run, run_with_input, subject, subject_command, Output, Process, Scratch,
};

/// The bound for one tool run; waits for a line are shorter.
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);
const LINE_TIMEOUT: Duration = Duration::from_secs(20);

/// One run of a Debian tool on the library under test, traced by the loader.
struct Tool {
    command: Command,
    trace_prefix: PathBuf,
    _scratch: Scratch,
}

impl Tool {
    /// `/usr/bin/<name> -h 127.0.0.1 -p <port> <args>`.
    fn new(name: &str, broker: &Broker, args: &[&str]) -> Tool {
        let path = format!("/usr/bin/{name}");
        require(&path, "mosquitto-clients");
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let scratch = Scratch::new(&format!("{name}-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        let trace_prefix = scratch.path().join("ld");
        let mut command = subject_command(&path);
        command
            .env("LD_DEBUG", "libs")
            .env("LD_DEBUG_OUTPUT", &trace_prefix)
            .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
            .args(args);
        Tool {
            command,
            trace_prefix,
            _scratch: scratch,
        }
    }

    fn run(mut self) -> Output {
        let output = run(&mut self.command, TOOL_TIMEOUT);
        self.assert_loaded_the_subject(&output);
        output
    }

    fn run_with_input(mut self, input: &[u8]) -> Output {
        let output = run_with_input(&mut self.command, input, TOOL_TIMEOUT);
        self.assert_loaded_the_subject(&output);
        output
    }

    fn spawn(mut self) -> Running {
        let process = Process::spawn(self.command.stdin(Stdio::null()));
        Running {
            process,
            tool: self,
        }
    }

    /// The loader's trace names the library under test as the libmosquitto.so.1
    /// it initialised.
    fn assert_loaded_the_subject(&self, output: &Output) {
        let dir = self.trace_prefix.parent().unwrap();
        let mut initialised = Vec::new();
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let trace = fs::read_to_string(entry.path()).unwrap_or_default();
            for line in trace.lines() {
                if let Some((_, file)) = line.split_once("calling init: ") {
                    if file.contains("libmosquitto.so") {
                        initialised.push(fs::canonicalize(file.trim()).unwrap());
                    }
                }
            }
        }
        assert_eq!(
            initialised,
            vec![subject().expected.clone()],
            "the tool did not load the library under test:\n{output}"
        );
    }
}

/// A tool still running (a subscriber).
struct Running {
    process: Process,
    tool: Tool,
}

impl Running {
    fn wait_for_line(&mut self, wanted: &str) -> String {
        self.process.wait_for_line(wanted, LINE_TIMEOUT)
    }

    fn finish(mut self) -> Output {
        let output = self.process.finish(TOOL_TIMEOUT);
        self.tool.assert_loaded_the_subject(&output);
        output
    }

    fn kill(mut self) -> Output {
        let output = self.process.kill_and_collect();
        self.tool.assert_loaded_the_subject(&output);
        output
    }
}

fn assert_succeeded_quietly(output: &Output) {
    assert!(
        output.status.success() && !output.timed_out,
        "the tool failed:\n{output}"
    );
    output.assert_quiet();
}

/// Publishes `base/ready` retained (with the tools on the library under test) and
/// returns the base topic, unique to this test.
fn ready_topic(broker: &Broker, name: &str) -> String {
    let base = format!("skeeter/dropin/{name}");
    let output = Tool::new(
        "mosquitto_pub",
        broker,
        &[
            "-t",
            &format!("{base}/ready"),
            "-m",
            "ready",
            "-r",
            "-q",
            "1",
        ],
    )
    .run();
    assert_succeeded_quietly(&output);
    base
}

fn publish(broker: &Broker, args: &[&str]) {
    let output = Tool::new("mosquitto_pub", broker, args).run();
    assert_succeeded_quietly(&output);
}

// ---------------------------------------------------------------------------------
// Publishing and subscribing

#[test]
fn pub_and_sub_at_qos_0_1_2_in_order() {
    let broker = Broker::start();
    for qos in ["0", "1", "2"] {
        let base = ready_topic(&broker, &format!("qos{qos}"));
        let mut sub = Tool::new(
            "mosquitto_sub",
            &broker,
            &[
                "-t",
                &format!("{base}/#"),
                "-q",
                qos,
                "-C",
                "11",
                "-F",
                "%q %t %p",
            ],
        )
        .spawn();
        sub.wait_for_line("ready");
        for i in 0..10 {
            publish(
                &broker,
                &[
                    "-t",
                    &format!("{base}/data"),
                    "-q",
                    qos,
                    "-m",
                    &format!("m{i}"),
                ],
            );
        }
        let output = sub.finish();
        assert_succeeded_quietly(&output);
        // The ready message was published at QoS 1: delivered at min(1, qos).
        let ready_qos = qos.min("1");
        let mut want = format!("{ready_qos} {base}/ready ready\n");
        for i in 0..10 {
            want.push_str(&format!("{qos} {base}/data m{i}\n"));
        }
        assert_eq!(output.stdout, want, "{output}");
    }
}

#[test]
fn a_retained_message_is_flagged_retained_for_a_later_subscriber() {
    let broker = Broker::start();
    let topic = "skeeter/dropin/retained";
    publish(&broker, &["-t", topic, "-m", "kept", "-r", "-q", "1"]);
    let output = Tool::new(
        "mosquitto_sub",
        &broker,
        &["-t", topic, "-C", "1", "-F", "%r %t %p"],
    )
    .run();
    assert_succeeded_quietly(&output);
    assert_eq!(output.stdout, format!("1 {topic} kept\n"));
}

#[test]
fn five_thousand_lines_in_line_mode_arrive_in_order() {
    // The publisher outruns the subscriber on a loaded machine, and mosquitto drops
    // QoS 1 messages for a client with more than 1000 queued (its default); the
    // test is about the tools and the library, so the broker queues without limit.
    let broker = Broker::builder().config("max_queued_messages 0\n").start();
    let base = ready_topic(&broker, "lines");
    let mut sub = Tool::new(
        "mosquitto_sub",
        &broker,
        &["-t", &format!("{base}/#"), "-q", "1", "-C", "5001"],
    )
    .spawn();
    sub.wait_for_line("ready");
    let input: String = (0..5000).map(|i| format!("line {i}\n")).collect();
    let output = Tool::new(
        "mosquitto_pub",
        &broker,
        &["-t", &format!("{base}/lines"), "-q", "1", "-l"],
    )
    .run_with_input(input.as_bytes());
    assert_succeeded_quietly(&output);
    let output = sub.finish();
    assert_succeeded_quietly(&output);
    assert_eq!(output.stdout, format!("ready\n{input}"));
}

#[test]
fn a_one_mebibyte_binary_payload_arrives_byte_for_byte() {
    let broker = Broker::start();
    let scratch = Scratch::new("payload");
    let file = scratch.path().join("payload.bin");
    // Every byte value, NULs and newlines included, in a sequence that does not repeat
    // every 256 bytes.
    let mut state: u32 = 0x2545_f491;
    let payload: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    fs::write(&file, &payload).unwrap();
    let topic = "skeeter/dropin/binary";
    publish(
        &broker,
        &["-t", topic, "-f", file.to_str().unwrap(), "-r", "-q", "1"],
    );
    let output = Tool::new("mosquitto_sub", &broker, &["-t", topic, "-C", "1", "-N"]).run();
    assert_succeeded_quietly(&output);
    assert!(
        output.stdout_bytes == payload,
        "received {} bytes, not the {} published (or different ones)",
        output.stdout_bytes.len(),
        payload.len()
    );
}

#[test]
fn mqtt_5_user_properties_and_content_type_reach_the_subscriber() {
    let broker = Broker::start();
    let base = ready_topic(&broker, "v5");
    let mut sub = Tool::new(
        "mosquitto_sub",
        &broker,
        &[
            "-V",
            "5",
            "-t",
            &format!("{base}/#"),
            "-C",
            "2",
            "-F",
            "%t|%P|%C|%p",
        ],
    )
    .spawn();
    sub.wait_for_line("ready");
    publish(
        &broker,
        &[
            "-V",
            "5",
            "-t",
            &format!("{base}/props"),
            "-q",
            "1",
            "-m",
            "hello",
            "-D",
            "publish",
            "user-property",
            "colour",
            "blue",
            "-D",
            "publish",
            "user-property",
            "size",
            "small",
            "-D",
            "publish",
            "content-type",
            "text/x-skeeter",
        ],
    );
    let output = sub.finish();
    assert_succeeded_quietly(&output);
    assert_eq!(
        output.stdout,
        format!("{base}/ready|||ready\n{base}/props|colour:blue size:small|text/x-skeeter|hello\n"),
    );
}

#[test]
fn mqtt_3_1_pub_and_sub() {
    let broker = Broker::start();
    let base = ready_topic(&broker, "v31");
    let mut sub = Tool::new(
        "mosquitto_sub",
        &broker,
        &[
            "-V",
            "31",
            "-t",
            &format!("{base}/#"),
            "-q",
            "2",
            "-C",
            "2",
            "-v",
        ],
    )
    .spawn();
    sub.wait_for_line("ready");
    publish(
        &broker,
        &[
            "-V",
            "31",
            "-t",
            &format!("{base}/x"),
            "-q",
            "2",
            "-m",
            "old",
        ],
    );
    let output = sub.finish();
    assert_succeeded_quietly(&output);
    assert_eq!(output.stdout, format!("{base}/ready ready\n{base}/x old\n"));
    assert!(
        broker.log().contains("(p1, c1, k60)"),
        "the broker saw no MQTT 3.1 client:\n{}",
        broker.log()
    );
}

// ---------------------------------------------------------------------------------
// Wills, request/response, credentials

#[test]
fn a_will_is_delivered_when_the_client_is_killed() {
    let broker = Broker::start();
    let base = ready_topic(&broker, "will");
    let will_topic = format!("{base}/will");
    let mut watcher = Tool::new(
        "mosquitto_sub",
        &broker,
        &[
            "-t",
            &format!("{base}/ready"),
            "-t",
            &will_topic,
            "-C",
            "2",
            "-v",
        ],
    )
    .spawn();
    watcher.wait_for_line("ready");
    let mut doomed = Tool::new(
        "mosquitto_sub",
        &broker,
        &[
            "-t",
            &format!("{base}/ready"),
            "--will-topic",
            &will_topic,
            "--will-payload",
            "goodbye",
            "--will-qos",
            "1",
        ],
    )
    .spawn();
    doomed.wait_for_line("ready");
    let output = doomed.kill(); // SIGKILL: no DISCONNECT
    output.assert_quiet();
    let output = watcher.finish();
    assert_succeeded_quietly(&output);
    assert_eq!(
        output.stdout,
        format!("{base}/ready ready\n{will_topic} goodbye\n")
    );
}

#[test]
fn mosquitto_rr_gets_the_response() {
    let broker = Broker::start();
    let base = ready_topic(&broker, "rr");
    let request = format!("{base}/request");
    let response = format!("{base}/response");
    // The responder: sees the request and its response topic, then answers.
    let mut responder = Tool::new(
        "mosquitto_sub",
        &broker,
        &[
            "-V",
            "5",
            "-t",
            &format!("{base}/ready"),
            "-t",
            &request,
            "-C",
            "2",
            "-F",
            "%t %R %p",
        ],
    )
    .spawn();
    responder.wait_for_line("ready");
    let requester = Tool::new(
        "mosquitto_rr",
        &broker,
        &[
            "-t", &request, "-e", &response, "-m", "question", "-W", "20",
        ],
    )
    .spawn();
    let line = responder.wait_for_line(&request);
    assert_eq!(line, format!("{request} {response} question\n"));
    publish(&broker, &["-V", "5", "-t", &response, "-m", "answer"]);
    let output = requester.finish();
    assert_succeeded_quietly(&output);
    assert_eq!(output.stdout, "answer\n");
    assert_succeeded_quietly(&responder.finish());
}

fn broker_with_a_user() -> Broker {
    Broker::builder().user("alice", "s3cret").start()
}

#[test]
fn the_right_password_is_accepted() {
    let broker = broker_with_a_user();
    let args = [
        "-u",
        "alice",
        "-P",
        "s3cret",
        "-t",
        "skeeter/auth",
        "-m",
        "in",
    ];
    publish(&broker, &args);
    publish(&broker, &[&["-V", "5"], &args[..]].concat());
}

/// The wrong password: the exit status and every byte of stderr as Debian's library
/// makes them (the texts come from mosquitto_connack_string, mosquitto_reason_string
/// and mosquitto_strerror).
fn refused(broker: &Broker, tool: &str, args: &[&str], status: i32, stderr: &str) {
    let mut all = vec!["-u", "alice", "-P", "wrong", "-t", "skeeter/auth"];
    all.extend_from_slice(args);
    let output = Tool::new(tool, broker, &all).run();
    assert_eq!(output.status.code(), Some(status), "{output}");
    assert_eq!(output.stderr, stderr, "{output}");
    assert_eq!(output.stdout, "", "{output}");
}

#[test]
fn a_wrong_password_is_refused_with_debians_messages() {
    let broker = broker_with_a_user();
    refused(
        &broker,
        "mosquitto_pub",
        &["-m", "x"],
        5,
        "Connection error: Connection Refused: not authorised.\nError: The connection was refused.\n",
    );
    refused(
        &broker,
        "mosquitto_pub",
        &["-V", "5", "-m", "x"],
        135,
        "Connection error: Not authorized\nError: A network protocol error occurred when communicating with the broker.\n",
    );
    refused(
        &broker,
        "mosquitto_sub",
        &[],
        5,
        "Connection error: Connection Refused: not authorised.\n",
    );
}
