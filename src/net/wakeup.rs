//! A handle one thread signals to wake another that waits in `poll`: used when
//! `mosquitto_publish` from the user's thread queues a packet while the
//! `loop_start` thread sleeps, and to tell that thread to stop.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::poll::{wait, Interest};
    use std::time::Duration;

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
