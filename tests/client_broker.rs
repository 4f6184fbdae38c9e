//! The client against a real broker: C programs in `cbindings-tests/client/`, built
//! against our `include/` and run on our library staged as `libmosquitto.so.1`
//! (see `tests/support/stage.rs`), each talking to a private `mosquitto`.
//!
//! Every program prints `loaded: <file>` and one `FAIL ...` line per failed check,
//! and exits 0 when all passed. Prove the tests right against Debian's libmosquitto:
//!
//! ```sh
//! SKEETER_TEST_AGAINST_DEBIAN=1 cargo test --test client_broker -- --include-ignored
//! ```
//!
//! A test marked `debian_known_bug` checks the right behaviour where libmosquitto
//! 2.0.11 is known to get it wrong (a deadlock, a hang); it is skipped in Debian mode.

mod support;

use std::time::Duration;

use support::broker::Broker;
use support::stage::{against_debian, c_program, free_port, run, subject_command, Output, Process};

/// The bound for one program: every wait inside it is shorter.
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `cbindings-tests/client/<name>.c` with `args` on the library under test.
fn run_client(name: &str, args: &[&str]) -> Output {
    let program = c_program(&format!("client/{name}.c"));
    let mut command = subject_command(program);
    command.args(args);
    run(&mut command, PROGRAM_TIMEOUT)
}

/// Starts the program, for a test that acts on it while it runs.
fn spawn_client(name: &str, args: &[&str]) -> Process {
    let program = c_program(&format!("client/{name}.c"));
    let mut command = subject_command(program);
    command.args(args).stdin(std::process::Stdio::null());
    Process::spawn(&mut command)
}

// ---------------------------------------------------------------------------------
// Connecting

#[test]
fn connect_then_disconnect_reports_rc_0_to_both_callbacks() {
    let broker = Broker::start();
    run_client("connect", &[&broker.port.to_string()]).assert_passed();
}

// ---------------------------------------------------------------------------------
// Publishing and receiving at QoS 0, 1 and 2

#[test]
fn round_trip_at_qos_0_1_2_in_loop_forever() {
    let broker = Broker::start();
    run_client("roundtrip", &[&broker.port.to_string(), "forever"]).assert_passed();
}

#[test]
fn round_trip_at_qos_0_1_2_with_mosquitto_loop() {
    let broker = Broker::start();
    run_client("roundtrip", &[&broker.port.to_string(), "loop"]).assert_passed();
}

#[test]
fn round_trip_at_qos_0_1_2_on_the_loop_start_thread() {
    let broker = Broker::start();
    run_client("roundtrip", &[&broker.port.to_string(), "start"]).assert_passed();
}

#[test]
fn round_trip_calling_mosquitto_loop_without_waiting() {
    let broker = Broker::start();
    run_client("roundtrip", &[&broker.port.to_string(), "busy"]).assert_passed();
}

#[test]
fn round_trip_over_mqtt_3_1() {
    let broker = Broker::start();
    run_client("roundtrip", &[&broker.port.to_string(), "start", "31"]).assert_passed();
}

#[test]
fn round_trip_over_mqtt_5() {
    let broker = Broker::start();
    run_client("roundtrip", &[&broker.port.to_string(), "forever", "5"]).assert_passed();
}

#[test]
fn a_retained_message_reaches_a_later_subscriber_flagged_retained() {
    let broker = Broker::start();
    run_client("retained", &[&broker.port.to_string()]).assert_passed();
}

// ---------------------------------------------------------------------------------
// MQTT 5

#[test]
fn mqtt_5_request_response_carries_user_properties_content_type_and_correlation_data() {
    let broker = Broker::start();
    run_client("v5_request_response", &[&broker.port.to_string()]).assert_passed();
}

#[test]
fn property_lists_have_libmosquittos_private_node_layout_for_code_that_reads_their_memory() {
    // As pymosquitto does: a list built with add_*, its copy, and a received one.
    let broker = Broker::start();
    run_client("v5_property_layout", &[&broker.port.to_string()]).assert_passed();
}

// ---------------------------------------------------------------------------------
// Subscriptions

#[test]
fn subscribe_multiple_then_unsubscribe_over_mqtt_3_1_1() {
    let broker = Broker::start();
    run_client("unsubscribe", &[&broker.port.to_string(), "311"]).assert_passed();
}

