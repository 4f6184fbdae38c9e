//! A RabbitMQ node with its MQTT and Web MQTT plugins, for the WebSocket tests:
//! 127.0.0.1, ports chosen at run time, its own directory, and its own `epmd`
//! on a port of its own (so the node never meets another one's). A cold start
//! takes about 11 s, so a test binary shares one node ([`RabbitMq::shared`]),
//! stopped (node and epmd, by PID) when the process exits.
//!
//! Ports: `mqtt` (MQTT over TCP), `ws` (WebSockets, path `/ws`), `wss`
//! (WebSockets over TLS with `support::tls`'s `server` certificate).
//! The MQTT plugin of RabbitMQ 3.10 speaks MQTT 3.1 and 3.1.1 only and grants
//! QoS 2 as 1.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::stage::{free_port, require, run, scratch_root};
use super::tls::{certificates, wait_for_port};

pub const SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";
pub const CTL: &str = "/usr/lib/rabbitmq/bin/rabbitmqctl";
pub const EPMD: &str = "/usr/bin/epmd";
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The path of RabbitMQ's WebSocket endpoint.
pub const WS_PATH: &str = "/ws";

pub struct RabbitMq {
    pub mqtt: u16,
    pub ws: u16,
    pub wss: u16,
    node: String,
    epmd_port: u16,
    dir: PathBuf,
}

/// The processes to stop at exit: epmd and the node's session leader.
static TO_STOP: Mutex<Vec<Child>> = Mutex::new(Vec::new());

