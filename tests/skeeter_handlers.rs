//! skeeter's handlers per subscription (`skeeter_subscribe_handler`) from C,
//! against a real broker: every message reaches `on_message` and then exactly
//! the handlers whose filter matches (a shared subscription on its filter
//! part), a removed handler is no longer called, and the handlers keep working
//! after the broker restarts and the library has re-subscribed. Ours only.

mod support;

use std::time::Duration;

use support::broker::Broker;
use support::stage::{against_debian, c_program, subject_command, Process};

#[test]
fn handlers_get_their_messages_in_order_and_survive_a_broker_restart() {
    if against_debian() {
        return;
    }
    let mut broker = Broker::start();
    let program = c_program("client/skeeter_handlers.c");
    let mut command = subject_command(program);
    command
        .arg(broker.port.to_string())
        .stdin(std::process::Stdio::null());
    let mut client = Process::spawn(&mut command);
    client.wait_for_line("ready", Duration::from_secs(20));
    broker.restart();
    let output = client.finish(Duration::from_secs(30));
    output.assert_passed();
}
