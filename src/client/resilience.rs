//! skeeter's own settings and state beyond libmosquitto's (include/skeeter.h):
//! the server list, the reconnect delay's style, and what the counters need.
//! Kept under the client lock with the rest of the state.

use std::time::SystemTime;

use super::backoff::{self, DelayStyle};
use super::connect_timeout;
use super::failover::{self, Failover};
use super::options::{Options, Rare, RareDefault};
use super::qos_ceiling::QosCeiling;
use super::server_list::Server;
use super::ClientState;
use crate::net::tls_settings::{TlsSettings, Verification};
use crate::net::websocket_handshake::Upgrade;
use crate::session::offline_queue::OfflineBound;

/// What an idle client holds of these: the per-connection state inline, the
/// settings (which few programs make) out of line through `Rare`, read as
/// their defaults until first changed. Reads and writes of a setting go
/// through `Deref`, so `state.resilience.qos_ceiling` names it either way.
#[derive(Debug, Default)]
pub struct Resilience {
    settings: Rare<ResilienceSettings>,
    /// When the current attempt times out (see `connect_timeout`).
    pub connect_deadline: Option<std::time::Instant>,
    /// A downgrade was logged on this connection.
    pub qos_downgrade_logged: bool,
    /// Connections made by `reconnect` (not the first connect).
    pub reconnects: u32,
    /// When the current connection's CONNACK was accepted, by the wall clock:
    /// milliseconds since the Unix epoch (8 bytes where a `SystemTime` takes 16).
    pub connected_since_ms: Option<std::num::NonZeroU64>,
    /// `skeeter_persistence_set`: the store of unfinished messages.
    pub persistence: Option<Box<super::persist::Persistence>>,
}

/// skeeter's settings, and the server list's state.
#[derive(Debug, Clone)]
pub struct ResilienceSettings {
    /// `skeeter_servers_set`; `None`: connect where the connect call says.
    pub failover: Option<Failover>,
    /// `skeeter_failover_attempts_set`: failures in a row before the next
    /// server (0: only when the delay reaches its maximum).
    pub failover_attempts: u32,
    pub delay_style: DelayStyle,
    /// `skeeter_resubscribe_set`: the session records subscriptions and makes
    /// them again after a reconnect that lost the session.
    pub resubscribe: bool,
    /// `skeeter_offline_queue_set`; `None`: libmosquitto's rules.
    pub offline_bound: Option<OfflineBound>,
    /// `skeeter_connect_timeout_set`.
    pub connect_timeout: Option<std::time::Duration>,
    /// `skeeter_max_incoming_packet_set`: the largest packet accepted.
    pub incoming_cap: Option<u32>,
    /// `skeeter_max_qos_set`.
    pub qos_ceiling: QosCeiling,
}

impl Resilience {
    /// Whether any of skeeter's settings were made (they then hold memory).
    pub fn settings_made(&self) -> bool {
        self.settings.is_changed()
    }
}

/// The settings of a client that made none.
static NO_SETTINGS: ResilienceSettings = ResilienceSettings {
    failover: None,
    failover_attempts: 0,
    delay_style: DelayStyle {
        jitter_percent: 0,
        doubling: false,
    },
    resubscribe: false,
    offline_bound: None,
    connect_timeout: None,
    incoming_cap: None,
    qos_ceiling: QosCeiling::Off,
};

impl RareDefault for ResilienceSettings {
    fn default_ref() -> &'static Self {
        &NO_SETTINGS
    }
}

impl std::ops::Deref for Resilience {
    type Target = ResilienceSettings;
    fn deref(&self) -> &ResilienceSettings {
        &self.settings
    }
}

/// A write to a setting: the first allocates them.
impl std::ops::DerefMut for Resilience {
    fn deref_mut(&mut self) -> &mut ResilienceSettings {
        &mut self.settings
    }
}

/// Where one attempt connects, when a server list says so.
pub struct ListedTarget {
    pub server: Server,
}

impl ListedTarget {
    /// The TLS settings for this server: none for `mqtt://` and `unix:`, the
    /// program's for `mqtts://` (the system's trusted roots if it gave none).
    pub fn tls(&self, configured: &TlsSettings) -> TlsSettings {
        if !self.server.uses_tls() {
            return TlsSettings::default();
        }
        let mut tls = configured.clone();
        if !tls.enabled() {
            tls.use_os_certs = true;
            tls.verification = Verification::Required;
        }
        tls
    }

    /// The WebSocket upgrade for this server: its scheme decides, whatever
    /// `MOSQ_OPT_TRANSPORT` says (`ws://` and `wss://` upgrade, the URI's path
    /// first; the others do not).
    pub fn upgrade(&self, options: &Options) -> Option<Upgrade> {
        let path = self.server.websocket_path()?;
        Some(options.upgrade_on(path))
    }
}

