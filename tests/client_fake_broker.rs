//! The client against the scripted fake broker: the exact bytes it writes, and
//! what it does with what the broker sends.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mosquitto::client::{Client, Target};
use mosquitto::error::Error;
use support::fake_broker::{packet, FakeBroker};
use support::seen::{loop_until, Seen};
use support::stage::{against_debian, c_program, run, subject_command};

const CONNACK_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const CONNACK_SESSION_PRESENT: [u8; 4] = [0x20, 0x02, 0x01, 0x00];
const DISCONNECT: [u8; 2] = [0xe0, 0x00];
/// CONNECT from client "c1", MQTT 3.1.1, clean session, keepalive 60.
const CONNECT_C1: [u8; 16] = [
    0x10, 0x0e, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x02, b'c', b'1',
];

fn client_with_recorder() -> (Arc<Client>, Arc<Seen>) {
    let client = Arc::new(Client::new(Some(b"c1"), true, 0).unwrap());
    let seen = Arc::new(Seen::default());
    let (a, b, c, d, e) = (
        seen.clone(),
        seen.clone(),
        seen.clone(),
        seen.clone(),
        seen.clone(),
    );
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |rc| a.push(format!("connect {rc}"))));
        cb.on_disconnect = Some(Arc::new(move |rc| b.push(format!("disconnect {rc}"))));
        cb.on_publish = Some(Arc::new(move |mid| c.push(format!("publish {mid}"))));
        cb.on_message = Some(Arc::new(move |m| {
            d.push(format!(
                "message {} {} {}",
                m.topic,
                m.qos,
                String::from_utf8_lossy(&m.payload)
            ))
        }));
        cb.on_subscribe = Some(Arc::new(move |mid, granted| {
            e.push(format!("subscribe {mid} {granted:?}"))
        }));
    });
    (client, seen)
}

fn connect(client: &Client, broker: &FakeBroker, keepalive: i32) {
    let target = Target::new(
        "127.0.0.1".into(),
        i32::from(broker.port()),
        keepalive,
        None,
    )
    .unwrap();
    client.connect(target, true).unwrap();
}

#[test]
fn connect_and_disconnect_write_the_exact_bytes() {
    let broker = FakeBroker::script()
        .expect(&CONNECT_C1)
        .send(&CONNACK_OK)
        .expect(&DISCONNECT)
        .expect_closed()
        .start();
    let (client, seen) = client_with_recorder();
    connect(&client, &broker, 60);
    loop_until(&client, || seen.has("connect 0")).unwrap();
    client.disconnect(0, vec![]).unwrap();
    // Without a loop thread the DISCONNECT is written at once and the close reported.
    assert!(seen.has("disconnect 0"));
    assert_eq!(client.run_loop(10, 1), Err(Error::NoConn));
    broker.finish();
}

#[test]
fn qos1_publish_is_reported_on_puback() {
    let broker = FakeBroker::script()
        .expect(&CONNECT_C1)
        .send(&CONNACK_OK)
        .expect(&[0x32, 0x07, 0x00, 0x01, b't', 0x00, 0x01, b'h', b'i'])
        .send(&[0x40, 0x02, 0x00, 0x01])
        .expect(&DISCONNECT)
        .start();
    let (client, seen) = client_with_recorder();
    connect(&client, &broker, 60);
    loop_until(&client, || seen.has("connect 0")).unwrap();
    let accepted = client.publish("t", b"hi", 1, false, vec![]).unwrap();
    assert_eq!(accepted.mid, 1);
    loop_until(&client, || seen.has("publish 1")).unwrap();
    client.disconnect(0, vec![]).unwrap();
    broker.finish();
}

#[test]
fn qos0_publish_is_written_at_once_and_reported() {
    let broker = FakeBroker::script()
        .expect(&CONNECT_C1)
        .send(&CONNACK_OK)
        .expect(&[0x30, 0x04, 0x00, 0x01, b't', b'x'])
        .start();
    let (client, seen) = client_with_recorder();
    connect(&client, &broker, 60);
    loop_until(&client, || seen.has("connect 0")).unwrap();
    client.publish("t", b"x", 0, false, vec![]).unwrap();
    assert!(seen.has("publish 1"));
    broker.finish();
}

