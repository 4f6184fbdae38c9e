//! A handle one thread signals to wake another that waits in `poll`: used when
//! `mosquitto_publish` from the user's thread queues a packet while the
//! `loop_start` thread sleeps, and to tell that thread to stop.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU8, Ordering};

use super::error::NetError;

/// A Linux eventfd: signals coalesce into one readable event until drained.
#[derive(Debug)]
pub struct Wakeup {
    fd: OwnedFd,
}

impl Wakeup {
    pub fn new() -> Result<Wakeup, NetError> {
        // SAFETY: eventfd takes no pointers; a negative result is checked below.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error().into());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Wakeup { fd })
    }

    /// Makes the descriptor readable. Safe to call from any thread, any number of times.
    pub fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our own eventfd. The only
        // failure is EAGAIN when the counter is saturated, which still means
        // "readable", so the result is not needed.
        unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Clears pending signals; returns whether there were any.
    pub fn drain(&self) -> bool {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our own non-blocking eventfd.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
        n == 8 && count > 0
    }

    /// The descriptor to hand to `poll`.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A loop is between `begin_wait` and `end_wait`: wakers must signal.
const WAITING: u8 = 1;
/// A waker came since the loop's `arm`.
const PENDING: u8 = 2;

/// Who must signal a `Wakeup`: only a waker that finds a loop waiting (or
/// about to), so a program that connects and loops on one thread makes no
/// `write` and no `read` on the eventfd for each request.
///
/// The loop calls `arm` before it looks at what wakers change (under the
/// client lock, or the stop flag), `begin_wait` just before it sleeps and
/// `end_wait` after. A waker changes what the loop looks at, then calls
/// `wake`. Either the loop's look saw the change, or the waker's mark came
/// after `arm`: then `begin_wait` finds it (and the loop does not sleep), or
/// the waker finds `WAITING` and signals. All in one atomic, SeqCst.
#[derive(Debug, Default)]
pub struct WaitGate {
    state: AtomicU8,
}

impl WaitGate {
    /// Forgets wakers that came before the loop's next look.
    pub fn arm(&self) {
        self.state.fetch_and(!PENDING, Ordering::SeqCst);
    }

    /// Marks the loop as waiting; true when a waker came since `arm`, and the
    /// loop should not sleep.
    pub fn begin_wait(&self) -> bool {
        self.state.fetch_or(WAITING, Ordering::SeqCst) & PENDING != 0
    }

    /// The wait is over; true when a waker came meanwhile (its signal may
    /// still be on its way).
    pub fn end_wait(&self) -> bool {
        self.state.swap(0, Ordering::SeqCst) & PENDING != 0
    }

    /// Marks a wake-up; true when this waker must signal: a loop waits and no
    /// other waker has signalled it since it began.
    pub fn wake(&self) -> bool {
        self.state.fetch_or(PENDING, Ordering::SeqCst) == WAITING
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::poll::{wait, Interest};
    use std::time::Duration;

    #[test]
    fn a_waker_signals_only_a_loop_that_waits() {
        let gate = WaitGate::default();
        assert!(!gate.wake(), "no loop waits");
        gate.arm();
        assert!(!gate.begin_wait());
        assert!(gate.wake(), "the loop waits");
        assert!(!gate.wake(), "it was signalled already");
        assert!(gate.end_wait());
        assert!(!gate.wake(), "the wait is over");
    }

    #[test]
    fn a_wake_between_arming_and_waiting_keeps_the_loop_from_sleeping() {
        let gate = WaitGate::default();
        gate.arm();
        assert!(!gate.wake());
        assert!(gate.begin_wait());
        gate.end_wait();
        gate.arm();
        assert!(!gate.begin_wait(), "the wake was used up");
    }

    #[test]
    fn a_wake_before_arming_is_forgotten() {
        let gate = WaitGate::default();
        gate.wake();
        gate.arm();
        assert!(!gate.begin_wait());
    }

    /// Many wakers against a loop that arms, waits on the eventfd and drains:
    /// every change a waker makes is seen by the loop within its wait.
    #[test]
    fn no_wake_is_lost_between_the_loop_and_its_wakers() {
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::Arc;
        const ROUNDS: u64 = 20_000;
        let gate = Arc::new(WaitGate::default());
        let wakeup = Arc::new(Wakeup::new().unwrap());
        let changes = Arc::new(AtomicU64::new(0));
        let waker = {
            let (gate, wakeup, changes) = (gate.clone(), wakeup.clone(), changes.clone());
            std::thread::spawn(move || {
                for i in 1..=ROUNDS {
                    changes.store(i, Ordering::SeqCst);
                    if gate.wake() {
                        wakeup.signal();
                    }
                    // Wait until the loop has seen it, so each change is a new wake.
                    while changes.load(Ordering::SeqCst) != 0 {
                        std::hint::spin_loop();
                    }
                }
            })
        };
        let mut seen = 0;
        while seen < ROUNDS {
            gate.arm();
            if changes.load(Ordering::SeqCst) != 0 {
                seen += 1;
                changes.store(0, Ordering::SeqCst);
                continue;
            }
            if !gate.begin_wait() {
                let interest = Interest {
                    socket: None,
                    wakeup: Some(wakeup.fd()),
                    want_write: false,
                };
                // A lost wake-up shows as this timeout.
                let ready = wait(interest, Some(Duration::from_secs(5))).unwrap();
                assert!(ready.woken, "a wake-up was lost after {seen} changes");
                wakeup.drain();
            }
            gate.end_wait();
        }
        waker.join().unwrap();
    }

    #[test]
    fn a_fresh_wakeup_has_nothing_to_drain() {
        let w = Wakeup::new().unwrap();
        assert!(!w.drain());
    }

    #[test]
    fn signals_coalesce_into_one_drain() {
        let w = Wakeup::new().unwrap();
        w.signal();
        w.signal();
        assert!(w.drain());
        assert!(!w.drain());
    }

    #[test]
    fn a_signal_from_another_thread_ends_a_poll() {
        let w = std::sync::Arc::new(Wakeup::new().unwrap());
        let signaller = {
            let w = w.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                w.signal();
            })
        };
        let interest = Interest {
            socket: None,
            wakeup: Some(w.fd()),
            want_write: false,
        };
        let ready = wait(interest, Some(Duration::from_secs(10))).unwrap();
        assert!(ready.woken);
        signaller.join().unwrap();
    }
}
