//! A three-node RabbitMQ cluster on 127.0.0.1 for the cluster tests
//! (tests/cluster.rs), as /work/shared/rabbitmq-notes.md describes: each node
//! with its own directory, name and ports chosen at run time (AMQP,
//! distribution, MQTT), one `epmd` on a port of its own for the three, one
//! Erlang cookie (the nodes must share it), and the second and third joined to
//! the first with `rabbitmqctl join_cluster` (between `stop_app` and `start_app`). With `quorum`, durable MQTT
//! subscriber queues (clean session off) are quorum queues replicated on
//! every node (`mqtt.durable_queue_type = quorum`); otherwise they are classic
//! queues on the node the subscriber connected to.
//!
//! A node can be killed (SIGKILL to its whole process group, by PID) and
//! started again on the same ports and data; everything is stopped when the
//! cluster is dropped.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::rabbitmq::{mqtt_config, node_environment, path, server_command, CTL, EPMD, SERVER};
use super::stage::{free_port, require, run, Output, Scratch};
use super::tls::wait_for_port;

const START_TIMEOUT: Duration = Duration::from_secs(120);

/// One node: its name, ports and directory; its server while it runs.
pub struct Node {
    pub name: String,
    pub mqtt: u16,
    amqp: u16,
    dist: u16,
    dir: PathBuf,
    server: Option<Child>,
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    epmd: Child,
    epmd_port: u16,
    /// HOME for every node and rabbitmqctl: the shared Erlang cookie.
    home: PathBuf,
    _scratch: Scratch,
}

impl Cluster {
    /// Starts three nodes (at once: the cold starts overlap) and joins the
    /// second and third to the first.
    pub fn start(quorum: bool) -> Cluster {
        require(SERVER, "rabbitmq-server");
        let scratch = Scratch::new("rabbitmq-cluster");
        let home = scratch.path().join("home");
        fs::create_dir_all(&home).unwrap();
        let cookie = home.join(".erlang.cookie");
        fs::write(&cookie, format!("SKEETERCLUSTER{}", std::process::id())).unwrap();
        fs::set_permissions(&cookie, fs::Permissions::from_mode(0o400)).unwrap();
        let epmd_port = free_port();
        let epmd = Command::new(EPMD)
            .args(["-port", &epmd_port.to_string(), "-address", "127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("epmd starts");
        wait_for_port(epmd_port);
        let pid = std::process::id();
        let nodes = ["a", "b", "c"]
            .iter()
            .map(|n| {
                let dir = scratch.path().join(n);
                fs::create_dir_all(&dir).unwrap();
                Node {
                    name: format!("skeeter{pid}{n}@localhost"),
                    mqtt: free_port(),
                    amqp: free_port(),
                    dist: free_port(),
                    dir,
                    server: None,
                }
            })
            .collect();
        let mut cluster = Cluster {
            nodes,
            epmd,
            epmd_port,
            home,
            _scratch: scratch,
        };
        for i in 0..3 {
            cluster.nodes[i].write_config(quorum);
            cluster.launch(i);
        }
        for i in 0..3 {
            cluster.wait_started(i);
        }
        let first = cluster.nodes[0].name.clone();
        let joining = Instant::now();
        // join_cluster resets the node itself (these are new nodes anyway).
        for i in 1..3 {
            for args in [
                vec!["stop_app"],
                vec!["join_cluster", first.as_str()],
                vec!["start_app"],
            ] {
                let output = cluster.ctl(i, &args);
                assert!(
                    output.status.success(),
                    "rabbitmqctl {args:?} on node {i}:\n{output}"
                );
            }
        }
        for i in 0..3 {
            wait_for_port(cluster.nodes[i].mqtt);
        }
        eprintln!("cluster: two nodes joined in {:?}", joining.elapsed());
        let status = cluster.ctl(0, &["cluster_status"]).stdout;
        let running = status.split("Running Nodes").nth(1).unwrap_or("");
        let running = running.split("Versions").next().unwrap_or("");
        for node in &cluster.nodes {
            assert!(
                running.contains(&node.name),
                "{} is not running in the cluster:\n{status}",
                node.name
            );
        }
        cluster
    }

    /// SIGKILL to node `i`'s whole process group (beam and its helpers).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut server) = self.nodes[i].server.take() {
            kill_group(&mut server);
        }
    }

    /// Starts node `i` again (same name, ports and data) and waits until its
    /// application runs and its MQTT port accepts.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.launch(i);
        self.wait_started(i);
        wait_for_port(self.nodes[i].mqtt);
    }

    /// `rabbitmqctl list_queues` with the quorum columns, for the log.
    pub fn queues(&self, i: usize) -> String {
        let columns = [
            "list_queues",
            "name",
            "type",
            "leader",
            "members",
            "messages",
        ];
        let output = self.ctl(i, &columns);
        format!("{}{}", output.stdout, output.stderr)
    }

    fn launch(&mut self, i: usize) {
        let env = self.environment(i);
        let node = &mut self.nodes[i];
        let mut server = server_command(env, node.amqp, node.dist, &node.dir);
        node.server = Some(server.spawn().expect("rabbitmq-server starts"));
    }

    fn wait_started(&self, i: usize) {
        let pid_file = path(&self.nodes[i].dir.join("pid"));
        let started = Instant::now();
        let mut ctl = self.ctl_command(i);
        ctl.args(["wait", "--timeout", "120", &pid_file]);
        let output = run(&mut ctl, START_TIMEOUT);
        assert!(output.status.success(), "node {i} did not start:\n{output}");
        eprintln!("cluster: node {i} up after {:?}", started.elapsed());
    }

    /// What the server and `rabbitmqctl` need to find node `i`.
    fn environment(&self, i: usize) -> Vec<(&'static str, String)> {
        let node = &self.nodes[i];
        node_environment(&node.name, &node.dir, self.epmd_port, &self.home)
    }

    fn ctl_command(&self, i: usize) -> Command {
        let mut ctl = Command::new(CTL);
        ctl.envs(self.environment(i))
            .arg("-n")
            .arg(&self.nodes[i].name);
        ctl
    }

    fn ctl(&self, i: usize, args: &[&str]) -> Output {
        let mut ctl = self.ctl_command(i);
        ctl.args(args);
        run(&mut ctl, START_TIMEOUT)
    }
}

impl Node {
    fn write_config(&self, quorum: bool) {
        let mut config = mqtt_config(self.amqp, self.mqtt);
        if quorum {
            config.push_str("mqtt.durable_queue_type = quorum\n");
        }
        fs::write(self.dir.join("rabbitmq.conf"), config).unwrap();
        fs::write(self.dir.join("enabled_plugins"), "[rabbitmq_mqtt].\n").unwrap();
    }
}

fn kill_group(server: &mut Child) {
    let pid = server.id() as libc::pid_t;
    // SAFETY: kill takes no pointers; the group is our own child's (setsid).
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let _ = server.kill();
    let _ = server.wait();
    // The group's last processes may take a moment to go.
    thread::sleep(Duration::from_millis(100));
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut server) = node.server.take() {
                kill_group(&mut server);
            }
        }
        let _ = self.epmd.kill();
        let _ = self.epmd.wait();
    }
}
