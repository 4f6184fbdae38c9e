//! Whether `mosquitto_loop` should look at the socket again for a moment before
//! sleeping in `poll`, or let acknowledgements gather before reading them.
//!
//! On a virtual machine, sleeping and waking cost about as much as a quick
//! broker's answer to a burst, so after a read that brought at least `BATCH`
//! packets, while messages await acknowledgement, the loop polls without
//! sleeping for up to `SPIN`; each look that finds nothing makes the next
//! looks rarer (a broker answering packet by packet, as mosquitto does, costs
//! a look every few hundred waits at most). With `GATHER_DEPTH` or more in
//! flight the broker has a backlog anyway, and waiting `GATHER` lets each read
//! bring many answers and each write go out as one segment, which the
//! single-threaded broker handles far faster than one segment per message.
//! A smaller window (from `PIECEMEAL_DEPTH`) gathers too while the peer answers
//! piecemeal, a packet or two a read, as mosquitto does: then every answer
//! would cost a sleep and a wake-up of its own. The wait for CONNACK always
//! looks first (see `should_spin`).

use std::time::Duration;

/// The longest look before sleeping.
pub const SPIN: Duration = Duration::from_micros(30);
/// Packets one read must bring before the loop looks again instead of sleeping.
const BATCH: usize = 8;
/// Misses in a row beyond which the pause between looks stops growing (2^8 waits).
const MAX_MISSES: u8 = 8;

/// How long acknowledgements gather when `GATHER_DEPTH` messages are in flight.
pub const GATHER: Duration = Duration::from_micros(50);
/// Messages in flight from which the loop lets acknowledgements gather. At the
/// broker's few microseconds a message, this many are a backlog several times
/// `GATHER` long.
const GATHER_DEPTH: usize = 64;

/// Messages in flight from which a peer that answers piecemeal is left to
/// gather (libmosquitto's default window of 20 is past it).
const PIECEMEAL_DEPTH: usize = 16;
/// Every this many gathers, one wait looks at once, to see how the peer answers now.
const PROBE_EVERY: u8 = 32;

#[derive(Debug, Default)]
pub struct Pace {
    /// How many packets the last read that found any brought.
    last_batch: u32,
    /// Looks in a row that ended with nothing to read.
    misses: u8,
    /// Waits left that sleep at once.
    skip: u16,
    /// Whether the last read after a plain wait brought fewer than `BATCH` packets.
    piecemeal: bool,
    /// Whether the wait before the next read gathered (its read says nothing of the peer).
    gathered: bool,
    /// Gathers since the last probe.
    gathers: u8,
}

impl Pace {
    /// A read brought `packets` packets.
    pub fn note_read(&mut self, packets: usize) {
        if packets > 0 {
            self.last_batch = packets.min(u32::MAX as usize) as u32;
            if !self.gathered {
                self.piecemeal = packets < BATCH;
            }
        }
        self.gathered = false;
    }

    /// Whether the loop should wait `GATHER` before looking at the socket, with
    /// `in_flight` messages awaiting acknowledgement.
    pub fn should_gather(&mut self, in_flight: usize) -> bool {
        let gather = in_flight >= GATHER_DEPTH
            || (in_flight >= PIECEMEAL_DEPTH && self.piecemeal && !self.probe_due());
        self.gathered = gather;
        gather
    }

    /// Counts a gather of a small window; true every `PROBE_EVERY`th.
    fn probe_due(&mut self) -> bool {
        self.gathers += 1;
        if self.gathers < PROBE_EVERY {
            return false;
        }
        self.gathers = 0;
        true
    }

    /// Whether the next wait should look again before sleeping, when `awaiting`
    /// acknowledgements are due, or the CONNACK (`connack_due`: CONNECT
    /// written). Counts the wait as one that sleeps at once otherwise.
    ///
    /// A CONNACK is always looked for: a broker nearby answers CONNECT within
    /// `SPIN`, and otherwise each connection's wait for it sleeps and is woken,
    /// which on a virtual machine costs more CPU than the look and most of a
    /// short connection's time. A broker far away costs one look per connection.
    pub fn should_spin(&mut self, awaiting: bool, connack_due: bool) -> bool {
        if connack_due {
            return true;
        }
        if !awaiting || (self.last_batch as usize) < BATCH {
            return false;
        }
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        true
    }

