//! skeeter's connect timeout (`skeeter_connect_timeout_set`): a broker that
//! accepts the connection and never answers its CONNECT ends the attempt with
//! `MOSQ_ERR_TIMEOUT` after the timeout, in the program's own loop; and with a
//! server list, `loop_forever` moves on to the next server instead of waiting
//! for the keepalive. Ours only.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mosquitto::client::server_list::Server;
use mosquitto::client::{Client, Target};
use mosquitto::error::Error;
use support::broker::Broker;
use support::fake_broker::{packet, FakeBroker};
use support::publisher::wait_until;
use support::stage::against_debian;

const TIMEOUT: Duration = Duration::from_millis(300);

/// A broker that reads CONNECT and never answers; the client must close.
fn silent_broker() -> FakeBroker {
    FakeBroker::script()
        .expect_packet_type(packet::CONNECT)
        .timeout(Duration::from_secs(10))
        .expect_closed()
        .start()
}

#[test]
fn a_broker_that_never_answers_ends_the_attempt_with_a_timeout() {
    if against_debian() {
        return;
    }
    let broker = silent_broker();
    let client = Client::new(Some(b"c1"), true, 0).unwrap();
    client.with_state(|s| s.resilience.connect_timeout = Some(TIMEOUT));
    let disconnects = Arc::new(Mutex::new(Vec::new()));
    let seen = disconnects.clone();
    client.set_callbacks(|cb| {
        cb.on_disconnect = Some(Arc::new(move |rc| seen.lock().unwrap().push(rc)))
    });
    let target = Target::new("127.0.0.1".into(), i32::from(broker.port()), 60, None).unwrap();
    let started = Instant::now();
    client.connect(target, true).unwrap();
    let result = loop {
        match client.run_loop(1000, 1) {
            Ok(()) => assert!(started.elapsed() < Duration::from_secs(5), "no timeout"),
            Err(e) => break e,
        }
    };
    let took = started.elapsed();
    assert_eq!(result, Error::Timeout);
    assert!(
        took >= TIMEOUT && took < TIMEOUT * 3,
        "ended after {took:?}"
    );
    assert_eq!(*disconnects.lock().unwrap(), [Error::Timeout.code()]);
    broker.finish();
}

#[test]
fn with_a_server_list_a_silent_broker_is_left_for_the_next() {
    if against_debian() {
        return;
    }
    let silent = silent_broker();
    let real = Broker::start();
    let client = Arc::new(Client::new(Some(b"c2"), true, 0).unwrap());
    client.set_servers(vec![
        Server::parse(&format!("mqtt://127.0.0.1:{}", silent.port())).unwrap(),
        Server::parse(&format!("mqtt://127.0.0.1:{}", real.port)).unwrap(),
    ]);
    client.with_options(|o| o.set_reconnect_delay(1, 1, false));
    client.with_state(|s| s.resilience.connect_timeout = Some(TIMEOUT));
    let connected_to = Arc::new(Mutex::new(Vec::new()));
    let (seen, inner) = (connected_to.clone(), client.clone());
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |rc| {
            if rc == 0 {
                seen.lock()
                    .unwrap()
                    .push(inner.with_state(|s| s.server_index()));
            }
        }))
    });
    let target = Target::new("ignored".into(), 1, 60, None).unwrap();
    let started = Instant::now();
    client.connect(target, false).unwrap();
    client.loop_start().unwrap();
    wait_until(10, "never reached the second server", || {
        *connected_to.lock().unwrap() == [1]
    });
    // The timeout, one reconnect delay, the connect: well inside the keepalive.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    client.loop_stop(true).unwrap();
    silent.finish();
}
