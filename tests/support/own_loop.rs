//! A program's own loop for the tests of skeeter's extensions: `mosquitto_loop`
//! turns until a condition holds, its errors ignored (they are the lost
//! connections the scripts make).

use std::time::{Duration, Instant};

use mosquitto::client::Client;

/// Runs the loop until `done`, failing after five seconds.
pub fn loop_until(client: &Client, done: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < until, "timed out");
        let _ = client.run_loop(50, 1);
    }
}
