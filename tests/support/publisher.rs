//! A client driven through the Rust API for tests of the loop's own behaviour:
//! connected, its `loop_start` thread running, counting `on_publish`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mosquitto::client::{Client, Target};

pub struct Publisher {
    pub client: Arc<Client>,
    /// How many times `on_publish` was called.
    pub published: Arc<AtomicUsize>,
}

impl Publisher {
    /// Connects to 127.0.0.1:`port`, starts the loop thread and waits for CONNACK.
    pub fn start(id: &[u8], port: u16) -> Publisher {
        Publisher::start_with(id, port, |_| {})
    }

    /// As `start`, with `configure` run on the client before it connects.
    pub fn start_with(id: &[u8], port: u16, configure: impl FnOnce(&Client)) -> Publisher {
        let (client, connected, published) = counting_client(id);
        configure(&client);
        let target = Target::new("127.0.0.1".into(), i32::from(port), 60, None).unwrap();
        client.connect(target, true).unwrap();
        client.loop_start().unwrap();
        wait_until(5, "no CONNACK", || connected.load(Ordering::Acquire));
        Publisher { client, published }
    }

    pub fn published(&self) -> usize {
        self.published.load(Ordering::Acquire)
    }
}

/// A new client, whether its connection was accepted, and how many times
/// `on_publish` was called.
pub fn counting_client(id: &[u8]) -> (Arc<Client>, Arc<AtomicBool>, Arc<AtomicUsize>) {
    let client = Arc::new(Client::new(Some(id), true, 0).unwrap());
    let connected = Arc::new(AtomicBool::new(false));
    let published = Arc::new(AtomicUsize::new(0));
    let (c, p) = (connected.clone(), published.clone());
    client.set_callbacks(|cb| {
        cb.on_connect = Some(Arc::new(move |rc| c.store(rc == 0, Ordering::Release)));
        cb.on_publish = Some(Arc::new(move |_| {
            p.fetch_add(1, Ordering::AcqRel);
        }));
    });
    (client, connected, published)
}

/// Polls `done` until it holds; fails with `what` after `seconds`.
pub fn wait_until(seconds: u64, what: &str, done: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(seconds);
    while !done() {
        assert!(Instant::now() < until, "{what}");
        thread::sleep(Duration::from_millis(5));
    }
}