    /// How the look ended: with something to read (`hit`) or not.
    pub fn spun(&mut self, hit: bool) {
        if hit {
            self.misses = 0;
        } else {
            self.misses = (self.misses + 1).min(MAX_MISSES);
            self.skip = (1 << self.misses) - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batched() -> Pace {
        let mut pace = Pace::default();
        pace.note_read(20);
        pace
    }

    #[test]
    fn a_loop_spins_only_after_a_batch_and_while_answers_are_due() {
        let mut pace = Pace::default();
        pace.note_read(3);
        assert!(!pace.should_spin(true, false));
        pace.note_read(20);
        assert!(!pace.should_spin(false, false));
        assert!(pace.should_spin(true, false));
        // A read that found nothing says nothing of the broker's pace.
        pace.note_read(0);
        assert!(pace.should_spin(true, false));
    }

    #[test]
    fn a_connack_due_is_looked_for_before_sleeping_whatever_the_pace() {
        let mut pace = Pace::default();
        assert!(pace.should_spin(false, true), "a fresh connection");
        let mut pace = batched();
        pace.spun(false);
        assert!(
            pace.should_spin(true, true),
            "even in a pause between looks"
        );
        assert!(!pace.should_spin(true, false), "the pause itself stays");
    }

    #[test]
    fn misses_in_a_row_sleep_at_once_for_twice_as_many_waits_each_time() {
        let mut pace = batched();
        let mut pattern = Vec::new();
        for _ in 0..10 {
            let spin = pace.should_spin(true, false);
            pattern.push(spin);
            if spin {
                pace.spun(false);
            }
        }
        let expected = [
            true, false, true, false, false, false, true, false, false, false,
        ];
        assert_eq!(pattern, expected);
    }

    #[test]
    fn a_hit_resets_the_pause() {
        let mut pace = batched();
        pace.spun(false);
        assert!(!pace.should_spin(true, false));
        assert!(pace.should_spin(true, false));
        pace.spun(true);
        assert!(pace.should_spin(true, false));
        pace.spun(true);
        assert!(pace.should_spin(true, false));
    }

    #[test]
    fn acknowledgements_gather_behind_a_deep_window_whatever_the_peer() {
        let mut pace = batched();
        assert!(!pace.should_gather(GATHER_DEPTH - 1));
        assert!(pace.should_gather(GATHER_DEPTH));
        assert!(pace.should_gather(1000));
    }

    #[test]
    fn a_small_window_gathers_only_while_the_peer_answers_piecemeal() {
        let mut pace = Pace::default();
        assert!(!pace.should_gather(20), "nothing read yet");
        pace.note_read(1);
        assert!(!pace.should_gather(PIECEMEAL_DEPTH - 1));
        assert!(pace.should_gather(20));
        // What a gathered read brings does not change the verdict.
        pace.note_read(20);
        assert!(pace.should_gather(20));
        // A peer that answers in batches (a plain wait's read) is not waited for.
        pace.should_gather(1);
        pace.note_read(12);
        assert!(!pace.should_gather(20));
    }

    #[test]
    fn a_piecemeal_peer_is_probed_with_a_plain_wait_now_and_then() {
        let mut pace = Pace::default();
        pace.note_read(1);
        let plain = (0..PROBE_EVERY * 3)
            .filter(|_| !pace.should_gather(20))
            .count();
        assert_eq!(plain, 3);
    }

    #[test]
    fn the_pause_stops_growing() {
        let mut pace = batched();
        for _ in 0..20 {
            pace.spun(false);
        }
        assert_eq!(pace.skip, (1 << MAX_MISSES) - 1);
    }
}