#[test]
fn incoming_qos2_is_delivered_once_after_the_full_flow() {
    let broker = FakeBroker::script()
        .expect(&CONNECT_C1)
        .send(&CONNACK_OK)
        .send(&[0x34, 0x07, 0x00, 0x01, b't', 0x00, 0x07, b'h', b'i'])
        .expect(&[0x50, 0x02, 0x00, 0x07])
        .send(&[0x62, 0x02, 0x00, 0x07])
        .expect(&[0x70, 0x02, 0x00, 0x07])
        .start();
    let (client, seen) = client_with_recorder();
    connect(&client, &broker, 60);
    broker_done_then(&client, broker);
    assert_eq!(
        seen.all()
            .iter()
            .filter(|s| s.starts_with("message"))
            .collect::<Vec<_>>(),
        vec!["message t 2 hi"]
    );
}

/// Loops until the broker's script ends, then checks it passed.
fn broker_done_then(client: &Client, mut broker: FakeBroker) {
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let _ = client.run_loop(20, 1);
    }
    broker.join().unwrap();
}

#[test]
fn subscribe_writes_the_filter_and_reports_the_suback() {
    let broker = FakeBroker::script()
        .expect(&CONNECT_C1)
        .send(&CONNACK_OK)
        .expect(&[0x82, 0x08, 0x00, 0x01, 0x00, 0x03, b'a', b'/', b'#', 0x01])
        .send(&[0x90, 0x03, 0x00, 0x01, 0x01])
        .start();
    let (client, seen) = client_with_recorder();
    connect(&client, &broker, 60);
    loop_until(&client, || seen.has("connect 0")).unwrap();
    assert_eq!(client.subscribe(vec![("a/#".into(), 1)], vec![]), Ok(1));
    loop_until(&client, || seen.has("subscribe 1 [1]")).unwrap();
    broker.finish();
}

#[test]
fn an_idle_connection_sends_pingreq_after_the_keepalive() {
    let broker = FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        .send(&CONNACK_OK)
        .timeout(Duration::from_secs(8))
        .expect(&[0xc0, 0x00])
        .send(&[0xd0, 0x00])
        .start();
    let (client, seen) = client_with_recorder();
    connect(&client, &broker, 5);
    loop_until(&client, || seen.has("connect 0")).unwrap();
    let start = Instant::now();
    // The script ends (and closes the socket) once the PINGRESP is sent.
    while start.elapsed() < Duration::from_millis(5500) {
        if client.run_loop(100, 1).is_err() {
            break;
        }
    }
    assert!(start.elapsed() > Duration::from_millis(4500));
    broker.finish();
}

#[test]
fn a_malformed_packet_ends_the_connection_with_its_error() {
    let broker = FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        // A CONNACK must have two bytes of body.
        .send(&[0x20, 0x03, 0x00, 0x00, 0x00])
        .start();
    let (client, seen) = client_with_recorder();
    connect(&client, &broker, 60);
    let error = loop_until(&client, || false).unwrap_err();
    assert!(error != Error::NoConn, "{error:?}");
    assert_eq!(seen.all(), vec![format!("disconnect {}", error.code())]);
    assert_eq!(client.run_loop(10, 1), Err(Error::NoConn));
    broker.finish();
}

