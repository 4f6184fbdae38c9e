//! The client's main lock, and what a panic under it means.
//!
//! The lock does not poison, so a panic caught while it was held (see
//! `contain`) could leave the state half-changed: a message queued but not
//! counted, a socket closed but still named. Such a client is marked failed
//! instead; every later request, connect and loop call on it returns
//! `Error::Unknown`, and only `mosquitto_destroy` is still meaningful.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::MutexGuard;

use super::ClientState;

/// The locked state; marks the client failed when a panic unwinds past it.
pub struct StateGuard<'a> {
    pub(super) inner: MutexGuard<'a, ClientState>,
    pub(super) failed: &'a AtomicBool,
}

impl Deref for StateGuard<'_> {
    type Target = ClientState;
    fn deref(&self) -> &ClientState {
        &self.inner
    }
}

impl DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut ClientState {
        &mut self.inner
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.failed.store(true, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::contain::contain;
    use super::super::{Client, Target};
    use crate::error::Error;

    #[test]
    fn a_panic_under_the_lock_fails_every_later_request_and_loop_call() {
        let client = std::sync::Arc::new(Client::new(Some(b"id"), true, 0).unwrap());
        assert_eq!(client.usable(), Ok(()));
        assert_eq!(contain(|| client.panic_while_locked()), Err(Error::Unknown));
        assert_eq!(client.usable(), Err(Error::Unknown));
        let target = Target::new("127.0.0.1".into(), 1, 60, None).unwrap();
        assert_eq!(client.connect(target, true), Err(Error::Unknown));
        let publish = client.publish("t", b"x", 0, false, Vec::new());
        assert_eq!(publish, Err(Error::Unknown));
        assert_eq!(client.run_loop(10, 1), Err(Error::Unknown));
        assert_eq!(client.loop_forever(10, 1), Err(Error::Unknown));
        assert_eq!(client.loop_read(), Err(Error::Unknown));
        assert_eq!(client.loop_start(), Err(Error::Unknown));
        // The lock itself was released by the unwind.
        drop(client.lock());
    }

    #[test]
    fn a_panic_outside_the_lock_leaves_the_client_usable() {
        let client = Client::new(Some(b"id"), true, 0).unwrap();
        assert_eq!(
            contain(|| panic!("not under the lock")),
            Err::<(), _>(Error::Unknown)
        );
        assert_eq!(client.usable(), Ok(()));
    }
}