impl RabbitMq {
    /// The node this test binary shares, started on first use.
    pub fn shared() -> &'static RabbitMq {
        static NODE: OnceLock<RabbitMq> = OnceLock::new();
        NODE.get_or_init(RabbitMq::start)
    }

    fn start() -> RabbitMq {
        require(SERVER, "rabbitmq-server");
        let dir = scratch_root().join("rabbitmq");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let node = RabbitMq {
            mqtt: free_port(),
            ws: free_port(),
            wss: free_port(),
            node: format!("skeeter{}@localhost", std::process::id()),
            epmd_port: free_port(),
            dir,
        };
        let amqp = free_port();
        let dist = free_port();
        node.write_config(amqp);
        let epmd = Command::new(EPMD)
            .args([
                "-port",
                &node.epmd_port.to_string(),
                "-address",
                "127.0.0.1",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("epmd starts");
        remember(epmd);
        wait_for_port(node.epmd_port);
        let mut server = server_command(node.environment(), amqp, dist, &node.dir);
        let server = server.spawn().expect("rabbitmq-server starts");
        remember(server);
        // SAFETY: registers a function without arguments that only sends signals.
        unsafe { libc::atexit(stop_all) };
        let pid_file = node.dir.join("pid");
        let output = node.ctl(
            &["wait", "--timeout", "120", pid_file.to_str().unwrap()],
            START_TIMEOUT,
        );
        assert!(output.status.success(), "rabbitmq did not start:\n{output}");
        for port in [node.mqtt, node.ws, node.wss] {
            wait_for_port(port);
        }
        node
    }

    fn write_config(&self, amqp: u16) {
        let certs = certificates().to_str().unwrap().to_string();
        let config = mqtt_config(amqp, self.mqtt)
            + &format!(
                "web_mqtt.tcp.ip = 127.0.0.1\n\
             web_mqtt.tcp.port = {ws}\n\
             web_mqtt.ssl.ip = 127.0.0.1\n\
             web_mqtt.ssl.port = {wss}\n\
             web_mqtt.ssl.cacertfile = {certs}/ca.pem\n\
             web_mqtt.ssl.certfile = {certs}/server.pem\n\
             web_mqtt.ssl.keyfile = {certs}/server.key\n",
                ws = self.ws,
                wss = self.wss,
            );
        fs::write(self.dir.join("rabbitmq.conf"), config).unwrap();
        fs::write(
            self.dir.join("enabled_plugins"),
            "[rabbitmq_mqtt,rabbitmq_web_mqtt].\n",
        )
        .unwrap();
    }

    /// What the server and `rabbitmqctl` both need to find the node.
    fn environment(&self) -> Vec<(&'static str, String)> {
        node_environment(&self.node, &self.dir, self.epmd_port, &self.dir)
    }

    fn ctl(&self, args: &[&str], timeout: Duration) -> super::stage::Output {
        let mut ctl = Command::new(CTL);
        ctl.envs(self.environment())
            .arg("-n")
            .arg(&self.node)
            .args(args);
        run(&mut ctl, timeout)
    }

    /// The command line (for `sh -c`) that makes the node close every client
    /// connection, as a broker going away would.
    pub fn close_all_connections_command(&self) -> String {
        let env: Vec<String> = self
            .environment()
            .into_iter()
            .map(|(k, v)| format!("{k}='{v}'"))
            .collect();
        format!(
            "env {} {CTL} -n {} close_all_connections 'test drop' >/dev/null 2>&1",
            env.join(" "),
            self.node
        )
    }
}

/// `p` as the text an environment variable holds.
pub fn path(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn remember(child: Child) {
    TO_STOP.lock().unwrap().push(child);
}

/// At exit: the node's whole session (setsid made the server its leader, so
/// its process group holds beam and its helpers), then epmd.
extern "C" fn stop_all() {
    let Ok(mut children) = TO_STOP.lock() else {
        return;
    };
    for mut child in children.drain(..).rev() {
        let pid = child.id() as libc::pid_t;
        // SAFETY: kill takes no pointers; the group is our own child's.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// `rabbitmq-server` for one node in its own session (setsid), listening on
/// 127.0.0.1 only, its files under `dir`; `env` names the node and its epmd.
pub fn server_command(
    env: Vec<(&'static str, String)>,
    amqp: u16,
    dist: u16,
    dir: &std::path::Path,
) -> Command {
    let mut server = Command::new("setsid");
    server
        .arg(SERVER)
        .envs(env)
        .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
        .env("RABBITMQ_NODE_PORT", amqp.to_string())
        .env("RABBITMQ_DIST_PORT", dist.to_string())
        .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
        .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
        .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
        .env("RABBITMQ_LOG_BASE", dir.join("log"))
        .env(
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
            "-kernel inet_dist_use_interface {127,0,0,1}",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    server
}

/// What `rabbitmq-server` and `rabbitmqctl` need to find node `name`: its pid
/// file in `dir`, its epmd on loopback, and `home` for the Erlang cookie.
pub fn node_environment(
    name: &str,
    dir: &std::path::Path,
    epmd_port: u16,
    home: &std::path::Path,
) -> Vec<(&'static str, String)> {
    vec![
        ("RABBITMQ_NODENAME", name.to_string()),
        ("RABBITMQ_USE_LONGNAME", "false".into()),
        ("RABBITMQ_PID_FILE", path(&dir.join("pid"))),
        ("ERL_EPMD_ADDRESS", "127.0.0.1".into()),
        ("ERL_EPMD_PORT", epmd_port.to_string()),
        // rabbitmqctl is an Erlang node too: its listener on loopback only.
        (
            "RABBITMQ_CTL_ERL_ARGS",
            "-kernel inet_dist_use_interface {127,0,0,1}".into(),
        ),
        ("HOME", path(home)),
    ]
}

/// A node's `rabbitmq.conf` for MQTT on loopback: AMQP and MQTT listeners,
/// anonymous clients as guest on `/`, messages through `amq.topic`.
pub fn mqtt_config(amqp: u16, mqtt: u16) -> String {
    format!(
        "listeners.tcp.default = 127.0.0.1:{amqp}\n\
         loopback_users = none\n\
         mqtt.listeners.tcp.default = 127.0.0.1:{mqtt}\n\
         mqtt.allow_anonymous = true\n\
         mqtt.default_user = guest\n\
         mqtt.default_pass = guest\n\
         mqtt.vhost = /\n\
         mqtt.exchange = amq.topic\n"
    )
}