#[test]
fn a_lost_connection_is_made_again_and_unacknowledged_messages_resent() {
    let broker = FakeBroker::script()
        .expect(&CONNECT_C1)
        .send(&CONNACK_OK)
        .expect(&[0x32, 0x07, 0x00, 0x01, b't', 0x00, 0x01, b'h', b'i'])
        .close()
        .accept()
        .expect(&CONNECT_C1)
        .send(&CONNACK_SESSION_PRESENT)
        // Sent again, with DUP set as the broker kept the session.
        .expect(&[0x3a, 0x07, 0x00, 0x01, b't', 0x00, 0x01, b'h', b'i'])
        .send(&[0x40, 0x02, 0x00, 0x01])
        .start();
    let (client, seen) = client_with_recorder();
    connect(&client, &broker, 60);
    client.loop_start().unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while !seen.has("connect 0") {
        assert!(Instant::now() < until);
        std::thread::sleep(Duration::from_millis(10));
    }
    client.publish("t", b"hi", 1, false, vec![]).unwrap();
    while !seen.has("publish 1") {
        assert!(Instant::now() < until, "{:?}", seen.all());
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(seen.has(&format!("disconnect {}", Error::ConnLost.code())));
    client.loop_stop(false).unwrap();
    broker.finish();
}

#[test]
fn loop_stop_returns_promptly_while_reconnecting() {
    // A port nothing listens on: the thread keeps failing to reconnect.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = Arc::new(Client::new(Some(b"c1"), true, 0).unwrap());
    client.with_options(|o| o.set_reconnect_delay(30, 30, false));
    let target = Target::new("127.0.0.1".into(), i32::from(port), 60, None).unwrap();
    assert_eq!(
        client.connect(target, true),
        Err(Error::Errno(libc::ECONNREFUSED))
    );
    client.loop_start().unwrap();
    assert_eq!(client.loop_start(), Err(Error::Inval));
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    client.loop_stop(false).unwrap();
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(client.loop_stop(false), Err(Error::Inval));
}

#[test]
fn reconnect_delays_grow_as_libmosquittos() {
    let client = Client::new(Some(b"c1"), true, 0).unwrap();
    let secs = |c: &Client| {
        (0..5)
            .map(|n| c.reconnect_delay(n).as_secs())
            .collect::<Vec<_>>()
    };
    assert_eq!(secs(&client), vec![1, 1, 1, 1, 1]);
    client.with_options(|o| o.set_reconnect_delay(2, 7, false));
    assert_eq!(secs(&client), vec![2, 4, 6, 7, 7]);
    client.with_options(|o| o.set_reconnect_delay(1, 10, true));
    assert_eq!(secs(&client), vec![1, 4, 9, 10, 10]);
}

// ---------------------------------------------------------------------------------
// Log lines, from a C program on the library under test (Debian's too, with
// SKEETER_TEST_AGAINST_DEBIAN=1): cbindings-tests/client/log_lines.c

/// A v5 AUTH asking to continue authentication with method "X-TEST".
const AUTH_CONTINUE: [u8; 13] = [
    0xf0, 0x0b, 0x18, 0x09, 0x15, 0x00, 0x06, b'X', b'-', b'T', b'E', b'S', b'T',
];
/// A PUBACK one byte short: malformed.
const MALFORMED_PUBACK: [u8; 3] = [0x40, 0x01, 0x00];

/// Runs `cbindings-tests/<program>` with `broker`'s port and then `args` on the
/// library under test; fails the test unless it passed.
fn run_c_program(program: &str, broker: &FakeBroker, args: &[&str]) -> support::stage::Output {
    let mut command = subject_command(c_program(program));
    command.arg(broker.port().to_string()).args(args);
    let output = run(&mut command, Duration::from_secs(30));
    output.assert_passed();
    output
}

/// Runs log_lines.c against `broker`; its output and the broker's transcript.
fn log_lines(broker: FakeBroker, protocol: &str) -> (String, support::fake_broker::Transcript) {
    let output = run_c_program("client/log_lines.c", &broker, &[protocol]);
    (output.stdout.clone(), broker.finish())
}

/// Checks that `want` appear in `stdout` in this order (other lines may come
/// between them).
fn assert_lines_in_order(stdout: &str, want: &[&str]) {
    let mut lines = stdout.lines();
    for line in want {
        assert!(
            lines.any(|l| l == *line),
            "missing or out of order: {line:?}\n--- output:\n{stdout}"
        );
    }
}

/// The DEBUG lines (level 16) for the exchange both scripts share, as
/// libmosquitto 2.0.11 prints them.
const EXCHANGE: [&str; 8] = [
    "CONNECT 0",
    "LOG 16 Client logger sending SUBSCRIBE (Mid: 1, Topic: a/#, QoS: 1, Options: 0x00)",
    "LOG 16 Client logger sending PUBLISH (d0, q1, r0, m2, 't', ... (2 bytes))",
    "LOG 16 Client logger received SUBACK",
    "LOG 16 Client logger received PUBACK (Mid: 2, RC:0)",
    "LOG 16 Client logger received PUBLISH (d0, q0, r0, m0, 'a/b', ... (2 bytes))",
    "MESSAGE a/b yo",
    "DISCONNECT",
];

/// The end of the output after the malformed PUBACK: an ERR line (ours; Debian's
/// libmosquitto logs nothing) and MOSQ_ERR_PROTOCOL, as libmosquitto 2.0.11
/// reports a packet cut short, in on_disconnect and from mosquitto_loop.
fn assert_malformed_ending(stdout: &str) {
    let code = Error::Protocol.code();
    let (disconnect, from_loop) = (format!("DISCONNECT {code}"), format!("LOOP {code}"));
    if against_debian() {
        assert_lines_in_order(stdout, &[&disconnect, &from_loop]);
        return;
    }
    assert_lines_in_order(
        stdout,
        &[
            "LOG 8 Client logger received a malformed packet, closing its connection: Protocol (2)",
            &disconnect,
            &from_loop,
        ],
    );
}

#[test]
fn log_lines_match_libmosquitto_and_a_malformed_packet_is_logged_over_mqtt_3_1_1() {
    let broker = FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        .send(&CONNACK_OK)
        .expect_packet_type(packet::SUBSCRIBE)
        .expect_packet_type(packet::PUBLISH)
        .send(&[0x90, 0x03, 0x00, 0x01, 0x01])
        .send(&[0x40, 0x02, 0x00, 0x02])
        .send(&[0x30, 0x07, 0x00, 0x03, b'a', b'/', b'b', b'y', b'o'])
        .sleep(Duration::from_millis(200))
        .send(&MALFORMED_PUBACK)
        .expect_closed()
        .start();
    let (stdout, _) = log_lines(broker, "311");
    assert_lines_in_order(
        &stdout,
        &[
            "LOG 16 Client logger sending CONNECT",
            "LOG 16 Client logger received CONNACK (0)",
        ],
    );
    let mut exchange = EXCHANGE.to_vec();
    exchange.pop();
    assert_lines_in_order(&stdout, &exchange);
    assert_malformed_ending(&stdout);
}

#[test]
fn auth_from_the_broker_is_logged_and_ignored_and_connect_carries_the_auth_method_over_mqtt_5() {
    let mut script = FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        .send(&AUTH_CONTINUE)
        .send(&[0x20, 0x03, 0x00, 0x00, 0x00])
        .expect_packet_type(packet::SUBSCRIBE)
        .expect_packet_type(packet::PUBLISH)
        .send(&[0x90, 0x04, 0x00, 0x01, 0x00, 0x01])
        .send(&[0x40, 0x02, 0x00, 0x02])
        .send(&[0x30, 0x08, 0x00, 0x03, b'a', b'/', b'b', 0x00, b'y', b'o'])
        .sleep(Duration::from_millis(200))
        .send(&MALFORMED_PUBACK);
    if !against_debian() {
        // An MQTT 5 client tells the broker why it closes: Malformed Packet.
        // libmosquitto 2.0.11 closes without a DISCONNECT.
        script = script.expect(&[0xe0, 0x01, 0x81]);
    }
    let (stdout, transcript) = log_lines(script.expect_closed().start(), "5");
    let connect = &transcript.received[0];
    let has = |needle: &[u8]| connect.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"\x15\x00\x06X-TEST"), "no authentication method");
    assert!(has(b"\x16\x00\x02ab"), "no authentication data");
    assert_lines_in_order(
        &stdout,
        &[
            "LOG 16 Client logger sending CONNECT",
            "LOG 16 Client logger received AUTH",
            "LOG 16 Client logger received CONNACK (0)",
        ],
    );
    let mut exchange = EXCHANGE.to_vec();
    exchange.pop();
    assert_lines_in_order(&stdout, &exchange);
    assert_malformed_ending(&stdout);
}

