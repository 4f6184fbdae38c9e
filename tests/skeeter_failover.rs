//! skeeter's server list (`skeeter_servers_set`) against real brokers: the
//! client moves to the next server when its broker dies, subscribes there again
//! (`skeeter_resubscribe_set`), messages flow there, and it stays there when the
//! first comes back; `ws://` and `wss://` servers (RabbitMQ's Web MQTT, one
//! node for this binary) in the same list as `mqtt://` ones. Through the Rust
//! API; these are our extensions, so there is nothing to compare with in Debian
//! mode.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mosquitto::client::server_list::Server;
use mosquitto::client::{Client, Target};
use support::broker::Broker;
use support::publisher::{wait_until, Publisher};
use support::rabbitmq::{RabbitMq, WS_PATH};
use support::stage::{against_debian, free_port, ours, scratch_root, Compile, Process};
use support::tls::cert_file;

/// A subscriber on the `loop_start` thread, recording what it hears.
struct Subscriber {
    client: Arc<Client>,
    /// The server index `on_connect` saw, for each accepted connection.
    connections: Arc<Mutex<Vec<i32>>>,
    received: Arc<Mutex<Vec<String>>>,
}

impl Subscriber {
    /// Connects through the brokers' plain ports.
    fn start(servers: &[&Broker]) -> Subscriber {
        let uris: Vec<String> = servers
            .iter()
            .map(|b| format!("mqtt://127.0.0.1:{}", b.port))
            .collect();
        Subscriber::start_with(b"failover-sub", &uris, |_| {})
    }

    /// Connects through `uris` (after `setup`), with re-subscribe on, and
    /// subscribes to `t/#` once connected.
    fn start_with(id: &[u8], uris: &[String], setup: impl FnOnce(&Client)) -> Subscriber {
        let client = Arc::new(Client::new(Some(id), true, 0).unwrap());
        let list = uris.iter().map(|uri| Server::parse(uri).unwrap()).collect();
        client.set_servers(list);
        client.with_options(|o| o.set_reconnect_delay(1, 1, false));
        client.set_resubscribe(true);
        setup(&client);
        let connections = Arc::new(Mutex::new(Vec::new()));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (c, seen, inner) = (connections.clone(), received.clone(), client.clone());
        client.set_callbacks(|cb| {
            cb.on_connect = Some(Arc::new(move |rc| {
                if rc == 0 {
                    c.lock()
                        .unwrap()
                        .push(inner.with_state(|s| s.server_index()));
                }
            }));
            cb.on_message = Some(Arc::new(move |m| {
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&m.payload).into_owned());
            }));
        });
        // Host and port are ignored with a list.
        let target = Target::new("ignored".into(), 1, 60, None).unwrap();
        client.connect(target, true).unwrap();
        client.loop_start().unwrap();
        // Subscribed once: re-subscribe makes it again on every other server.
        wait_until(15, "no first connection", || {
            !connections.lock().unwrap().is_empty()
        });
        client
            .subscribe(vec![("t/#".into(), 1)], Vec::new())
            .unwrap();
        Subscriber {
            client,
            connections,
            received,
        }
    }

    fn connections(&self) -> Vec<i32> {
        self.connections.lock().unwrap().clone()
    }

    fn heard(&self, payload: &str) -> bool {
        self.received.lock().unwrap().iter().any(|p| p == payload)
    }
}

/// Publishes `prefix-N` at QoS 0 through `publisher` every 20 ms until
/// `subscriber` hears one; returns the payload heard first.
fn publish_until_heard(publisher: &Publisher, subscriber: &Subscriber, prefix: &str) -> String {
    let count = AtomicUsize::new(0);
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let n = count.fetch_add(1, Ordering::Relaxed);
        let payload = format!("{prefix}-{n}");
        publisher
            .client
            .publish("t/x", payload.as_bytes(), 0, false, Vec::new())
            .unwrap();
        thread::sleep(Duration::from_millis(20));
        if let Some(first) = subscriber
            .received
            .lock()
            .unwrap()
            .iter()
            .find(|p| p.starts_with(prefix))
        {
            return first.clone();
        }
        assert!(
            Instant::now() < until,
            "nothing published as {prefix} arrived"
        );
    }
}