#[test]
fn subscribe_multiple_then_unsubscribe_over_mqtt_5() {
    let broker = Broker::start();
    run_client("unsubscribe", &[&broker.port.to_string(), "5"]).assert_passed();
}

// ---------------------------------------------------------------------------------
// Wills and credentials

#[test]
fn the_will_is_delivered_when_the_client_is_killed() {
    let broker = Broker::start();
    run_client("will", &[&broker.port.to_string(), "311"]).assert_passed();
}

#[test]
fn the_mqtt_5_will_carries_its_properties_when_the_client_is_killed() {
    let broker = Broker::start();
    run_client("will", &[&broker.port.to_string(), "5"]).assert_passed();
}

fn broker_with_a_user() -> Broker {
    Broker::builder().user("alice", "s3cret").start()
}

#[test]
fn the_right_password_is_accepted() {
    let broker = broker_with_a_user();
    let port = broker.port.to_string();
    run_client("credentials", &[&port, "311", "alice", "s3cret", "0"]).assert_passed();
    run_client("credentials", &[&port, "5", "alice", "s3cret", "0"]).assert_passed();
}

#[test]
fn a_wrong_password_is_refused_with_rc_5_over_mqtt_3_1_1() {
    let broker = broker_with_a_user();
    let output = run_client(
        "credentials",
        &[&broker.port.to_string(), "311", "alice", "wrong", "5"],
    );
    output.assert_passed();
    assert!(
        output
            .stdout
            .contains("connack string: Connection Refused: not authorised.\n"),
        "{output}"
    );
}

#[test]
fn a_wrong_password_is_refused_with_reason_135_over_mqtt_5() {
    let broker = broker_with_a_user();
    run_client(
        "credentials",
        &[&broker.port.to_string(), "5", "alice", "wrong", "135"],
    )
    .assert_passed();
}

// ---------------------------------------------------------------------------------
// Error codes

#[test]
fn bad_calls_return_libmosquittos_error_codes() {
    let closed_port = free_port().to_string();
    run_client("errors", &[&closed_port]).assert_passed();
}

// ---------------------------------------------------------------------------------
// Queued messages and reconnection

#[test]
fn qos_1_and_2_messages_published_before_the_connection_is_made_are_delivered() {
    let broker = Broker::start();
    run_client("queued", &[&broker.port.to_string()]).assert_passed();
}

#[test]
fn loop_forever_reconnects_after_the_broker_restarts() {
    let mut broker = Broker::start();
    let mut client = spawn_client("reconnect", &[&broker.port.to_string()]);
    client.wait_for_line("ready", Duration::from_secs(20));
    broker.restart();
    let output = client.finish(Duration::from_secs(30));
    output.assert_passed();
    assert!(output.stdout.contains("connected 2\n"), "{output}");
}

// ---------------------------------------------------------------------------------
// Threads and callbacks

#[test]
fn callbacks_may_publish_subscribe_unsubscribe_and_disconnect() {
    let broker = Broker::start();
    run_client("reenter", &[&broker.port.to_string(), "api"]).assert_passed();
}

#[test]
fn callbacks_may_replace_callbacks() {
    // debian_known_bug: libmosquitto 2.0.11 calls each callback holding the mutex that
    // mosquitto_*_callback_set takes, so this deadlocks there.
    if against_debian() {
        eprintln!("skipped against Debian's libmosquitto (debian_known_bug: deadlock)");
        return;
    }
    let broker = Broker::start();
    run_client("reenter", &[&broker.port.to_string(), "setters"]).assert_passed();
}

#[test]
fn eight_threads_publish_while_loop_start_runs_and_every_message_arrives() {
    // The broker would drop QoS 1 messages queued for a slow subscriber beyond its
    // default of 1000.
    let broker = Broker::builder().config("max_queued_messages 0\n").start();
    run_client("threads", &[&broker.port.to_string()]).assert_passed();
}

// ---------------------------------------------------------------------------------
// Stopping and destroying

fn lifecycle(mode: &str) {
    let broker = Broker::start();
    run_client("lifecycle", &[&broker.port.to_string(), mode]).assert_passed();
}

#[test]
fn destroy_while_connected() {
    lifecycle("destroy-connected");
}

#[test]
fn destroy_while_loop_start_runs() {
    lifecycle("destroy-loop-start");
}

#[test]
fn loop_stop_without_force_after_disconnect() {
    lifecycle("stop-after-disconnect");
}

