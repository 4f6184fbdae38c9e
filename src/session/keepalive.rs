//! Keepalive for one network connection, as libmosquitto keeps it: a PINGREQ goes
//! out when nothing was written or nothing was read for the keepalive interval, and
//! the connection is dead when that happens again while the PINGREQ is unanswered.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Keepalive {
    /// `None` when keepalive is off (interval 0).
    interval: Option<Duration>,
    last_sent: Instant,
    last_received: Instant,
    ping_outstanding: bool,
}

/// What `check` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepaliveCheck {
    Quiet,
    SendPing,
    TimedOut,
}

impl Keepalive {
    pub fn new(seconds: u16, now: Instant) -> Self {
        Keepalive {
            interval: interval_of(seconds),
            last_sent: now,
            last_received: now,
            ping_outstanding: false,
        }
    }

    /// The broker's Server Keep Alive replaces ours.
    pub fn set_interval(&mut self, seconds: u16) {
        self.interval = interval_of(seconds);
    }

    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    pub fn note_sent(&mut self, now: Instant) {
        self.last_sent = now;
    }

    pub fn note_received(&mut self, now: Instant) {
        self.last_received = now;
    }

    pub fn note_pong(&mut self) {
        self.ping_outstanding = false;
    }

    #[cfg(test)]
    pub fn ping_outstanding(&self) -> bool {
        self.ping_outstanding
    }

    /// When `check` next has something to do.
    pub fn deadline(&self) -> Option<Instant> {
        let interval = self.interval?;
        Some(self.last_sent.min(self.last_received) + interval)
    }

    /// `may_ping` is false until CONNACK: a connection that is not up yet cannot
    /// ping, so an elapsed interval then means the broker never answered.
    pub fn check(&mut self, now: Instant, may_ping: bool) -> KeepaliveCheck {
        match self.deadline() {
            Some(deadline) if now >= deadline => {}
            _ => return KeepaliveCheck::Quiet,
        }
        if !may_ping || self.ping_outstanding {
            return KeepaliveCheck::TimedOut;
        }
        self.ping_outstanding = true;
        // Both clocks restart so the broker gets a whole interval to answer.
        self.last_sent = now;
        self.last_received = now;
        KeepaliveCheck::SendPing
    }
}

fn interval_of(seconds: u16) -> Option<Duration> {
    (seconds > 0).then(|| Duration::from_secs(u64::from(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn nothing_happens_before_the_interval_elapses() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(10, t0);
        assert_eq!(k.check(t0 + secs(9), true), KeepaliveCheck::Quiet);
        assert_eq!(k.deadline(), Some(t0 + secs(10)));
    }

    #[test]
    fn silence_in_either_direction_triggers_a_ping() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(10, t0);
        k.note_sent(t0 + secs(8));
        assert_eq!(k.check(t0 + secs(10), true), KeepaliveCheck::SendPing);
        assert!(k.ping_outstanding());
    }

    #[test]
    fn an_unanswered_ping_times_out_one_interval_later() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(10, t0);
        assert_eq!(k.check(t0 + secs(10), true), KeepaliveCheck::SendPing);
        assert_eq!(k.check(t0 + secs(19), true), KeepaliveCheck::Quiet);
        assert_eq!(k.check(t0 + secs(20), true), KeepaliveCheck::TimedOut);
    }

    #[test]
    fn a_pong_allows_the_next_ping() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(10, t0);
        k.check(t0 + secs(10), true);
        k.note_received(t0 + secs(11));
        k.note_pong();
        assert_eq!(k.check(t0 + secs(20), true), KeepaliveCheck::SendPing);
    }

    #[test]
    fn zero_seconds_turns_keepalive_off() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(0, t0);
        assert_eq!(k.deadline(), None);
        assert_eq!(k.check(t0 + secs(100_000), true), KeepaliveCheck::Quiet);
    }
}