#[test]
fn when_its_broker_dies_the_client_moves_to_the_next_and_stays_when_the_first_returns() {
    if against_debian() {
        return;
    }
    let mut first = Broker::start();
    let second = Broker::start();
    let third = Broker::start();
    let subscriber = Subscriber::start(&[&first, &second, &third]);
    wait_until(10, "no connection to the first server", || {
        subscriber.connections() == [0]
    });
    let on_first = Publisher::start(b"pub-first", first.port);
    publish_until_heard(&on_first, &subscriber, "first");
    drop(on_first);

    let on_second = Publisher::start(b"pub-second", second.port);
    let killed = Instant::now();
    first.stop();
    publish_until_heard(&on_second, &subscriber, "second");
    let moved_after = killed.elapsed();
    eprintln!(
        "failover: traffic flowed on the second broker {moved_after:?} after the first was killed"
    );
    assert_eq!(subscriber.connections(), [0, 1]);
    assert!(moved_after < Duration::from_secs(5), "{moved_after:?}");

    // The first broker comes back: the client stays where it is.
    first.restart();
    thread::sleep(Duration::from_secs(3));
    let heard = publish_until_heard(&on_second, &subscriber, "still-second");
    assert!(subscriber.heard(&heard));
    assert_eq!(subscriber.connections(), [0, 1]);
    assert_eq!(subscriber.client.with_state(|s| s.server_index()), 1);
    subscriber.client.loop_stop(true).unwrap();
}

#[test]
fn after_the_last_server_the_first_is_tried_again() {
    if against_debian() {
        return;
    }
    let mut first = Broker::start();
    let mut second = Broker::start();
    let subscriber = Subscriber::start(&[&first, &second]);
    wait_until(10, "no first connection", || {
        subscriber.connections() == [0]
    });
    second.stop();
    first.stop();
    // Both down: the client goes round the list; the first comes back first.
    thread::sleep(Duration::from_millis(2500));
    first.restart();
    wait_until(
        15,
        "the client did not come back to the first server",
        || subscriber.connections() == [0, 0],
    );
    assert_eq!(subscriber.client.with_state(|s| s.server_index()), 0);
    subscriber.client.loop_stop(true).unwrap();
}

#[test]
fn mqtts_servers_use_the_tls_settings_and_a_failed_handshake_moves_on() {
    if against_debian() {
        return;
    }
    let broker = Broker::builder().tls_listeners().start();
    let ports = broker.tls.as_ref().unwrap();
    let uris = [
        format!("mqtts://localhost:{}", ports.wrong_name),
        format!("mqtts://localhost:{}", ports.good),
    ];
    let subscriber = Subscriber::start_with(b"failover-sub", &uris, |client| {
        client.with_options(|o| o.tls.cafile = Some(cert_file("ca.pem")));
    });
    wait_until(15, "no TLS connection to the second server", || {
        subscriber.connections() == [1]
    });
    let publisher = Publisher::start(b"pub-tls", broker.port);
    publish_until_heard(&publisher, &subscriber, "over-tls");
    subscriber.client.loop_stop(true).unwrap();
}

#[test]
fn a_killed_mqtt_server_is_followed_by_a_ws_server_where_messages_flow() {
    if against_debian() {
        return;
    }
    let rabbit = RabbitMq::shared();
    let mut first = Broker::start();
    let uris = [
        format!("mqtt://127.0.0.1:{}", first.port),
        format!("ws://127.0.0.1:{}{WS_PATH}", rabbit.ws),
    ];
    let subscriber = Subscriber::start_with(b"mixed-sub", &uris, |_| {});
    wait_until(10, "no connection to the mqtt:// server", || {
        subscriber.connections() == [0]
    });
    let on_first = Publisher::start(b"mixed-pub-first", first.port);
    publish_until_heard(&on_first, &subscriber, "mqtt");
    drop(on_first);

    let on_rabbit = Publisher::start(b"mixed-pub-rabbit", rabbit.mqtt);
    let killed = Instant::now();
    first.stop();
    publish_until_heard(&on_rabbit, &subscriber, "ws");
    eprintln!(
        "failover to ws://: traffic flowed {:?} after the first was killed",
        killed.elapsed()
    );
    assert_eq!(subscriber.connections(), [0, 1]);
    subscriber.client.loop_stop(true).unwrap();
}