#[test]
fn loop_stop_with_force_while_connected() {
    lifecycle("stop-connected");
}

#[test]
fn loop_stop_with_force_when_never_connected() {
    lifecycle("stop-never-connected");
}

#[test]
fn loop_stop_with_force_while_reconnecting() {
    let mut broker = Broker::start();
    let mut client = spawn_client(
        "lifecycle",
        &[&broker.port.to_string(), "stop-reconnecting"],
    );
    client.wait_for_line("connected", Duration::from_secs(20));
    broker.stop();
    client.finish(Duration::from_secs(30)).assert_passed();
}

/// debian_known_bug: libmosquitto 2.0.11's `loop_stop(false)` waits until the
/// program has disconnected, so it hangs in these states.
fn lifecycle_but_not_on_debian(mode: &str) {
    if against_debian() {
        eprintln!(
            "skipped against Debian's libmosquitto (debian_known_bug: loop_stop(false) hangs)"
        );
        return;
    }
    lifecycle(mode);
}

#[test]
fn loop_stop_without_force_while_connected() {
    lifecycle_but_not_on_debian("stop-false-connected");
}

#[test]
fn loop_stop_without_force_when_never_connected() {
    lifecycle_but_not_on_debian("stop-false-never-connected");
}

#[test]
fn loop_stop_without_force_while_reconnecting() {
    if against_debian() {
        eprintln!(
            "skipped against Debian's libmosquitto (debian_known_bug: loop_stop(false) hangs)"
        );
        return;
    }
    let mut broker = Broker::start();
    let mut client = spawn_client(
        "lifecycle",
        &[&broker.port.to_string(), "stop-false-reconnecting"],
    );
    client.wait_for_line("connected", Duration::from_secs(20));
    broker.stop();
    client.finish(Duration::from_secs(30)).assert_passed();
}

#[test]
fn reinitialise_closes_an_open_connection_first() {
    lifecycle("reinit-connected");
}

#[test]
fn reinitialise_stops_the_loop_start_thread_first() {
    lifecycle("reinit-loop-start");
}

// ---------------------------------------------------------------------------------
// Thread rules

#[test]
fn a_callback_may_call_loop_stop_on_its_own_thread() {
    let broker = Broker::start();
    let port = broker.port.to_string();
    // libmosquitto returns success but leaves its thread running, so the check that
    // the thread ended ("strict") is ours only.
    let mut args = vec![port.as_str(), "stop-in-callback"];
    if !against_debian() {
        args.push("strict");
    }
    run_client("thread_rules", &args).assert_passed();
}

#[test]
fn disconnect_from_another_thread_ends_loop_forever_on_the_main_thread() {
    let broker = Broker::start();
    run_client(
        "thread_rules",
        &[&broker.port.to_string(), "disconnect-from-thread"],
    )
    .assert_passed();
}

#[test]
fn threaded_set_with_the_programs_own_thread_driving_mosquitto_loop() {
    let broker = Broker::start();
    run_client(
        "thread_rules",
        &[&broker.port.to_string(), "own-thread-loop"],
    )
    .assert_passed();
}

// ---------------------------------------------------------------------------------
// Other transports and ways of driving the client

#[test]
fn round_trip_over_a_unix_domain_socket() {
    let broker = Broker::builder().unix_socket().start();
    let path = broker.socket_path().unwrap().to_str().unwrap().to_string();
    run_client("roundtrip", &[&path, "start"]).assert_passed();
}

#[test]
fn subscribe_simple_and_subscribe_callback_helpers() {
    let broker = Broker::start();
    run_client("helpers", &[&broker.port.to_string()]).assert_passed();
}

#[test]
fn the_programs_own_poll_loop_drives_loop_read_write_and_misc() {
    let broker = Broker::start();
    run_client("own_poll", &[&broker.port.to_string()]).assert_passed();
}

// ---------------------------------------------------------------------------------
// mosquitto_destroy from inside a callback (a binding's finalizer on the loop thread)

/// libmosquitto 2.0.11 frees the client and lets its loop go on with it
/// (debian_known_bug: a use after free; the program aborts on the freed
/// client's socket in `FD_SET`).
fn destroy_in_callback(mode: &str, loop_threads: &str) {
    if against_debian() {
        eprintln!("skipped against Debian's libmosquitto (debian_known_bug: use after free)");
        return;
    }
    let broker = Broker::start();
    let mut command = subject_command(c_program("client/destroy_in_callback.c"));
    command
        .args([&broker.port.to_string(), mode])
        .env("SKEETER_LOOP_THREADS", loop_threads);
    let output = run(&mut command, PROGRAM_TIMEOUT);
    output.assert_passed();
    assert!(
        output
            .stdout
            .contains("no callback after mosquitto_destroy"),
        "{}",
        output.stdout
    );
}

