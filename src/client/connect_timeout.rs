//! The connect timeout (`skeeter_connect_timeout_set`): from the start of an
//! attempt to its accepted CONNACK, the TCP handshake of a non-blocking connect,
//! the SOCKS5 and TLS handshakes and the broker's answer together must take at
//! most this long; otherwise the attempt ends with `MOSQ_ERR_TIMEOUT`, and the
//! next one (on the next server, with a list) follows, instead of a broker that
//! accepted and never answered holding the client until the keepalive.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Whether an attempt that started its clock at `deadline`'s making has run
/// out: `Err(Timeout)` once `now` reaches the deadline, while not connected.
pub fn check(deadline: Option<Instant>, connected: bool, now: Instant) -> Result<()> {
    match deadline {
        Some(at) if !connected && now >= at => Err(Error::Timeout),
        _ => Ok(()),
    }
}

/// The earlier of two deadlines, either of which may be absent.
pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The deadline of an attempt starting `now`, if there is a timeout.
pub fn deadline(timeout: Option<Duration>, now: Instant) -> Option<Instant> {
    timeout.map(|t| now + t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_times_out_once_its_deadline_passes_without_a_connack() {
        let start = Instant::now();
        let at = deadline(Some(Duration::from_millis(300)), start);
        assert_eq!(check(at, false, start + Duration::from_millis(299)), Ok(()));
        assert_eq!(
            check(at, false, start + Duration::from_millis(300)),
            Err(Error::Timeout)
        );
    }

    #[test]
    fn a_connected_client_or_one_without_a_timeout_never_times_out() {
        let start = Instant::now();
        let late = start + Duration::from_secs(60);
        let at = deadline(Some(Duration::from_millis(1)), start);
        assert_eq!(check(at, true, late), Ok(()));
        assert_eq!(check(deadline(None, start), false, late), Ok(()));
    }

    #[test]
    fn the_earliest_deadline_wins() {
        let now = Instant::now();
        let later = now + Duration::from_secs(1);
        assert_eq!(earliest(Some(later), Some(now)), Some(now));
        assert_eq!(earliest(None, Some(now)), Some(now));
        assert_eq!(earliest(Some(later), None), Some(later));
        assert_eq!(earliest(None, None), None);
    }
}