impl ClientState {
    /// After how many failures in a row the failover list moves on.
    fn switch_after(&self) -> u32 {
        let style = self.resilience.delay_style;
        let at_max = backoff::attempts_to_max(&self.options.reconnect, style.doubling);
        failover::switch_after(self.resilience.failover_attempts, at_max)
    }

    /// The attempt number the next reconnect delay is computed from: with a
    /// server list, the failures in a row on its current server (an attempt
    /// that ended without a connection counted first); otherwise `attempt`.
    pub fn reconnect_attempt(&mut self, attempt: u32) -> u32 {
        let switch_after = self.switch_after();
        let connected = self.conn.is_some();
        if self.resilience.failover.is_none() {
            return attempt;
        }
        match self.resilience.failover.as_mut() {
            Some(list) => {
                if !connected {
                    list.settle(switch_after);
                }
                list.failures()
            }
            None => attempt,
        }
    }

    /// Starts a connect attempt (and its timeout): the list's server to use,
    /// if a list is set.
    pub fn start_attempt(&mut self) -> Option<ListedTarget> {
        self.resilience.connect_deadline =
            connect_timeout::deadline(self.resilience.connect_timeout, std::time::Instant::now());
        self.resilience.failover.as_ref()?;
        let switch_after = self.switch_after();
        let list = self.resilience.failover.as_mut()?;
        list.attempt_started(switch_after);
        Some(ListedTarget {
            server: list.current().1.clone(),
        })
    }

    /// The broker accepted the connection.
    pub fn note_connected(&mut self, now: SystemTime) {
        self.resilience.connected_since_ms = epoch_ms(now);
        self.resilience.connect_deadline = None;
        self.resilience.qos_downgrade_logged = false;
        if self.resilience.failover.is_some() {
            if let Some(list) = self.resilience.failover.as_mut() {
                list.connected();
            }
        }
    }

    /// The index of the server in use (or to be tried next), -1 without a list.
    pub fn server_index(&self) -> i32 {
        self.resilience
            .failover
            .as_ref()
            .map_or(-1, |list| list.current().0 as i32)
    }
}

/// What `skeeter_stats` reports, read under the lock in one go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub bytes_unsent: u64,
    pub messages_queued: u64,
    pub in_flight_out: u64,
    pub in_flight_in: u64,
    pub dropped: u64,
    pub reconnects: u64,
    pub server_index: i32,
    /// The current connection's CONNACK, by the wall clock; `None` while
    /// there is no accepted connection.
    pub connected_since: Option<SystemTime>,
}

impl ClientState {
    /// The counters, from what the state holds now (no counting on the way).
    pub fn stats(&self) -> Stats {
        let session = self.session.as_ref();
        let up = session.is_some_and(|s| s.is_connected()) && self.conn.is_some();
        Stats {
            bytes_unsent: self.conn.as_ref().map_or(0, |c| c.waiting_bytes() as u64),
            messages_queued: session.map_or(0, |s| s.waiting_count() as u64),
            in_flight_out: session.map_or(0, |s| s.in_flight_count() as u64),
            in_flight_in: session.map_or(0, |s| s.incoming_held_count() as u64),
            dropped: session.map_or(0, |s| s.offline_dropped()),
            reconnects: u64::from(self.resilience.reconnects),
            server_index: self.server_index(),
            connected_since: self
                .resilience
                .connected_since_ms
                .filter(|_| up)
                .map(|ms| SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms.get())),
        }
    }
}

impl super::Client {
    /// Runs `change` on the state under the main lock.
    pub fn with_state<T>(&self, change: impl FnOnce(&mut ClientState) -> T) -> T {
        change(&mut self.lock())
    }

    /// `skeeter_servers_set`: a new list, from its first server; empty: none.
    pub fn set_servers(&self, servers: Vec<Server>) {
        self.with_state(|state| state.resilience.failover = Failover::new(servers));
    }

    /// `skeeter_resubscribe_set`: takes effect on the session now, or on the
    /// one the first connect makes.
    pub fn set_resubscribe(&self, on: bool) {
        self.with_state(|state| {
            state.resilience.resubscribe = on;
            if let Some(session) = state.session.as_mut() {
                session.set_resubscribe(on);
            }
        });
    }

    /// `skeeter_offline_queue_set`: takes effect on the session now, or on the
    /// one the first connect makes.
    pub fn set_offline_bound(&self, bound: Option<OfflineBound>) {
        self.with_state(|state| {
            state.resilience.offline_bound = bound;
            if let Some(session) = state.session.as_mut() {
                session.set_offline_bound(bound);
            }
        });
    }

