//! Keeping Rust panics in and letting C unwinds through.
//!
//! A callback may end its thread with `pthread_exit`, be cancelled, or (from
//! C++) throw: that unwind must pass through our frames to the C frames that
//! expect it, and glibc aborts the process if anything catches it on the way.
//! So no panic catch may stand between a callback and its thread's root. The
//! library's own work between callbacks runs in `contain` instead: a panic there
//! becomes `Error::Unknown`, and cancellation is held off (see `net::cancel`).
//! `Client::dispatch`, which calls the program, must never run inside it.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, Result};
use crate::net::cancel::CancelHeld;

thread_local! {
    /// How deep this thread is in `contain`.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Runs the library's own `work`; a panic inside becomes `Error::Unknown`.
///
/// `AssertUnwindSafe`: a panic leaves the client lock released (guards drop on
/// unwinding) and the call that panicked reports `MOSQ_ERR_UNKNOWN`.
pub fn contain<T>(work: impl FnOnce() -> T) -> Result<T> {
    let _held = CancelHeld::new();
    DEPTH.set(DEPTH.get() + 1);
    let outcome = catch_unwind(AssertUnwindSafe(work));
    DEPTH.set(DEPTH.get() - 1);
    outcome.map_err(|_| Error::Unknown)
}

/// `contain` for work that returns a `Result` itself.
pub fn contain_result<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    contain(work).and_then(|result| result)
}

/// Whether this thread runs inside `contain` (where no callback may be called).
pub fn contained() -> bool {
    DEPTH.get() > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_becomes_unknown_and_the_depth_is_restored() {
        assert!(!contained());
        assert_eq!(contain(|| -> u8 { panic!("boom") }), Err(Error::Unknown));
        assert!(!contained());
    }

    #[test]
    fn work_that_returns_is_passed_through() {
        assert_eq!(contain(contained), Ok(true));
        assert_eq!(
            contain_result(|| Err::<u8, _>(Error::NoConn)),
            Err(Error::NoConn)
        );
        assert_eq!(contain_result(|| Ok(3)), Ok(3));
    }
}