/// A QoS 0 PUBLISH to topic "t".
fn qos0_publish(payload: &[u8]) -> Vec<u8> {
    let mut body = vec![0x00, 0x01, b't'];
    body.extend_from_slice(payload);
    let mut out = vec![0x30];
    let mut len = body.len();
    loop {
        let byte = (len % 128) as u8;
        len /= 128;
        out.push(if len > 0 { byte | 0x80 } else { byte });
        if len == 0 {
            break;
        }
    }
    out.extend(body);
    out
}

#[test]
fn packets_cut_anywhere_between_reads_and_larger_than_the_read_buffer_arrive_whole() {
    // 3000 small messages, one of 200 KiB (more than one read buffer), 5 more;
    // sent in pieces cut inside headers and bodies, with pauses between.
    let mut stream = Vec::new();
    for i in 0..3000u32 {
        stream.extend(qos0_publish(&i.to_be_bytes()));
    }
    let big: Vec<u8> = (0..200 * 1024).map(|i| (i % 251) as u8).collect();
    stream.extend(qos0_publish(&big));
    for i in 0..5u32 {
        stream.extend(qos0_publish(&i.to_be_bytes()));
    }
    let cuts = [1, 7, 20_001, 45_000, 45_001, 100_000, 170_000, stream.len()];
    let mut script = FakeBroker::script().expect(&CONNECT_C1).send(&CONNACK_OK);
    let mut at = 0;
    for cut in cuts {
        script = script
            .send(&stream[at..cut])
            .sleep(Duration::from_millis(20));
        at = cut;
    }
    let broker = script.start();

    let client = Arc::new(Client::new(Some(b"c1"), true, 0).unwrap());
    let lengths = Arc::new(Mutex::new(Vec::new()));
    let big_ok = Arc::new(Mutex::new(false));
    let (l, b, expected) = (lengths.clone(), big_ok.clone(), big.clone());
    client.set_callbacks(|cb| {
        cb.on_message = Some(Arc::new(move |m| {
            l.lock().unwrap().push(m.payload.len());
            if m.payload.len() == expected.len() {
                *b.lock().unwrap() = m.payload == expected;
            }
        }))
    });
    connect(&client, &broker, 60);
    loop_until(&client, || lengths.lock().unwrap().len() == 3006).unwrap();
    let lengths = lengths.lock().unwrap().clone();
    assert!(lengths[..3000].iter().all(|&n| n == 4));
    assert_eq!(lengths[3000], 200 * 1024);
    assert!(lengths[3001..].iter().all(|&n| n == 4));
    assert!(*big_ok.lock().unwrap());
    broker.finish();
}

