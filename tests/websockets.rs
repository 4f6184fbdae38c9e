//! MQTT over WebSockets (libmosquitto 2.1's `MOSQ_OPT_TRANSPORT`).
//!
//! Against RabbitMQ's Web MQTT plugin (one node for this binary, see
//! `support::rabbitmq`): the C program `cbindings-tests/websockets/ws_client.c`
//! in every loop mode, with a 1 MiB payload, across a dropped connection, over
//! TLS (wss) and through microsocks. Against a scripted fake server, with exact
//! bytes: the upgrade's failures, and frames cut, joined, pinged and closed.
//!
//! The fake-server tests drive the Rust client directly. Debian's libmosquitto
//! 2.0 has no WebSockets: in Debian mode the C program tests do nothing.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mosquitto::client::{Client, Target};
use mosquitto::error::Error;
use support::fake_ws_server::{
    binary, binary_header, frame, upgrade_answer, upgrade_answer_with, FakeWsServer, WsPeer,
};
use support::rabbitmq::{RabbitMq, WS_PATH};
use support::seen::{loop_until, Seen};
use support::stage::{
    against_debian, c_program, run, scratch_root, subject, subject_command, Compile, Output,
};
use support::tls::{cert_file, Socks};

/// Records the largest single allocation, for the test that a frame header
/// announcing 16 MiB makes the client allocate nothing of that size.
struct LargestAllocation;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: as `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

const PROGRAM_TIMEOUT: Duration = Duration::from_secs(90);
/// CONNECT from client "c1", MQTT 3.1.1, clean session, keepalive 60.
const CONNECT_C1: [u8; 16] = [
    0x10, 0x0e, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x02, b'c', b'1',
];
const CONNACK_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];

// ---------------------------------------------------------------------------------
// Against RabbitMQ

/// Runs `ws_client PORT MODE ARGS...` on the library under test.
fn ws_client(port: u16, mode: &str, args: &[&str]) -> Output {
    let program = c_program("websockets/ws_client.c");
    let mut command = subject_command(program);
    command.arg(port.to_string()).arg(mode).args(args);
    run(&mut command, PROGRAM_TIMEOUT)
}

/// Runs `test` with the shared node; in Debian mode (no WebSockets), nothing.
fn on_rabbitmq(test: impl FnOnce(&RabbitMq)) {
    if !against_debian() {
        test(RabbitMq::shared());
    }
}

fn round_trip_over_ws(mode: &str) {
    on_rabbitmq(|node| {
        ws_client(node.ws, mode, &["--path", WS_PATH]).assert_passed();
    });
}

#[test]
fn qos_0_and_1_round_trip_over_ws_in_loop() {
    round_trip_over_ws("loop");
}

#[test]
fn qos_0_and_1_round_trip_over_ws_in_loop_forever() {
    round_trip_over_ws("forever");
}

#[test]
fn qos_0_and_1_round_trip_over_ws_in_loop_start() {
    round_trip_over_ws("start");
}

#[test]
fn qos_0_and_1_round_trip_over_ws_in_the_programs_own_poll_loop() {
    round_trip_over_ws("own");
}

#[test]
fn mqtt_31_over_ws_asks_for_the_mqttv31_subprotocol() {
    on_rabbitmq(|node| {
        let args = ["--path", WS_PATH, "--protocol", "31"];
        ws_client(node.ws, "loop", &args).assert_passed();
    });
}

#[test]
fn a_1_mib_payload_crosses_ws_both_ways() {
    on_rabbitmq(|node| {
        let args = ["--path", WS_PATH, "--payload", "1048576", "--count", "2"];
        ws_client(node.ws, "start", &args).assert_passed();
    });
}

#[test]
fn the_client_reconnects_over_ws_after_the_broker_drops_it() {
    on_rabbitmq(|node| {
        let drop = node.close_all_connections_command();
        for mode in ["start", "forever"] {
            ws_client(node.ws, mode, &["--path", WS_PATH, "--drop", &drop]).assert_passed();
        }
    });
}

#[test]
fn wss_runs_the_upgrade_inside_tls() {
    on_rabbitmq(|node| {
        let ca = cert_file("ca.pem");
        ws_client(node.wss, "forever", &["--path", WS_PATH, "--cafile", &ca]).assert_passed();
    });
}

#[test]
fn ws_goes_through_a_socks5_proxy() {
    on_rabbitmq(|node| {
        let socks = Socks::start(None);
        let proxy = socks.port.to_string();
        ws_client(node.ws, "loop", &["--path", WS_PATH, "--socks", &proxy]).assert_passed();
    });
}

#[test]
fn a_wrong_path_is_refused_by_the_broker_with_the_status_line_logged() {
    on_rabbitmq(|node| {
        let output = ws_client(node.ws, "loop", &["--path", "/nowhere", "--count", "1"]);
        assert!(
            output
                .stdout
                .contains("log: WebSocket: the server refused the upgrade: HTTP/1.1 404"),
            "{output}"
        );
        assert!(output.stdout.contains("mosquitto_loop: 2 "), "{output}");
    });
}

#[test]
fn the_websockets_example_makes_a_round_trip() {
    on_rabbitmq(|node| {
        let program = scratch_root().join("example-websockets");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples-c/websockets.c");
        Compile::c(source, subject())
            .link(subject())
            .build(&program);
        let mut command = subject_command(&program);
        command.args(["127.0.0.1", &node.ws.to_string(), WS_PATH]);
        let output = run(&mut command, PROGRAM_TIMEOUT);
        output.assert_success("examples-c/websockets.c");
        assert!(
            output
                .stdout
                .contains("demo/websockets hello over WebSockets"),
            "{output}"
        );
    });
}

// ---------------------------------------------------------------------------------
// Against the fake server

/// A WebSocket client "c1" connected (blocking TCP) to `server`, recording
/// connect, disconnect, message and error log lines.
fn ws_client_to(server: &FakeWsServer) -> (Arc<Client>, Arc<Seen>) {
    let client = Arc::new(Client::new(Some(b"c1"), true, 0).unwrap());
    client
        .with_options(|o| o.websocket.set_transport(2))
        .unwrap();
    let seen = Arc::new(Seen::default());
    let (a, b, c, d) = (seen.clone(), seen.clone(), seen.clone(), seen.clone());
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |rc| a.push(format!("connect {rc}"))));
        cb.on_disconnect = Some(Arc::new(move |rc| b.push(format!("disconnect {rc}"))));
        cb.on_message = Some(Arc::new(move |m| {
            c.push(format!(
                "message {} {}",
                m.topic,
                String::from_utf8_lossy(&m.payload)
            ))
        }));
        cb.on_log = Some(Arc::new(move |level, line| {
            if level == 8 {
                d.push(format!("error {line}"));
            }
        }));
    });
    let target = Target::new("127.0.0.1".into(), i32::from(server.port), 60, None).unwrap();
    client.connect(target, true).unwrap();
    (client, seen)
}

/// Accepts the upgrade and reads the CONNECT: one masked binary frame.
fn upgrade_and_read_connect(peer: &mut WsPeer) {
    let request = peer.read_request();
    peer.send(&upgrade_answer(&request));
    let connect = peer.read_frame();
    assert_eq!(connect.first, 0x82);
    assert!(connect.masked);
    assert_eq!(connect.payload, CONNECT_C1);
}

/// Answers the upgrade and the CONNECT: the client is connected.
fn accept_and_connack(peer: &mut WsPeer) {
    upgrade_and_read_connect(peer);
    peer.send(&binary(&CONNACK_OK));
}

#[test]
fn the_upgrade_request_carries_host_path_key_and_mqtt_subprotocol() {
    let server = FakeWsServer::start(|peer| {
        let request = peer.read_request();
        assert!(request.starts_with("GET /mqtt HTTP/1.1\r\n"), "{request}");
        assert!(request.contains("\r\nUpgrade: websocket\r\n"));
        assert!(request.contains("\r\nConnection: Upgrade\r\n"));
        assert!(request.contains("\r\nSec-WebSocket-Version: 13\r\n"));
        assert!(request.contains("\r\nSec-WebSocket-Protocol: mqtt\r\n"));
        let host = request.lines().find(|l| l.starts_with("Host: ")).unwrap();
        assert!(host.starts_with("Host: 127.0.0.1:"), "{host}");
        peer.send(&upgrade_answer(&request));
        assert_eq!(peer.read_frame().payload, CONNECT_C1);
        peer.send(&binary(&CONNACK_OK));
        peer.expect_closed();
    });
    let (client, seen) = ws_client_to(&server);
    loop_until(&client, || seen.has("connect 0")).unwrap();
    client.disconnect(0, vec![]).unwrap();
    server.finish();
}

/// The loop's error and the error lines logged, for a server whose answer to
/// the upgrade is `answer(request)`.
fn failed_upgrade(answer: fn(&str) -> Vec<u8>) -> (Error, Vec<String>) {
    let server = FakeWsServer::start(move |peer| {
        let request = peer.read_request();
        peer.send(&answer(&request));
        peer.expect_closed();
    });
    let (client, seen) = ws_client_to(&server);
    let error = loop_until(&client, || false).unwrap_err();
    server.finish();
    (error, seen.all())
}

#[test]
fn a_wrong_accept_key_fails_the_upgrade_as_a_protocol_error() {
    let (error, seen) = failed_upgrade(|request| {
        upgrade_answer_with(
            request,
            Some("dGhlIHNhbXBsZSBub25jZQ=="),
            "Sec-WebSocket-Protocol: mqtt\r\n",
        )
    });
    assert_eq!(error, Error::Protocol);
    assert!(
        seen.iter().any(|l| l.contains("Sec-WebSocket-Accept")),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|l| l.starts_with("connect")));
}

#[test]
fn a_403_is_a_protocol_error_with_the_status_line_in_the_log() {
    let (error, seen) =
        failed_upgrade(|_| b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_vec());
    assert_eq!(error, Error::Protocol);
    assert!(
        seen.iter().any(|l| l.starts_with("error ")
            && l.ends_with("the server refused the upgrade: HTTP/1.1 403 Forbidden")),
        "{seen:?}"
    );
}

#[test]
fn an_answer_without_the_subprotocol_is_a_protocol_error() {
    let (error, seen) = failed_upgrade(|request| upgrade_answer_with(request, None, ""));
    assert_eq!(error, Error::Protocol);
    assert!(
        seen.iter().any(|l| l.contains("no subprotocol")),
        "{seen:?}"
    );
}

#[test]
fn an_answer_longer_than_http_header_size_is_a_protocol_error() {
    let server = FakeWsServer::start(|peer| {
        let request = peer.read_request();
        let padding = format!("X-Padding: {}\r\n", "p".repeat(200));
        peer.send(&upgrade_answer_with(&request, None, &padding));
        peer.expect_closed();
    });
    let client = Client::new(Some(b"c1"), true, 0).unwrap();
    client
        .with_options(|o| {
            o.websocket.set_transport(2)?;
            o.websocket.set_header_size(150)
        })
        .unwrap();
    let target = Target::new("127.0.0.1".into(), i32::from(server.port), 60, None).unwrap();
    client.connect(target, true).unwrap();
    let error = loop_until(&client, || false).unwrap_err();
    assert_eq!(error, Error::Protocol);
    server.finish();
}

#[test]
fn packets_split_across_frames_and_reads_and_joined_in_one_frame_arrive_whole() {
    let server = FakeWsServer::start(|peer| {
        upgrade_and_read_connect(peer);
        // CONNACK in two frames, each cut into single bytes on the wire.
        let mut split = binary(&CONNACK_OK[..1]);
        split.extend_from_slice(&binary(&CONNACK_OK[1..]));
        peer.send_in_pieces(&split, 1);
        // Two PUBLISH packets in one frame.
        let publish = [0x30, 0x04, 0x00, 0x01, b't', b'a'];
        let mut two = publish.to_vec();
        two.extend_from_slice(&[0x30, 0x04, 0x00, 0x01, b't', b'b']);
        peer.send(&binary(&two));
        peer.expect_closed();
    });
    let (client, seen) = ws_client_to(&server);
    loop_until(&client, || seen.has("message t b")).unwrap();
    assert_eq!(
        seen.all(),
        vec!["connect 0", "message t a", "message t b"],
        "in order"
    );
    client.disconnect(0, vec![]).unwrap();
    server.finish();
}

#[test]
fn a_fragmented_message_is_reassembled() {
    let server = FakeWsServer::start(|peer| {
        upgrade_and_read_connect(peer);
        // Binary without FIN, then a ping in between, then the final continuation.
        peer.send(&[0x02, 0x02, 0x20, 0x02]);
        peer.send(&frame(0x9, b""));
        peer.send(&[0x80, 0x02, 0x00, 0x00]);
        assert_eq!(peer.read_frame().first, 0x8A, "the ping's pong");
        peer.expect_closed();
    });
    let (client, seen) = ws_client_to(&server);
    loop_until(&client, || seen.has("connect 0")).unwrap();
    // One more turn writes the pong if the CONNACK came first.
    let _ = client.run_loop(50, 1);
    client.disconnect(0, vec![]).unwrap();
    server.finish();
}

#[test]
fn a_ping_is_answered_with_a_masked_pong_carrying_its_payload() {
    let server = FakeWsServer::start(|peer| {
        accept_and_connack(peer);
        peer.send(&frame(0x9, b"are you there"));
        let pong = peer.read_frame();
        assert_eq!(pong.first, 0x8A);
        assert!(pong.masked, "client frames are masked");
        assert_eq!(pong.payload, b"are you there");
        peer.send(&binary(&[0x30, 0x04, 0x00, 0x01, b't', b'p']));
        peer.expect_closed();
    });
    let (client, seen) = ws_client_to(&server);
    loop_until(&client, || seen.has("message t p")).unwrap();
    client.disconnect(0, vec![]).unwrap();
    server.finish();
}

#[test]
fn a_close_frame_mid_packet_is_answered_and_ends_the_connection_as_lost() {
    let server = FakeWsServer::start(|peer| {
        accept_and_connack(peer);
        // The start of a PUBLISH, then the server closes (1001, going away).
        peer.send(&binary(&[0x30, 0x04, 0x00]));
        peer.send(&frame(0x8, &[0x03, 0xE9, b'b', b'y', b'e']));
        let answer = peer.read_frame();
        assert_eq!(answer.first, 0x88, "a close answers the close");
        assert!(answer.masked);
        assert_eq!(answer.payload, [0x03, 0xE9], "the status code echoed");
        peer.expect_closed();
    });
    let (client, seen) = ws_client_to(&server);
    let error = loop_until(&client, || false).unwrap_err();
    assert_eq!(error, Error::ConnLost);
    assert!(seen.has("disconnect 7"), "{:?}", seen.all());
    assert!(
        seen.all()
            .iter()
            .any(|l| l.contains("closed the connection (1001 bye)")),
        "{:?}",
        seen.all()
    );
    server.finish();
}

#[test]
fn a_16_mib_frame_header_is_streamed_without_allocating_its_length() {
    let server = FakeWsServer::start(|peer| {
        upgrade_and_read_connect(peer);
        peer.send(&binary_header(16u64 << 20));
        peer.send(&CONNACK_OK);
        peer.expect_closed();
    });
    let (client, seen) = ws_client_to(&server);
    LARGEST.store(0, Ordering::Relaxed);
    loop_until(&client, || seen.has("connect 0")).unwrap();
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest < 4 << 20, "an allocation of {largest} bytes");
    client.disconnect(0, vec![]).unwrap();
    server.finish();
}

#[test]
fn a_frame_length_with_the_top_bit_set_is_a_protocol_error() {
    let server = FakeWsServer::start(|peer| {
        upgrade_and_read_connect(peer);
        peer.send(&binary_header(1u64 << 63));
        peer.expect_closed();
    });
    let (client, seen) = ws_client_to(&server);
    let error = loop_until(&client, || false).unwrap_err();
    assert_eq!(error, Error::Protocol);
    assert!(
        seen.all().iter().any(|l| l.contains("frame length")),
        "{:?}",
        seen.all()
    );
    server.finish();
}

#[test]
fn a_server_that_never_answers_the_upgrade_does_not_block_the_loop() {
    let server = FakeWsServer::start(|peer| {
        let _ = peer.read_request();
        peer.expect_closed();
    });
    let (client, seen) = ws_client_to(&server);
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(client.run_loop(20, 1), Ok(()));
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(!seen.has("connect 0"));
    drop(client);
    server.finish();
}

#[test]
fn the_header_size_cannot_change_while_a_connection_is_being_opened() {
    let server = FakeWsServer::start(|peer| {
        let _ = peer.read_request();
        peer.expect_closed();
    });
    let (client, _) = ws_client_to(&server);
    assert_eq!(client.set_http_header_size(8192), Err(Error::Inval));
    client
        .with_options(|o| o.websocket.set_transport(1))
        .unwrap();
    drop(client);
    server.finish();
    let idle = Client::new(Some(b"c2"), true, 0).unwrap();
    assert_eq!(idle.set_http_header_size(8192), Ok(()));
}

#[test]
fn packets_queued_together_go_out_in_one_frame() {
    let publish = |payload: u8| [0x30, 0x04, 0x00, 0x01, b't', payload];
    let checked = Arc::new(AtomicUsize::new(0));
    let done = checked.clone();
    let server = FakeWsServer::start(move |peer| {
        accept_and_connack(peer);
        let batch = peer.read_frame();
        let want: Vec<u8> = [b'1', b'2', b'3'].into_iter().flat_map(publish).collect();
        assert_eq!(batch.payload, want, "three PUBLISH packets in one frame");
        done.store(1, Ordering::Relaxed);
        peer.expect_closed();
    });
    let (client, _) = ws_client_to(&server);
    let weak = Arc::downgrade(&client);
    // What on_connect queues goes out in the same turn of the loop: one batch.
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |_| {
            let client = weak.upgrade().unwrap();
            for payload in ["1", "2", "3"] {
                client
                    .publish("t", payload.as_bytes(), 0, false, vec![])
                    .unwrap();
            }
        }))
    });
    loop_until(&client, || checked.load(Ordering::Relaxed) == 1).unwrap();
    client.disconnect(0, vec![]).unwrap();
    server.finish();
}