#[test]
fn destroy_in_on_message_on_the_loop_start_thread_ends_its_callbacks_and_its_loop() {
    destroy_in_callback("loop-start", "0");
}

#[test]
fn destroy_in_on_message_on_a_shared_loop_thread_ends_its_callbacks_and_its_stay() {
    destroy_in_callback("loop-start", "2");
}

#[test]
fn destroy_in_a_callback_of_mosquitto_disconnect_stops_the_callbacks_due_after_it() {
    destroy_in_callback("disconnect", "0");
}

#[test]
fn destroy_in_on_message_inside_loop_forever_makes_loop_forever_return() {
    destroy_in_callback("forever", "0");
}

// ---------------------------------------------------------------------------------
// A callback that ends its thread (pthread_exit, pthread_cancel)

fn thread_exit(mode: &str) {
    let broker = Broker::start();
    let output = run_client("thread_exit", &[&broker.port.to_string(), mode]);
    output.assert_passed();
    assert!(
        output.stdout.contains("the process goes on"),
        "{}",
        output.stdout
    );
}

#[test]
fn pthread_exit_in_a_callback_ends_the_loop_start_thread_and_the_process_goes_on() {
    thread_exit("loop-start-exit");
}

#[test]
fn pthread_exit_in_a_callback_ends_the_programs_thread_inside_loop_forever() {
    thread_exit("forever-exit");
}

#[test]
fn pthread_exit_in_a_callback_ends_the_programs_thread_inside_mosquitto_loop() {
    thread_exit("loop-exit");
}

#[test]
fn pthread_cancel_of_a_thread_sleeping_in_a_callback_ends_it_cleanly() {
    thread_exit("forever-cancel");
}

#[test]
fn pthread_cancel_of_a_thread_waiting_in_loop_forever_ends_it_cleanly() {
    thread_exit("idle-cancel");
}

/// A pending cancel never acts inside a publish written at once: the calls
/// succeed, and the thread ends at its own next cancellation point.
/// libmosquitto 2.0.11 writes with `send`, a cancellation point, holding its
/// output mutex: the cancel ends the thread inside the first publish, and the
/// mutex left locked keeps every later message in (debian_known_bug).
#[test]
fn a_thread_with_a_cancel_pending_publishes_and_is_cancelled_after() {
    if against_debian() {
        eprintln!(
            "skipped against Debian's libmosquitto (debian_known_bug: cancelled inside publish)"
        );
        return;
    }
    let broker = Broker::start();
    run_client("publish_cancel", &[&broker.port.to_string()]).assert_passed();
}

/// libmosquitto 2.0.11 calls `on_message` holding its callback mutex, which a
/// `pthread_exit` there leaves locked: its next `loop_start` thread would wait on
/// it for good (debian_known_bug).
#[test]
fn after_pthread_exit_on_the_loop_start_thread_loop_start_runs_again() {
    if against_debian() {
        eprintln!(
            "skipped against Debian's libmosquitto (debian_known_bug: callback mutex left locked)"
        );
        return;
    }
    thread_exit("loop-start-again");
}

// ---------------------------------------------------------------------------------
// What callbacks queue goes out in the same loop call

#[test]
fn a_disconnect_from_on_publish_goes_out_in_the_same_mosquitto_loop_call() {
    let broker = Broker::start();
    run_client(
        "disconnect_in_callback",
        &[&broker.port.to_string(), "loop"],
    )
    .assert_passed();
}

#[test]
fn a_disconnect_from_on_publish_goes_out_in_the_same_loop_write_call() {
    let broker = Broker::start();
    run_client(
        "disconnect_in_callback",
        &[&broker.port.to_string(), "own-poll"],
    )
    .assert_passed();
}

// ---------------------------------------------------------------------------------
// A refused connection stays open until on_connect has run