// ---------------------------------------------------------------------------------
// A refused connection stays open until on_connect has run (cbindings-tests/client/refused.c)

/// Runs refused.c over MQTT 5 against a broker that answers CONNECT with
/// `connack`; the lines it printed and what the broker received after CONNECT.
fn refused_by(connack: &[u8], mode: &str, action: &str) -> (Vec<String>, Vec<Vec<u8>>) {
    let mut script = FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        .send(connack);
    // libmosquitto 2.0.11 drops the DISCONNECT it queued in on_connect when it
    // closes the refused connection; we send it (see README, "Differences").
    if action == "disconnect" && !against_debian() {
        script = script.expect(&DISCONNECT);
    }
    let broker = script.drain_until_closed().start();
    let output = run_c_program("client/refused.c", &broker, &["5", mode, action]);
    let lines = output
        .stdout
        .lines()
        .filter(|line| !line.starts_with("loaded:") && *line != "ok")
        .map(str::to_owned)
        .collect();
    (lines, broker.finish().received)
}

/// In every loop mode, a program that disconnects from `on_connect` after
/// `connack` refused it sees `rc`, then success everywhere, and DISCONNECT goes out.
fn disconnect_after_refusal_is_clean(connack: &[u8], rc: u8) {
    let connected = format!("CONNECT {rc}");
    for mode in ["loop", "forever"] {
        let (lines, received) = refused_by(connack, mode, "disconnect");
        let want = [
            connected.as_str(),
            "DISCONNECT-CALL 0",
            "ON-DISCONNECT 0",
            "LOOP 0",
        ];
        assert_eq!(lines, want, "{mode}");
        if !against_debian() {
            assert_eq!(received.get(1).map(Vec::as_slice), Some(&DISCONNECT[..]));
        }
    }
    let (lines, _) = refused_by(connack, "start", "disconnect");
    assert_eq!(
        lines,
        [connected.as_str(), "DISCONNECT-CALL 0", "ON-DISCONNECT 0"]
    );
}