    /// Whether a server list replaces the connect calls' host and port.
    pub fn has_servers(&self) -> bool {
        self.with_state(|state| state.resilience.failover.is_some())
    }
}

/// `at` in milliseconds since the Unix epoch; `None` before it (a clock set wrong).
fn epoch_ms(at: SystemTime) -> Option<std::num::NonZeroU64> {
    let ms = at.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_millis();
    std::num::NonZeroU64::new(u64::try_from(ms).ok()?)
}

#[cfg(test)]
mod tests {
    use super::super::Client;
    use super::*;
    use std::time::Duration;

    fn client() -> Client {
        let client = Client::new(Some(b"r"), true, 0).unwrap();
        client.with_options(|o| o.set_reconnect_delay(1, 60, false));
        client
    }

    fn servers(n: usize) -> Vec<Server> {
        (0..n)
            .map(|i| Server::parse(&format!("mqtt://h{i}")).unwrap())
            .collect()
    }

    #[test]
    fn a_client_that_makes_no_skeeter_setting_holds_none_through_connects_and_reconnects() {
        let mut state = ClientState::new(crate::client::Options::new(Some(b"c"), true).unwrap());
        assert!(state.start_attempt().is_none());
        state.note_connected(SystemTime::now());
        assert_eq!(state.reconnect_attempt(3), 3);
        state.resilience.reconnects += 1;
        assert!(state.resilience.connect_deadline.is_none());
        assert_eq!(state.resilience.qos_ceiling, QosCeiling::Off);
        assert!(!state.resilience.settings_made());
        state.resilience.connect_timeout = Some(Duration::from_secs(1));
        assert!(state.resilience.settings_made());
        assert!(state.resilience.failover.is_none());
    }

    #[test]
    fn loop_forevers_wait_follows_the_doubling_sequence_when_asked() {
        let client = client();
        assert_eq!(client.reconnect_wait(3), Duration::from_secs(4));
        client.with_state(|s| s.resilience.delay_style.doubling = true);
        assert_eq!(client.reconnect_wait(3), Duration::from_secs(8));
    }

    #[test]
    fn with_a_list_the_wait_counts_the_failures_on_the_current_server() {
        let client = client();
        client.set_servers(servers(2));
        client.with_state(|s| s.resilience.failover_attempts = 2);
        // The loop's own count is ignored: no attempt has failed yet.
        assert_eq!(client.reconnect_wait(7), Duration::from_secs(1));
        for (expected_index, expected_wait) in [(0, 2), (1, 1), (1, 2), (0, 1)] {
            client.with_state(|s| s.start_attempt());
            assert_eq!(client.reconnect_wait(7), Duration::from_secs(expected_wait));
            assert_eq!(client.with_state(|s| s.server_index()), expected_index);
        }
    }

    #[test]
    fn an_accepted_connack_keeps_the_server() {
        let client = client();
        client.set_servers(servers(2));
        client.with_state(|s| {
            s.start_attempt();
            s.note_connected(SystemTime::now());
            s.start_attempt();
        });
        assert_eq!(client.with_state(|s| s.server_index()), 0);
    }

    #[test]
    fn an_mqtts_server_without_tls_settings_trusts_the_systems_roots() {
        let tls = |uri: &str| {
            let listed = ListedTarget {
                server: Server::parse(uri).unwrap(),
            };
            listed.tls(&TlsSettings::default())
        };
        assert!(tls("mqtts://h").use_os_certs);
        assert!(!tls("mqtt://h").enabled());
        let configured = TlsSettings {
            cafile: Some("/ca.pem".into()),
            ..TlsSettings::default()
        };
        let listed = ListedTarget {
            server: Server::parse("mqtt://h").unwrap(),
        };
        assert!(!listed.tls(&configured).enabled(), "mqtt:// is plain");
    }

    #[test]
    fn a_servers_scheme_decides_whether_to_upgrade_to_websockets() {
        let upgrade = |uri: &str, options: &Options| {
            let listed = ListedTarget {
                server: Server::parse(uri).unwrap(),
            };
            listed.upgrade(options).map(|u| u.path)
        };
        let mut options = Options::new(Some(b"c"), true).unwrap();
        assert_eq!(upgrade("ws://h:1/ws", &options), Some("/ws".into()));
        assert_eq!(upgrade("wss://h", &options), Some("/mqtt".into()));
        options.websocket.set_transport(2).unwrap();
        options.websocket.set_path(Some("/set".into())).unwrap();
        assert_eq!(upgrade("ws://h", &options), Some("/set".into()));
        assert_eq!(upgrade("ws://h/uri", &options), Some("/uri".into()));
        assert_eq!(upgrade("mqtt://h", &options), None);
        assert_eq!(upgrade("unix:/s", &options), None);
    }
}