#[test]
fn a_server_that_fails_the_upgrade_is_passed_for_a_wss_server_with_the_tls_settings() {
    if against_debian() {
        return;
    }
    let rabbit = RabbitMq::shared();
    // A plain MQTT listener: it closes on the HTTP upgrade request.
    let mosquitto = Broker::start();
    let uris = [
        format!("ws://127.0.0.1:{}{WS_PATH}", mosquitto.port),
        format!("wss://localhost:{}{WS_PATH}", rabbit.wss),
    ];
    let subscriber = Subscriber::start_with(b"wss-sub", &uris, |client| {
        client.with_options(|o| o.tls.cafile = Some(cert_file("ca.pem")));
    });
    wait_until(20, "no connection to the wss:// server", || {
        subscriber.connections() == [1]
    });
    let publisher = Publisher::start(b"wss-pub", rabbit.mqtt);
    publish_until_heard(&publisher, &subscriber, "over-wss");
    subscriber.client.loop_stop(true).unwrap();
}

#[test]
fn an_mqtt_server_is_plain_mqtt_even_when_the_transport_option_says_websockets() {
    if against_debian() {
        return;
    }
    let broker = Broker::start();
    let uris = [format!("mqtt://127.0.0.1:{}", broker.port)];
    let subscriber = Subscriber::start_with(b"plain-sub", &uris, |client| {
        client.with_options(|o| o.websocket.set_transport(2).unwrap());
    });
    let publisher = Publisher::start(b"plain-pub", broker.port);
    publish_until_heard(&publisher, &subscriber, "plain");
    subscriber.client.loop_stop(true).unwrap();
}

/// Starts examples-c/failover.c (built against our headers and library) with
/// `args`.
fn spawn_failover_example(args: &[String]) -> Process {
    let program = scratch_root().join("example-failover");
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples-c/failover.c");
    Compile::c(source, ours()).link(ours()).build(&program);
    let mut command = ours().command(&program);
    command.args(args).stdin(std::process::Stdio::null());
    Process::spawn(&mut command)
}

#[test]
fn the_failover_example_passes_a_server_that_is_down_and_receives_on_the_next() {
    if against_debian() {
        return;
    }
    let nobody = free_port();
    let broker = Broker::start();
    let args = [
        "demo/#".to_string(),
        "3".to_string(),
        format!("mqtt://127.0.0.1:{nobody}"),
        format!("mqtt://127.0.0.1:{}", broker.port),
    ];
    let mut example = spawn_failover_example(&args);
    example.wait_for_line("connected to server 1", Duration::from_secs(20));
    let publisher = Publisher::start(b"pub-example", broker.port);
    for n in 0..3 {
        // QoS 1: the subscription was made before on_connect returned, so
        // nothing published now is missed.
        thread::sleep(Duration::from_millis(200));
        publisher
            .client
            .publish("demo/x", format!("m{n}").as_bytes(), 1, false, Vec::new())
            .unwrap();
    }
    let output = example.finish(Duration::from_secs(20));
    output.assert_success("examples-c/failover.c");
    assert!(output.stdout.contains("demo/x m2\n"), "{output}");
    assert!(!output.stdout.contains("server 0"), "{output}");
}

#[test]
fn in_the_programs_own_loop_each_reconnect_call_moves_along_the_list() {
    if against_debian() {
        return;
    }
    let broker = Broker::start();
    let nobody = free_port();
    let client = Client::new(Some(b"own-loop"), true, 0).unwrap();
    client.set_servers(vec![
        Server::parse(&format!("mqtt://127.0.0.1:{nobody}")).unwrap(),
        Server::parse(&format!("mqtt://127.0.0.1:{}", broker.port)).unwrap(),
    ]);
    let target = Target::new("ignored".into(), 1, 60, None).unwrap();
    // The first server refuses; the program calls mosquitto_reconnect itself.
    assert!(client.connect(target, true).is_err());
    assert_eq!(client.with_state(|s| s.server_index()), 0);
    client.reconnect(true).unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while client.with_state(|s| s.stats().connected_since.is_none()) {
        assert!(Instant::now() < until, "no CONNACK from the second server");
        client.run_loop(50, 1).unwrap();
    }
    assert_eq!(client.with_state(|s| s.server_index()), 1);
}