#[test]
fn a_v3_connack_refusing_mqtt_5_lets_on_connect_send_disconnect() {
    disconnect_after_refusal_is_clean(&[0x20, 0x02, 0x00, 0x01], 132);
}

#[test]
fn an_mqtt_5_refusal_lets_on_connect_send_disconnect() {
    let not_authorized = [0x20, 0x03, 0x00, 0x87, 0x00];
    disconnect_after_refusal_is_clean(&not_authorized, 0x87);
    let (lines, _) = refused_by(&not_authorized, "loop", "stay");
    assert_eq!(lines, ["CONNECT 135", "ON-DISCONNECT 2", "LOOP 2"]);
}

#[test]
fn a_message_resent_after_a_reconnect_without_a_kept_session_carries_dup() {
    let broker = FakeBroker::script()
        .expect(&CONNECT_C1)
        .send(&CONNACK_OK)
        .expect(&[0x32, 0x07, 0x00, 0x01, b't', 0x00, 0x01, b'h', b'i'])
        .close()
        .accept()
        .expect(&CONNECT_C1)
        .send(&CONNACK_OK)
        .expect(&[0x3a, 0x07, 0x00, 0x01, b't', 0x00, 0x01, b'h', b'i'])
        .send(&[0x40, 0x02, 0x00, 0x01])
        .expect(&DISCONNECT)
        .drain_until_closed()
        .start();
    run_c_program("client/resend_dup.c", &broker, &[]);
    broker.finish();
}

#[test]
fn loop_start_waits_for_an_ending_thread_whose_last_callback_calls_loop_stop() {
    let broker = FakeBroker::script()
        .expect(&CONNECT_C1)
        .send(&CONNACK_OK)
        .send(&[0x30, 0x04, 0x00, 0x01, b't', b'm'])
        .expect(&DISCONNECT)
        .drain_until_closed()
        .start();
    let client = Arc::new(Client::new(Some(b"c1"), true, 0).unwrap());
    let seen = Arc::new(Seen::default());
    let (on_message, on_disconnect) = (client.clone(), client.clone());
    let (heard, ended) = (seen.clone(), seen.clone());
    client.set_callbacks(|cb| {
        // The message asks the thread to end; it ends after writing DISCONNECT,
        // whose on_disconnect calls loop_stop while loop_start already waits.
        cb.on_message = Some(Arc::new(move |_| {
            on_message.disconnect(0, Vec::new()).unwrap();
            on_message.loop_stop(false).unwrap();
            heard.push("message".into());
        }));
        cb.on_disconnect = Some(Arc::new(move |_| {
            std::thread::sleep(Duration::from_millis(300));
            let _ = on_disconnect.loop_stop(false);
            ended.push("disconnect".into());
        }));
    });
    connect(&client, &broker, 60);
    client.loop_start().unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while !seen.has("message") {
        assert!(Instant::now() < until, "no message");
        std::thread::sleep(Duration::from_millis(5));
    }
    let (done, started) = std::sync::mpsc::channel();
    let starter = client.clone();
    std::thread::spawn(move || done.send(starter.loop_start()).unwrap());
    let result = started
        .recv_timeout(Duration::from_secs(10))
        .expect("loop_start deadlocked with the ending thread's loop_stop");
    assert_eq!(result, Ok(()));
    assert!(seen.has("disconnect"));
    client.loop_stop(true).unwrap();
    broker.finish();
}

