//! The shared loop (`skeeter_shared_loop_set`): with it on, `loop_start`
//! puts clients on a pool of two threads, and everything a thread of the
//! client's own does still works: traffic, keepalive, reconnects (one client's
//! broker killed while others carry traffic), stop and destroy from many
//! threads at once, callbacks that call the API (publish, subscribe,
//! disconnect, loop_stop), TLS, SOCKS5 and WebSockets. Ours only.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use mosquitto::client::shared_loop;
use mosquitto::client::{Client, Target};
use mosquitto::error::Error;
use mosquitto::net::socks5::Socks5Proxy;
use support::broker::Broker;
use support::fake_ws_server::{binary, upgrade_answer, FakeWsServer};
use support::publisher::wait_until;
use support::stage::{against_debian, c_program, run, subject_command};
use support::tls::{cert_file, Socks};

/// The pool size every test here uses (the pool is one per process).
const POOL: usize = 2;

/// Turns the shared loop on (once for the process; later calls find it on).
fn on_pool() {
    match shared_loop::set_threads(POOL as i32) {
        Ok(()) | Err(Error::AlreadyExists) => {}
        Err(e) => panic!("shared loop refused: {e:?}"),
    }
}

/// The threads callbacks ran on.
#[derive(Default)]
struct Threads(Mutex<HashSet<ThreadId>>);

impl Threads {
    fn note(&self) {
        self.0.lock().unwrap().insert(thread::current().id());
    }

    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn contains_this_thread(&self) -> bool {
        self.0.lock().unwrap().contains(&thread::current().id())
    }
}

/// A client on the pool, subscribed to its own topic `own/<n>`, counting
/// what arrives there and checking that its callbacks never overlap.
struct Member {
    client: Arc<Client>,
    topic: String,
    received: Arc<AtomicUsize>,
    connects: Arc<AtomicUsize>,
    overlapped: Arc<AtomicBool>,
}

impl Member {
    fn start(n: usize, port: u16, threads: &Arc<Threads>) -> Member {
        let topic = format!("own/{n}/{}", std::process::id());
        let client = Arc::new(Client::new(Some(topic.as_bytes()), true, 0).unwrap());
        let received = Arc::new(AtomicUsize::new(0));
        let connects = Arc::new(AtomicUsize::new(0));
        let overlapped = Arc::new(AtomicBool::new(false));
        let inside = Arc::new(AtomicBool::new(false));
        let guard = {
            let (inside, overlapped, threads) = (inside, overlapped.clone(), threads.clone());
            move || {
                threads.note();
                if inside.swap(true, Ordering::AcqRel) {
                    overlapped.store(true, Ordering::Release);
                }
                thread::yield_now();
                inside.store(false, Ordering::Release);
            }
        };
        let (g1, g2) = (guard.clone(), guard);
        let (me, filter, up, heard) = (
            Arc::downgrade(&client),
            topic.clone(),
            connects.clone(),
            received.clone(),
        );
        client.set_callbacks(|cb| {
            // Subscribing from on_connect: again after every reconnect.
            cb.on_connect = Some(Arc::new(move |rc| {
                g1();
                if rc == 0 {
                    if let Some(me) = me.upgrade() {
                        me.subscribe(vec![(filter.clone(), 1)], Vec::new()).unwrap();
                    }
                }
            }));
            cb.on_subscribe = Some(Arc::new(move |_, _| {
                up.fetch_add(1, Ordering::AcqRel);
            }));
            cb.on_message = Some(Arc::new(move |_| {
                g2();
                heard.fetch_add(1, Ordering::AcqRel);
            }));
        });
        client.with_options(|o| o.set_reconnect_delay(1, 1, false));
        let target = Target::new("127.0.0.1".into(), i32::from(port), 60, None).unwrap();
        client.connect(target, false).unwrap();
        client.loop_start().unwrap();
        Member {
            client,
            topic,
            received,
            connects,
            overlapped,
        }
    }

    fn subscribed(&self) -> usize {
        self.connects.load(Ordering::Acquire)
    }

    fn received(&self) -> usize {
        self.received.load(Ordering::Acquire)
    }

    fn publish(&self, payload: &[u8]) {
        let _ = self
            .client
            .publish(&self.topic, payload, 1, false, Vec::new());
    }
}