/// Runs refused.c against `port`; the lines it printed.
pub fn refused(port: u16, protocol: &str, mode: &str, action: &str) -> Vec<String> {
    let output = run_client("refused", &[&port.to_string(), protocol, mode, action]);
    output.assert_passed();
    output
        .stdout
        .lines()
        .filter(|line| !line.starts_with("loaded:") && *line != "ok")
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_refused_connect_lets_on_connect_disconnect_cleanly_over_mqtt_3_1_1() {
    let broker = broker_with_a_user();
    for mode in ["loop", "forever"] {
        let lines = refused(broker.port, "311", mode, "disconnect");
        assert_eq!(
            lines,
            [
                "CONNECT 5",
                "DISCONNECT-CALL 0",
                "ON-DISCONNECT 0",
                "LOOP 0"
            ],
            "{mode}"
        );
    }
    let lines = refused(broker.port, "311", "start", "disconnect");
    assert_eq!(lines, ["CONNECT 5", "DISCONNECT-CALL 0", "ON-DISCONNECT 0"]);
}

#[test]
fn a_refused_connect_lets_on_connect_disconnect_cleanly_over_mqtt_5() {
    let broker = broker_with_a_user();
    for mode in ["loop", "forever"] {
        let lines = refused(broker.port, "5", mode, "disconnect");
        assert_eq!(
            lines,
            [
                "CONNECT 135",
                "DISCONNECT-CALL 0",
                "ON-DISCONNECT 0",
                "LOOP 0"
            ],
            "{mode}"
        );
    }
}

#[test]
fn a_refused_connect_not_disconnected_in_on_connect_ends_with_the_refusal() {
    let broker = broker_with_a_user();
    let lines = refused(broker.port, "311", "loop", "stay");
    assert_eq!(lines, ["CONNECT 5", "ON-DISCONNECT 5", "LOOP 5"]);
    let lines = refused(broker.port, "5", "loop", "stay");
    assert_eq!(lines, ["CONNECT 135", "ON-DISCONNECT 2", "LOOP 2"]);
}

// ---------------------------------------------------------------------------------
// libmosquitto 2.1's additions (Debian's 2.0.11 has none of them)

/// Runs `client/v21.c` with `args` against `broker`, or says why not in Debian mode.
fn v21(broker: &Broker, args: &[&str]) {
    let port = broker.port.to_string();
    let mut all = vec![port.as_str()];
    all.extend_from_slice(args);
    run_client("v21", &all).assert_passed();
}

/// True (with a message) when the tests run against Debian's libmosquitto 2.0.11,
/// which lacks the 2.1 functions.
fn no_2_1_functions() -> bool {
    if against_debian() {
        eprintln!(
            "skipped against Debian's libmosquitto 2.0.11: it lacks libmosquitto 2.1's functions"
        );
    }
    against_debian()
}

#[test]
fn on_pre_connect_sets_the_password_for_loop_forevers_reconnect_after_a_refusal() {
    if no_2_1_functions() {
        return;
    }
    v21(&broker_with_a_user(), &["pre-connect", "forever", "311"]);
}

#[test]
fn on_pre_connect_sets_the_password_for_the_loop_start_threads_reconnect_after_a_refusal() {
    if no_2_1_functions() {
        return;
    }
    v21(&broker_with_a_user(), &["pre-connect", "start", "311"]);
}

#[test]
fn on_pre_connect_runs_in_mosquitto_reconnect_over_mqtt_3_1_1_and_5() {
    if no_2_1_functions() {
        return;
    }
    let broker = broker_with_a_user();
    v21(&broker, &["pre-connect", "reconnect", "311"]);
    v21(&broker, &["pre-connect", "reconnect", "5"]);
}

#[test]
fn pthread_exit_in_on_pre_connect_ends_the_connecting_thread_and_the_client_connects_later() {
    if no_2_1_functions() {
        return;
    }
    v21(&broker_with_a_user(), &["pre-connect-exit"]);
}

#[test]
fn on_unsubscribe2_v5_gets_one_reason_code_per_filter_over_mqtt_5() {
    if no_2_1_functions() {
        return;
    }
    v21(&Broker::start(), &["unsubscribe", "5"]);
}

#[test]
fn on_unsubscribe2_v5_gets_no_reason_codes_over_mqtt_3_1_1() {
    if no_2_1_functions() {
        return;
    }
    v21(&Broker::start(), &["unsubscribe", "311"]);
}

#[test]
fn the_property_accessors_read_a_received_list_and_remove_unlinks_from_its_copy() {
    if no_2_1_functions() {
        return;
    }
    v21(&Broker::start(), &["received"]);
}