// ---------------------------------------------------------------------------------
// Nodes of a received property list passed back to the library:
// cbindings-tests/client/v5_received_node.c

/// A v5 CONNACK, success, no properties.
const CONNACK_V5_OK: [u8; 5] = [0x20, 0x03, 0x00, 0x00, 0x00];
/// The User Property k=v.
const USER_PROPERTY_K_V: [u8; 7] = [0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v'];

/// A QoS 0 request on "req" whose properties are Correlation Data "id", the
/// User Property k=v and Content Type "t", in that order; payload "q".
fn request_with_three_properties() -> Vec<u8> {
    let mut packet = vec![0x30, 0x17, 0x00, 0x03, b'r', b'e', b'q', 0x10];
    packet.extend_from_slice(&[0x09, 0x00, 0x02, b'i', b'd']);
    packet.extend_from_slice(&USER_PROPERTY_K_V);
    packet.extend_from_slice(&[0x03, 0x00, 0x01, b't', b'q']);
    packet
}

/// `head`, then `properties` with their length before them, then `tail`.
fn with_properties(head: &[u8], properties: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut packet = head.to_vec();
    packet.push(properties.len() as u8);
    packet.extend_from_slice(properties);
    packet.extend_from_slice(tail);
    packet
}

#[test]
fn a_node_of_a_received_list_passed_to_a_v5_call_sends_that_property_alone() {
    // Each packet carries the one node the program passed, not the nodes after it.
    // QoS 0 publishes use up a message id too, so SUBSCRIBE has mid 2.
    let reply = with_properties(
        &[0x30, 0x11, 0x00, 0x04, b'r', b'e', b's', b'p'],
        &[0x09, 0x00, 0x02, b'i', b'd'],
        b"reply",
    );
    let subscribe = with_properties(
        &[0x82, 0x0e, 0x00, 0x02],
        &USER_PROPERTY_K_V,
        &[0x00, 0x01, b's', 0x00],
    );
    let unsubscribe = with_properties(
        &[0xa2, 0x0d, 0x00, 0x03],
        &USER_PROPERTY_K_V,
        &[0x00, 0x01, b's'],
    );
    let disconnect = with_properties(&[0xe0, 0x09, 0x00], &USER_PROPERTY_K_V, &[]);
    let broker = FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        .send(&CONNACK_V5_OK)
        .send(&request_with_three_properties())
        .expect(&reply)
        .expect(&subscribe)
        .expect(&unsubscribe)
        .expect(&disconnect)
        .expect_closed()
        .start();
    run_c_program("client/v5_received_node.c", &broker, &[]);
    broker.finish();
}

#[test]
fn a_qos0_publish_is_logged_with_its_mid_and_sent_without_one() {
    let broker = FakeBroker::script()
        .expect(&CONNECT_C1)
        .send(&CONNACK_OK)
        .expect(&[0x30, 0x05, 0x00, 0x01, b't', b'h', b'i'])
        .expect(&DISCONNECT)
        .drain_until_closed()
        .start();
    let (client, seen) = client_with_recorder();
    let logged = seen.clone();
    client.set_callbacks(|cb| cb.on_log = Some(Arc::new(move |_, line| logged.push(line.into()))));
    connect(&client, &broker, 60);
    loop_until(&client, || seen.has("connect 0")).unwrap();
    let accepted = client.publish("t", b"hi", 0, false, vec![]).unwrap();
    let line = format!(
        "Client c1 sending PUBLISH (d0, q0, r0, m{}, 't', ... (2 bytes))",
        accepted.mid
    );
    assert!(seen.has(&line), "{:?}", seen.all());
    client.disconnect(0, vec![]).unwrap();
    broker.finish();
}