#[test]
fn twenty_clients_on_two_pool_threads_each_receive_their_own_messages() {
    if against_debian() {
        return;
    }
    on_pool();
    let broker = Broker::start();
    let threads = Arc::new(Threads::default());
    let members: Vec<Member> = (0..20)
        .map(|n| Member::start(n, broker.port, &threads))
        .collect();
    wait_until(10, "not every client subscribed", || {
        members.iter().all(|m| m.subscribed() == 1)
    });
    for round in 0..10 {
        for m in &members {
            m.publish(format!("{round}").as_bytes());
        }
    }
    wait_until(10, "not every message arrived", || {
        members.iter().all(|m| m.received() == 10)
    });
    assert!(
        threads.count() <= POOL,
        "callbacks ran on {} threads",
        threads.count()
    );
    assert!(!threads.contains_this_thread());
    assert!(members
        .iter()
        .all(|m| !m.overlapped.load(Ordering::Acquire)));
    for m in &members {
        m.client.loop_stop(false).unwrap();
        assert_eq!(m.client.loop_stop(false), Err(Error::Inval));
    }
}

#[test]
fn one_clients_reconnect_loop_runs_while_the_others_carry_traffic() {
    if against_debian() {
        return;
    }
    on_pool();
    let steady = Broker::start();
    let mut dying = Broker::start();
    let threads = Arc::new(Threads::default());
    let others: Vec<Member> = (100..104)
        .map(|n| Member::start(n, steady.port, &threads))
        .collect();
    let lonely = Member::start(199, dying.port, &threads);
    wait_until(10, "not every client subscribed", || {
        lonely.subscribed() == 1 && others.iter().all(|m| m.subscribed() == 1)
    });
    dying.stop();
    // While the lonely client fails to reconnect (every second, as timers on
    // the pool), the others' messages go on arriving.
    for round in 0..30 {
        for m in &others {
            m.publish(format!("{round}").as_bytes());
        }
        thread::sleep(Duration::from_millis(50));
    }
    wait_until(10, "the others' traffic stalled", || {
        others.iter().all(|m| m.received() == 30)
    });
    dying.restart();
    wait_until(15, "the lonely client did not reconnect", || {
        lonely.subscribed() == 2
    });
    lonely.publish(b"back");
    wait_until(10, "nothing arrived after the reconnect", || {
        lonely.received() == 1
    });
    lonely.client.loop_stop(true).unwrap();
    for m in &others {
        m.client.loop_stop(true).unwrap();
    }
}

#[test]
fn start_stop_and_destroy_race_from_many_threads_while_the_pool_runs() {
    if against_debian() {
        return;
    }
    on_pool();
    let broker = Broker::start();
    let threads = Arc::new(Threads::default());
    // Traffic on the pool throughout.
    let busy = Member::start(300, broker.port, &threads);
    wait_until(10, "the busy client did not subscribe", || {
        busy.subscribed() == 1
    });
    let racers: Vec<_> = (0..6)
        .map(|t| {
            let port = broker.port;
            thread::spawn(move || {
                for i in 0..15 {
                    let id = format!("racer-{t}-{i}");
                    let client = Arc::new(Client::new(Some(id.as_bytes()), true, 0).unwrap());
                    let target =
                        Target::new("127.0.0.1".into(), i32::from(port), 60, None).unwrap();
                    // Before or after the connect, stopped at once or later,
                    // forced or not, or only dropped (destroy stops it).
                    if i % 2 == 0 {
                        client.loop_start().unwrap();
                        client.connect(target, false).unwrap();
                    } else {
                        client.connect(target, false).unwrap();
                        client.loop_start().unwrap();
                    }
                    let _ = client.publish(&id, b"x", 1, false, Vec::new());
                    if i % 3 != 0 {
                        thread::sleep(Duration::from_millis(i as u64 % 4 * 5));
                    }
                    match i % 4 {
                        0 => client.loop_stop(true).unwrap(),
                        1 => client.loop_stop(false).unwrap(),
                        2 => {
                            // Restarted on the pool after a stop.
                            client.loop_stop(true).unwrap();
                            client.loop_start().unwrap();
                            client.shut_down();
                        }
                        _ => client.shut_down(),
                    }
                    assert_eq!(client.loop_stop(true), Err(Error::Inval));
                }
            })
        })
        .collect();
    for (round, racer) in racers.into_iter().enumerate() {
        busy.publish(format!("{round}").as_bytes());
        racer.join().unwrap();
    }
    busy.publish(b"last");
    wait_until(10, "the busy client's traffic stalled", || {
        busy.received() == 7
    });
    busy.client.loop_stop(true).unwrap();
}

