//! Holding off thread cancellation while the library works.
//!
//! A program may cancel a thread that runs our loop (`pthread_cancel`), and
//! glibc then unwinds it from the next cancellation point it reaches: a `poll`,
//! `send` or `recv` of ours as much as a `sleep` in a callback. Our own work
//! runs behind a panic catch (`client::contain`) that must not meet such an
//! unwind, and under the client lock, so it runs with cancellation disabled; a
//! cancel that arrives meanwhile acts at the next cancellation point outside
//! it: the loop's wait, or the program's own code.
//!
//! Holding it off costs two calls, so work that meets no cancellation point
//! at all skips it: a QoS 0 publish written at once from the program's thread
//! (`Client::publish_qos0_from_program`): what it asks of the kernel is the
//! lock's futex, the clock, memory and the socket's send, and none of these is
//! a cancellation point once the send is made as a plain system call (see
//! `socket::send_uncancellable`).

use std::os::raw::c_int;

// glibc's values (<pthread.h>); the libc crate does not declare these.
const PTHREAD_CANCEL_DISABLE: c_int = 1;

extern "C" {
    fn pthread_setcancelstate(state: c_int, oldstate: *mut c_int) -> c_int;
}

/// Cancellation disabled on this thread until dropped, then as it was.
pub struct CancelHeld {
    before: c_int,
}

impl CancelHeld {
    pub fn new() -> CancelHeld {
        let mut before = PTHREAD_CANCEL_DISABLE;
        // SAFETY: sets this thread's own cancel state; `before` is a valid out-pointer.
        unsafe { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &mut before) };
        CancelHeld { before }
    }
}

impl Default for CancelHeld {
    fn default() -> Self {
        CancelHeld::new()
    }
}

impl Drop for CancelHeld {
    fn drop(&mut self) {
        // SAFETY: restores the state `new` saw; the old-state pointer may be NULL.
        unsafe { pthread_setcancelstate(self.before, std::ptr::null_mut()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" {
        fn pthread_setcancelstate(state: c_int, oldstate: *mut c_int) -> c_int;
    }

    fn current_state() -> c_int {
        let mut state = 0;
        // SAFETY: reads this thread's state by setting it to itself.
        unsafe {
            pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &mut state);
            pthread_setcancelstate(state, std::ptr::null_mut());
        }
        state
    }

    #[test]
    fn cancellation_is_disabled_while_held_and_restored_after() {
        let before = current_state();
        {
            let _held = CancelHeld::new();
            assert_eq!(current_state(), PTHREAD_CANCEL_DISABLE);
            {
                let _nested = CancelHeld::new();
            }
            assert_eq!(current_state(), PTHREAD_CANCEL_DISABLE);
        }
        assert_eq!(current_state(), before);
    }
}
