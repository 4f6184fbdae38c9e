//! What a client's callbacks saw, as lines in order, for tests that check
//! which callbacks ran (shared between the loop and the test thread), and the
//! loop those tests drive until they saw enough.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use mosquitto::client::Client;
use mosquitto::error::Error;

#[derive(Default)]
pub struct Seen(Mutex<Vec<String>>);

impl Seen {
    pub fn push(&self, s: String) {
        self.0.lock().unwrap().push(s);
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn has(&self, s: &str) -> bool {
        self.all().iter().any(|x| x == s)
    }
}

/// Runs the loop until `done`, a loop error (returned), or five seconds (a panic).
pub fn loop_until(client: &Client, mut done: impl FnMut() -> bool) -> Result<(), Error> {
    let until = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < until, "timed out");
        client.run_loop(50, 1)?;
    }
    Ok(())
}