#[test]
fn callbacks_on_the_pool_may_publish_subscribe_disconnect_and_stop_the_loop() {
    if against_debian() {
        return;
    }
    on_pool();
    let broker = Broker::start();
    let client = Arc::new(Client::new(Some(b"pool-callbacks"), true, 0).unwrap());
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let (me1, me2, me3) = (
        Arc::downgrade(&client),
        Arc::downgrade(&client),
        Arc::downgrade(&client),
    );
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |rc| {
            l1.lock().unwrap().push(format!("connect {rc}"));
            let me = me1.upgrade().unwrap();
            me.subscribe(vec![("cb/#".into(), 1)], Vec::new()).unwrap();
        }));
        cb.on_subscribe = Some(Arc::new(move |_, _| {
            let me = me2.upgrade().unwrap();
            me.publish("cb/ping", b"1", 1, false, Vec::new()).unwrap();
        }));
        cb.on_message = Some(Arc::new(move |m| {
            l2.lock().unwrap().push(format!("message {}", m.topic));
            let me = me3.upgrade().unwrap();
            if m.topic == "cb/ping" {
                me.publish("cb/pong", b"2", 1, false, Vec::new()).unwrap();
            } else {
                me.disconnect(0, Vec::new()).unwrap();
                // From its own callback: returns at once, the loop ends after.
                me.loop_stop(false).unwrap();
            }
        }));
        cb.on_disconnect = Some(Arc::new(move |rc| {
            l3.lock().unwrap().push(format!("disconnect {rc}"));
        }));
    });
    let target = Target::new("127.0.0.1".into(), i32::from(broker.port), 60, None).unwrap();
    client.connect(target, false).unwrap();
    client.loop_start().unwrap();
    wait_until(10, "the callbacks did not run their course", || {
        log.lock().unwrap().len() == 4
    });
    assert_eq!(
        *log.lock().unwrap(),
        [
            "connect 0",
            "message cb/ping",
            "message cb/pong",
            "disconnect 0"
        ]
    );
    // The loop ended itself: stopping finds it gone, and it starts again.
    client.loop_stop(true).unwrap();
    client.loop_start().unwrap();
    client.loop_stop(true).unwrap();
}

#[test]
fn an_idle_client_on_the_pool_keeps_its_connection_alive() {
    if against_debian() {
        return;
    }
    on_pool();
    let broker = Broker::start();
    let client = Arc::new(Client::new(Some(b"pool-idle"), true, 0).unwrap());
    let (connects, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (c, d) = (connects.clone(), drops.clone());
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |_| {
            c.fetch_add(1, Ordering::AcqRel);
        }));
        cb.on_disconnect = Some(Arc::new(move |_| {
            d.fetch_add(1, Ordering::AcqRel);
        }));
    });
    // The broker closes a connection silent for 1.5 keepalives (7.5 s).
    let target = Target::new("127.0.0.1".into(), i32::from(broker.port), 5, None).unwrap();
    client.connect(target, false).unwrap();
    client.loop_start().unwrap();
    thread::sleep(Duration::from_millis(8500));
    assert_eq!(connects.load(Ordering::Acquire), 1);
    assert_eq!(drops.load(Ordering::Acquire), 0);
    client.loop_stop(true).unwrap();
}

#[test]
fn a_tls_client_on_the_pool_makes_a_round_trip() {
    if against_debian() {
        return;
    }
    on_pool();
    let broker = Broker::builder().tls_listeners().start();
    let port = broker.tls.as_ref().unwrap().good;
    let client = Arc::new(Client::new(Some(b"pool-tls"), true, 0).unwrap());
    client.with_options(|o| o.tls.cafile = Some(cert_file("ca.pem")));
    let heard = Arc::new(AtomicUsize::new(0));
    let (h, me) = (heard.clone(), Arc::downgrade(&client));
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |_| {
            let me = me.upgrade().unwrap();
            me.subscribe(vec![("tls/#".into(), 1)], Vec::new()).unwrap();
            me.publish("tls/x", &[7; 5000], 1, false, Vec::new())
                .unwrap();
        }));
        cb.on_message = Some(Arc::new(move |m| {
            assert_eq!(m.payload.len(), 5000);
            h.fetch_add(1, Ordering::AcqRel);
        }));
    });
    let target = Target::new("localhost".into(), i32::from(port), 60, None).unwrap();
    client.connect(target, false).unwrap();
    client.loop_start().unwrap();
    wait_until(10, "nothing came back over TLS", || {
        heard.load(Ordering::Acquire) == 1
    });
    client.loop_stop(true).unwrap();
}

