//! The wait before each reconnect attempt, as pure functions of the settings
//! and the attempt number (0 for the first attempt after a loss).
//!
//! libmosquitto's sequences (`mosquitto_reconnect_delay_set`): the delay times
//! (attempt + 1), or with its "exponential backoff" the delay times
//! (attempt + 1)², which grows quadratically (1, 4, 9, 16 s...), never beyond
//! the maximum. skeeter adds a truly doubling sequence (delay × 2^attempt: 1, 2,
//! 4, 8 s...) and jitter: each wait drawn uniformly within ±percent of the
//! sequence's value, so clients that lost the same broker do not all come back
//! in the same instant. Both are off by default.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use super::options::ReconnectDelay;

/// skeeter's additions to the reconnect delay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DelayStyle {
    /// 0..=100; 0 is libmosquitto's exact sequence.
    pub jitter_percent: u8,
    /// delay × 2^attempt instead of libmosquitto's sequence.
    pub doubling: bool,
}

/// The sequence's value for `attempt`, in whole seconds (before jitter).
pub fn delay_secs(r: &ReconnectDelay, doubling: bool, attempt: u32) -> u64 {
    let delay = u64::from(r.delay);
    let max = u64::from(r.max).max(1);
    if r.max <= r.delay {
        return delay.min(max);
    }
    let factor = if doubling {
        1u64.checked_shl(attempt).unwrap_or(u64::MAX)
    } else {
        let n = u64::from(attempt) + 1;
        if r.exponential {
            n.saturating_mul(n)
        } else {
            n
        }
    };
    delay.saturating_mul(factor).min(max)
}

/// The first attempt number whose wait is the maximum (at least 1): how many
/// failures in a row it takes for the delay to stop growing.
pub fn attempts_to_max(r: &ReconnectDelay, doubling: bool) -> u32 {
    if r.max <= r.delay {
        return 1;
    }
    // The factor the delay must be multiplied by to reach the maximum.
    let ratio = u64::from(r.max).div_ceil(u64::from(r.delay.max(1)));
    let attempt = if doubling {
        u64::from(ratio.next_power_of_two().trailing_zeros())
    } else if r.exponential {
        ratio.isqrt() + u64::from(ratio.isqrt().pow(2) < ratio) - 1
    } else {
        ratio - 1
    };
    u32::try_from(attempt).unwrap_or(u32::MAX).max(1)
}

/// `base` moved by `unit` (in -1.0..=1.0) times `percent` percent of itself.
pub fn jittered(base: Duration, percent: u8, unit: f64) -> Duration {
    if percent == 0 {
        return base;
    }
    let spread = f64::from(percent.min(100)) / 100.0 * unit.clamp(-1.0, 1.0);
    base.mul_f64(1.0 + spread)
}

/// A number drawn uniformly from -1.0..=1.0 (hashing keys seeded from the
/// operating system's random source; no cryptographic strength needed).
pub fn random_unit() -> f64 {
    let bits = RandomState::new().build_hasher().finish() >> 11;
    (bits as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// The wait before `attempt`: the sequence's value, with jitter.
pub fn wait(r: &ReconnectDelay, style: DelayStyle, attempt: u32, unit: f64) -> Duration {
    let base = Duration::from_secs(delay_secs(r, style.doubling, attempt));
    jittered(base, style.jitter_percent, unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(delay: u32, max: u32, exponential: bool) -> ReconnectDelay {
        ReconnectDelay {
            delay,
            max,
            exponential,
        }
    }

    fn sequence(r: &ReconnectDelay, doubling: bool) -> Vec<u64> {
        (0..6).map(|n| delay_secs(r, doubling, n)).collect()
    }

    #[test]
    fn libmosquittos_linear_sequence_grows_by_the_delay_up_to_the_maximum() {
        assert_eq!(sequence(&settings(2, 7, false), false), [2, 4, 6, 7, 7, 7]);
    }

    #[test]
    fn libmosquittos_exponential_sequence_is_quadratic() {
        assert_eq!(
            sequence(&settings(1, 30, true), false),
            [1, 4, 9, 16, 25, 30]
        );
    }

    #[test]
    fn the_doubling_sequence_doubles() {
        assert_eq!(
            sequence(&settings(1, 30, false), true),
            [1, 2, 4, 8, 16, 30]
        );
        assert_eq!(delay_secs(&settings(1, 30, false), true, 200), 30);
    }

    #[test]
    fn a_maximum_not_above_the_delay_keeps_the_delay() {
        assert_eq!(sequence(&settings(5, 5, true), true), [5; 6]);
        assert_eq!(attempts_to_max(&settings(5, 2, false), false), 1);
    }

    #[test]
    fn attempts_to_max_is_the_first_attempt_whose_wait_is_the_maximum() {
        for (r, doubling) in [
            (settings(2, 7, false), false),
            (settings(1, 30, true), false),
            (settings(1, 30, false), true),
            (settings(3, 100, true), false),
            (settings(1, 16, true), false),
            (settings(1, 2, false), false),
        ] {
            let first = (0..100)
                .find(|&n| delay_secs(&r, doubling, n) == u64::from(r.max))
                .unwrap();
            assert_eq!(
                attempts_to_max(&r, doubling),
                first.max(1),
                "{r:?} {doubling}"
            );
        }
    }

    #[test]
    fn without_jitter_the_wait_is_the_sequences_value() {
        let r = settings(2, 7, false);
        assert_eq!(
            wait(&r, DelayStyle::default(), 1, 0.9),
            Duration::from_secs(4)
        );
    }

    #[test]
    fn jitter_moves_the_wait_by_at_most_its_percentage() {
        let base = Duration::from_secs(10);
        assert_eq!(jittered(base, 20, -1.0), Duration::from_secs(8));
        assert_eq!(jittered(base, 20, 1.0), Duration::from_secs(12));
        assert_eq!(jittered(base, 20, 0.5), Duration::from_secs(11));
        assert_eq!(jittered(base, 250, -1.0), Duration::ZERO);
    }

    #[test]
    fn random_units_cover_the_range_evenly() {
        let draws: Vec<f64> = (0..4000).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|u| (-1.0..=1.0).contains(u)));
        let below = draws.iter().filter(|u| **u < 0.0).count();
        assert!((1700..2300).contains(&below), "{below} of 4000 below 0");
        let low_tenth = draws.iter().filter(|u| **u < -0.8).count();
        assert!(
            (250..560).contains(&low_tenth),
            "{low_tenth} of 4000 below -0.8"
        );
    }
}
