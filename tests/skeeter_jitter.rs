//! skeeter's reconnect jitter (`skeeter_reconnect_jitter_set`): 200 clients lose
//! the same broker; without jitter they all come back within the same moment,
//! with it their returns spread over the jittered range. Measured as the most
//! clients reconnected in any 100 ms window. Through the Rust API; ours only.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mosquitto::client::{Client, Target};
use support::broker::Broker;
use support::publisher::wait_until;
use support::stage::against_debian;

const CLIENTS: usize = 200;
const WINDOW: Duration = Duration::from_millis(100);

/// The most of `times` within any `WINDOW`.
fn busiest_window(times: &mut [Instant]) -> usize {
    times.sort();
    let mut most = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= WINDOW {
            start += 1;
        }
        most = most.max(end - start + 1);
    }
    most
}

/// Connects `CLIENTS` clients (reconnect delay 1 s, `jitter_percent`), kills
/// and restarts the broker, and returns the busiest window of their returns.
fn reconnects_per_window(broker: &mut Broker, jitter_percent: u8) -> usize {
    let returns = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<Arc<Client>> = (0..CLIENTS)
        .map(|i| {
            let client = Arc::new(Client::new(Some(format!("j{i}").as_bytes()), true, 0).unwrap());
            client.with_options(|o| o.set_reconnect_delay(1, 1, false));
            client.with_state(|s| s.resilience.delay_style.jitter_percent = jitter_percent);
            let returns = returns.clone();
            client.set_callbacks(|cb| {
                cb.on_connect = Some(Arc::new(move |rc| {
                    if rc == 0 {
                        returns.lock().unwrap().push(Instant::now());
                    }
                }))
            });
            let target = Target::new("127.0.0.1".into(), i32::from(broker.port), 60, None).unwrap();
            client.connect(target, true).unwrap();
            client.loop_start().unwrap();
            client
        })
        .collect();
    wait_until(20, "not every client connected", || {
        returns.lock().unwrap().len() == CLIENTS
    });
    returns.lock().unwrap().clear();
    broker.restart();
    wait_until(20, "not every client came back", || {
        returns.lock().unwrap().len() == CLIENTS
    });
    for client in &clients {
        client.loop_stop(true).unwrap();
    }
    let mut times = returns.lock().unwrap().clone();
    busiest_window(&mut times)
}

#[test]
fn the_busiest_window_counts_the_most_times_within_100_ms() {
    let t0 = Instant::now();
    let ms = |n| t0 + Duration::from_millis(n);
    assert_eq!(
        busiest_window(&mut [ms(0), ms(50), ms(99), ms(100), ms(300)]),
        3
    );
    assert_eq!(busiest_window(&mut [ms(500), ms(0), ms(450), ms(420)]), 3);
}

#[test]
fn jitter_spreads_the_reconnects_of_200_clients_that_lost_the_same_broker() {
    if against_debian() {
        return;
    }
    let mut broker = Broker::start();
    let without = reconnects_per_window(&mut broker, 0);
    let with = reconnects_per_window(&mut broker, 50);
    eprintln!(
        "jitter: at most {without} of {CLIENTS} clients reconnected in one 100 ms window without jitter, {with} with ±50 %"
    );
    // Uniform over one second would be 20 a window; without jitter, only the
    // time the broker and the loops take to answer 200 CONNECTs spreads them.
    assert!(with < CLIENTS / 4, "with jitter: {with}");
    assert!(with * 2 < without, "without jitter {without}, with {with}");
}
