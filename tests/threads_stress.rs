//! Threads racing on one client while loop_start's thread runs it, and destroy
//! racing with the loop thread: `cbindings-tests/stress/threads.c` against a real
//! broker. `scripts/tsan.sh` runs the same program under ThreadSanitizer.
//!
//! `SKEETER_STRESS_SECONDS` sets how long the racing phase lasts (default 3).

mod support;

use std::time::Duration;

use support::broker::Broker;
use support::stage::{c_program, run, subject_command};

#[test]
fn threads_racing_on_one_client_and_destroy_racing_the_loop_thread() {
    let broker = Broker::start();
    let seconds = std::env::var("SKEETER_STRESS_SECONDS").unwrap_or_else(|_| "3".into());
    let mut command = subject_command(c_program("stress/threads.c"));
    command.arg(broker.port.to_string()).arg(&seconds);
    let output = run(&mut command, Duration::from_secs(120));
    output.assert_passed();
    print!("{}", output.stdout);
}
