//! A private `mosquitto` broker for a test: 127.0.0.1 and a port chosen at run time,
//! its own scratch directory (config, log, password file, persistence), killed by PID
//! when dropped, and restartable on the same port.
//!
//! ```ignore
//! let broker = Broker::start();                       // anonymous, one TCP listener
//! let broker = Broker::builder()
//!     .user("alice", "secret")                          // password_file, no anonymous
//!     .unix_socket()                                     // plus `listener 0 <path>`
//!     .persistence()
//!     .tls_listeners()                                   // see support::tls
//!     .config("max_inflight_messages 1\n")
//!     .start();
//! broker.restart();
//! ```

use std::fs;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::stage::{free_port, require, run, Scratch, RUN_TIMEOUT};
use super::tls::TlsPorts;

const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How to configure a broker; `start` runs it.
#[derive(Default)]
pub struct BrokerBuilder {
    users: Vec<(String, String)>,
    unix_socket: bool,
    persistence: bool,
    tls: bool,
    extra: String,
}

impl BrokerBuilder {
    /// Adds a user to a password file (made with `mosquitto_passwd`) and turns
    /// anonymous access off.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.to_string(), password.to_string()));
        self
    }

    /// Adds a listener on a Unix domain socket (see [`Broker::socket_path`]).
    pub fn unix_socket(mut self) -> Self {
        self.unix_socket = true;
        self
    }

    /// Keeps sessions and retained messages in a file in the scratch directory
    /// across [`Broker::restart`].
    pub fn persistence(mut self) -> Self {
        self.persistence = true;
        self
    }

    /// Adds the TLS listeners of [`TlsPorts`] (certificates from
    /// `support::tls::certificates`); their ports are in [`Broker::tls`].
    pub fn tls_listeners(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Lines appended to the configuration as they are.
    pub fn config(mut self, lines: &str) -> Self {
        self.extra.push_str(lines);
        if !self.extra.ends_with('\n') {
            self.extra.push('\n');
        }
        self
    }

    pub fn start(self) -> Broker {
        require("/usr/sbin/mosquitto", "mosquitto");
        let scratch = Scratch::new("broker");
        let dir = scratch.path().to_path_buf();
        let mut config = String::new();
        // Run as root, mosquitto drops to the user `mosquitto`, who cannot read or
        // write our scratch directory; `user root` keeps the process as it is.
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            config.push_str("user root\n");
        }
        if self.users.is_empty() {
            config.push_str("allow_anonymous true\n");
        } else {
            require("/usr/bin/mosquitto_passwd", "mosquitto");
            let file = dir.join("passwords");
            fs::write(&file, "").unwrap();
            for (name, password) in &self.users {
                let mut passwd = Command::new("/usr/bin/mosquitto_passwd");
                passwd.arg("-b").arg(&file).arg(name).arg(password);
                let output = run(&mut passwd, RUN_TIMEOUT);
                assert!(
                    output.status.success(),
                    "mosquitto_passwd failed:\n{output}"
                );
            }
            config.push_str(&format!(
                "allow_anonymous false\npassword_file {}\n",
                file.display()
            ));
        }
        if self.persistence {
            config.push_str(&format!(
                "persistence true\npersistence_location {}/\n",
                dir.display()
            ));
        }
        // Per-listener settings (allow_anonymous, password_file) are global unless
        // per_listener_settings is on, so they can come before the listeners.
        config.push_str(&self.extra);
        let tls = self.tls.then(|| {
            let (ports, listeners) = TlsPorts::choose();
            config.push_str(&listeners);
            ports
        });
        let socket_path = self.unix_socket.then(|| dir.join("mosquitto.sock"));
        let mut broker = Broker {
            child: None,
            port: 0,
            tls,
            socket_path,
            config,
            scratch,
        };
        broker.launch_on_a_free_port();
        broker
    }
}

/// A running `mosquitto`.
pub struct Broker {
    child: Option<Child>,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// The TLS listeners' ports, when the builder asked for them.
    pub tls: Option<TlsPorts>,
    socket_path: Option<PathBuf>,
    config: String,
    scratch: Scratch,
}

impl Broker {
    /// An anonymous broker with one TCP listener.
    pub fn start() -> Broker {
        Broker::builder().start()
    }

    pub fn builder() -> BrokerBuilder {
        BrokerBuilder::default()
    }

    /// The Unix socket's path, when the builder asked for one.
    pub fn socket_path(&self) -> Option<&Path> {
        self.socket_path.as_deref()
    }

    /// The broker's scratch directory (config, log, password file, persistence).
    pub fn dir(&self) -> &Path {
        self.scratch.path()
    }

    /// What the broker logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir().join("mosquitto.log")).unwrap_or_default()
    }

    /// Kills the broker (SIGKILL, by PID) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the broker with SIGTERM, so that it writes its persistence file, and
    /// waits for it (killing it after 10 s).
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child's PID; it has not been reaped yet.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = Instant::now() + START_TIMEOUT;
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// The process ID of the running broker.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts the broker again on the same port (killing it first if it runs).
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + START_TIMEOUT;
        // The old listening socket may linger a moment.
        while Instant::now() < deadline {
            if self.launch(self.port).is_ok() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "mosquitto did not restart on {}:\n{}",
            self.port,
            self.log()
        );
    }

    fn launch_on_a_free_port(&mut self) {
        // Another process may take the port between our probe and the broker's bind.
        for _attempt in 0..5 {
            if self.launch(free_port()).is_ok() {
                return;
            }
        }
        panic!("mosquitto did not start:\n{}", self.log());
    }

    fn launch(&mut self, port: u16) -> Result<(), ()> {
        let dir = self.dir().to_path_buf();
        let mut config = format!("listener {port} 127.0.0.1\n");
        if let Some(path) = &self.socket_path {
            let _ = fs::remove_file(path);
            config.push_str(&format!("listener 0 {}\n", path.display()));
        }
        config.push_str(&self.config);
        let file = dir.join("mosquitto.conf");
        fs::write(&file, config).unwrap();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("mosquitto.log"))
            .unwrap();
        // The log of earlier attempts stays; only this one's lines count.
        let log_start = log.metadata().map_or(0, |m| m.len() as usize);
        let mut child = Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(&file)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start mosquitto");
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            let tcp = listening(port);
            let unix = match &self.socket_path {
                Some(path) => UnixStream::connect(path).is_ok(),
                None => true,
            };
            let tls = self
                .tls
                .is_none_or(|ports| ports.all().iter().all(|p| listening(*p)));
            // A listener on the port may be another test's broker, taken
            // between our probe and this one's bind: ours says it runs only
            // once its own listeners are open.
            let running = self
                .log()
                .get(log_start..)
                .is_some_and(|ours| ours.contains(" running"));
            if tcp && unix && tls && running {
                self.port = port;
                self.child = Some(child);
                return Ok(());
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(())
    }
}

/// Whether something listens on `port`. A connect to a port in the ephemeral
/// range can meet itself (TCP simultaneous open, when the kernel picks the same
/// port as the source), which says nothing about a listener.
fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok_and(|s| s.local_addr().ok() != s.peer_addr().ok())
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}
