//! Which server of the list to connect to next: a state machine with no
//! sockets and no clock, told what happened to each attempt.
//!
//! The client tries the servers in order. An attempt starts with a connect and
//! succeeds with an accepted CONNACK; one that ends any other way (refused, lost
//! before CONNACK, a failed TLS handshake) is a failure of its server. After
//! enough failures in a row on one server (the reconnect delay has reached its
//! maximum, Mongoose OS's rule, or the count `skeeter_failover_attempts_set`
//! gave), the next server is tried with its own count from zero, so the delay
//! starts small again; after the last comes the first. A server that works is
//! kept: a connection lost after its CONNACK is tried again on the same server.

use super::server_list::Server;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    servers: Box<[Server]>,
    current: usize,
    /// Failed attempts in a row on the current server.
    failures: u32,
    /// An attempt was started and has neither succeeded nor been counted as failed.
    pending: bool,
}

impl Failover {
    /// A list that starts at its first server; `None` for an empty list.
    pub fn new(servers: Vec<Server>) -> Option<Failover> {
        if servers.is_empty() {
            return None;
        }
        Some(Failover {
            servers: servers.into(),
            current: 0,
            failures: 0,
            pending: false,
        })
    }

    /// The server to connect to now, with its index in the list.
    pub fn current(&self) -> (usize, &Server) {
        (self.current, &self.servers[self.current])
    }

    /// How many attempts in a row have failed on the current server: the
    /// attempt number the reconnect delay is computed from.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A connect to the current server has started. An attempt still pending
    /// is first settled as failed (see `settle`).
    pub fn attempt_started(&mut self, switch_after: u32) {
        self.settle(switch_after);
        self.pending = true;
    }

    /// The broker accepted the connection: stay on this server.
    pub fn connected(&mut self) {
        self.pending = false;
        self.failures = 0;
    }

    /// Counts a pending attempt (one that never reached an accepted CONNACK)
    /// as failed, moving to the next server after `switch_after` failures in a
    /// row (at least 1). Returns whether it moved. Without a pending attempt,
    /// nothing changes.
    pub fn settle(&mut self, switch_after: u32) -> bool {
        if !self.pending {
            return false;
        }
        self.pending = false;
        self.failures += 1;
        if self.failures < switch_after.max(1) {
            return false;
        }
        self.current = (self.current + 1) % self.servers.len();
        self.failures = 0;
        true
    }
}

/// After how many failures in a row a server is left: the first of the
/// `attempts` limit (0: none) and the failure count at which the reconnect
/// delay reaches its maximum (`delay_at_max`).
pub fn switch_after(attempts: u32, delay_at_max: u32) -> u32 {
    let by_delay = delay_at_max.max(1);
    match attempts {
        0 => by_delay,
        n => n.min(by_delay),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(n: usize) -> Failover {
        let servers = (0..n)
            .map(|i| Server::parse(&format!("mqtt://b{i}")).unwrap())
            .collect();
        Failover::new(servers).unwrap()
    }

    /// Starts an attempt and lets it fail, as the next attempt finds it.
    fn fail(f: &mut Failover, switch_after: u32) -> bool {
        f.attempt_started(switch_after);
        f.settle(switch_after)
    }

    #[test]
    fn an_empty_list_is_no_list() {
        assert!(Failover::new(Vec::new()).is_none());
    }

    #[test]
    fn the_first_server_is_tried_first() {
        assert_eq!(list(3).current().0, 0);
    }

    #[test]
    fn after_enough_failures_the_next_server_is_tried_with_a_fresh_count() {
        let mut f = list(3);
        assert!(!fail(&mut f, 3));
        assert!(!fail(&mut f, 3));
        assert_eq!((f.current().0, f.failures()), (0, 2));
        assert!(fail(&mut f, 3));
        assert_eq!((f.current().0, f.failures()), (1, 0));
    }

    #[test]
    fn after_the_last_server_comes_the_first() {
        let mut f = list(2);
        assert!(fail(&mut f, 1));
        assert!(fail(&mut f, 1));
        assert_eq!(f.current().0, 0);
    }

    #[test]
    fn a_server_that_works_is_kept_when_its_connection_is_lost() {
        let mut f = list(2);
        fail(&mut f, 1);
        f.attempt_started(1);
        f.connected();
        // The connection is lost later: the next attempt goes to the same server.
        f.attempt_started(1);
        assert_eq!(f.current().0, 1);
        f.connected();
        assert_eq!(f.current().0, 1);
    }

    #[test]
    fn success_clears_the_failure_count() {
        let mut f = list(2);
        fail(&mut f, 3);
        fail(&mut f, 3);
        f.attempt_started(3);
        f.connected();
        assert_eq!(f.failures(), 0);
        assert!(!fail(&mut f, 3));
        assert_eq!(f.current().0, 0);
    }

    #[test]
    fn a_new_attempt_settles_a_pending_one_as_failed() {
        let mut f = list(2);
        f.attempt_started(1);
        f.attempt_started(1);
        assert_eq!(f.current().0, 1);
    }

    #[test]
    fn settling_twice_counts_one_failure() {
        let mut f = list(2);
        f.attempt_started(2);
        assert!(!f.settle(2));
        assert!(!f.settle(2));
        assert_eq!(f.failures(), 1);
    }

    #[test]
    fn a_one_server_list_stays_on_it() {
        let mut f = list(1);
        assert!(fail(&mut f, 1));
        assert_eq!((f.current().0, f.failures()), (0, 0));
    }

    #[test]
    fn the_attempt_limit_and_the_delay_rule_whichever_comes_first() {
        assert_eq!(switch_after(0, 4), 4);
        assert_eq!(switch_after(2, 4), 2);
        assert_eq!(switch_after(9, 4), 4);
        // A delay already at its maximum: every failure moves on.
        assert_eq!(switch_after(0, 0), 1);
    }
}