#[test]
fn a_client_on_the_pool_reaches_its_broker_through_a_socks5_proxy() {
    if against_debian() {
        return;
    }
    on_pool();
    let broker = Broker::start();
    let proxy = Socks::start(None);
    let client = Arc::new(Client::new(Some(b"pool-socks"), true, 0).unwrap());
    client.with_options(|o| {
        o.socks5 = Some(Box::new(Socks5Proxy {
            host: "127.0.0.1".into(),
            port: proxy.port,
            username: None,
            password: None,
        }))
    });
    let heard = Arc::new(AtomicUsize::new(0));
    let (h, me) = (heard.clone(), Arc::downgrade(&client));
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |_| {
            let me = me.upgrade().unwrap();
            me.subscribe(vec![("socks/#".into(), 1)], Vec::new())
                .unwrap();
            me.publish("socks/x", b"via", 1, false, Vec::new()).unwrap();
        }));
        cb.on_message = Some(Arc::new(move |_| {
            h.fetch_add(1, Ordering::AcqRel);
        }));
    });
    let target = Target::new("127.0.0.1".into(), i32::from(broker.port), 60, None).unwrap();
    client.connect(target, false).unwrap();
    client.loop_start().unwrap();
    wait_until(10, "nothing came back through SOCKS5", || {
        heard.load(Ordering::Acquire) == 1
    });
    client.loop_stop(true).unwrap();
}

#[test]
fn a_websocket_client_on_the_pool_receives_a_message() {
    if against_debian() {
        return;
    }
    on_pool();
    // CONNACK, then a QoS 0 PUBLISH of "ws/t" carrying "hi".
    const CONNACK: [u8; 4] = [0x20, 2, 0, 0];
    const PUBLISH: [u8; 10] = [0x30, 8, 0, 4, b'w', b's', b'/', b't', b'h', b'i'];
    let server = FakeWsServer::start(|peer| {
        let request = peer.read_request();
        peer.send(&upgrade_answer(&request));
        let _connect = peer.read_frame();
        peer.send(&binary(&CONNACK));
        peer.send(&binary(&PUBLISH));
        // Holds the connection until the client closes it.
        peer.expect_closed();
    });
    let client = Arc::new(Client::new(Some(b"c1"), true, 0).unwrap());
    client
        .with_options(|o| o.websocket.set_transport(2))
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s = seen.clone();
    client.set_callbacks(|cb| {
        cb.on_message = Some(Arc::new(move |m| {
            s.lock().unwrap().push(format!(
                "{} {}",
                m.topic,
                String::from_utf8_lossy(&m.payload)
            ));
        }));
    });
    let target = Target::new("127.0.0.1".into(), i32::from(server.port), 60, None).unwrap();
    client.connect(target, false).unwrap();
    client.loop_start().unwrap();
    wait_until(10, "no message over WebSockets", || {
        !seen.lock().unwrap().is_empty()
    });
    assert_eq!(*seen.lock().unwrap(), ["ws/t hi"]);
    client.loop_stop(true).unwrap();
    client.shut_down();
    drop(client);
    server.finish();
}

#[test]
fn the_thread_count_cannot_change_once_the_pool_runs() {
    if against_debian() {
        return;
    }
    on_pool();
    let client = Arc::new(Client::new(Some(b"pool-count"), true, 0).unwrap());
    client.loop_start().unwrap();
    assert_eq!(shared_loop::set_threads(3), Err(Error::AlreadyExists));
    assert_eq!(shared_loop::set_threads(-1), Err(Error::Inval));
    client.loop_stop(true).unwrap();
}

#[test]
fn the_c_stress_program_races_lifecycles_on_the_pool_and_loses_no_message() {
    if against_debian() {
        return;
    }
    let broker = Broker::builder().tls_listeners().start();
    let tls_port = broker.tls.as_ref().unwrap().good;
    let mut command = subject_command(c_program("stress/shared_loop.c"));
    command
        .arg(broker.port.to_string())
        .arg("3")
        .arg(tls_port.to_string())
        .arg(cert_file("ca.pem"));
    let output = run(&mut command, Duration::from_secs(120));
    output.assert_passed();
    print!("{}", output.stdout);
}

#[test]
fn the_thread_stress_program_passes_unchanged_with_skeeter_loop_threads_set() {
    if against_debian() {
        return;
    }
    let broker = Broker::start();
    let mut command = subject_command(c_program("stress/threads.c"));
    command
        .arg(broker.port.to_string())
        .arg("2")
        .env(shared_loop::ENV, "2");
    let output = run(&mut command, Duration::from_secs(120));
    output.assert_passed();
    print!("{}", output.stdout);
}

#[test]
fn the_c_api_turns_the_pool_on_once_and_callbacks_may_stop_loops_on_it() {
    if against_debian() {
        return;
    }
    let broker = Broker::start();
    let mut command = subject_command(c_program("client/skeeter_shared_loop.c"));
    command.arg(broker.port.to_string());
    let output = run(&mut command, Duration::from_secs(60));
    output.assert_passed();
}
