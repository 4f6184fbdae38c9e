//! Keeping Rust panics in and letting C unwinds through.
//!
//! A callback may end its thread with `pthread_exit`, be cancelled, or (from
//! C++) throw: that unwind must pass through our frames to the C frames that
//! expect it, and glibc aborts the process if anything catches it on the way.
//! So no panic catch may stand between a callback and its thread's root. The
//! library's own work between callbacks runs in `contain` instead: a panic there
//! becomes `Error::Unknown`, and cancellation is held off (see `net::cancel`).
//! `Client::dispatch`, which calls the program, must never run inside it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::dispatch::Work;
use super::thread_context::{ThreadContext, THREAD};
use crate::error::{Error, Result};
use crate::net::cancel::CancelHeld;

/// Runs the library's own `work`; a panic inside becomes `Error::Unknown`.
///
/// `AssertUnwindSafe`: a panic leaves the client lock released (guards drop on
/// unwinding), and a client whose state was locked then is marked failed
/// (`state_guard`).
pub fn contain<T>(work: impl FnOnce() -> T) -> Result<T> {
    contain_saying_outermost(work).0
}

/// `contain`, also saying whether it was the outermost: then nothing catches
/// around its caller, which may call back once it returned.
pub fn contain_saying_outermost<T>(work: impl FnOnce() -> T) -> (Result<T>, bool) {
    // One thread-local access for the way in and out (each costs a call).
    THREAD.with(|c| {
        let outer = c.contain_depth.replace(c.contain_depth.get() + 1);
        if outer > 0 {
            // The outer catch catches, and cancellation is held already.
            let value = work();
            c.contain_depth.set(outer);
            return (Ok(value), false);
        }
        let held = CancelHeld::new();
        let outcome = catch_unwind(AssertUnwindSafe(work));
        c.contain_depth.set(0);
        drop(held);
        (outcome.map_err(|_| Error::Unknown), true)
    })
}

/// `contain` for `work` that meets no cancellation point (no `send`, `poll`,
/// `write` or other call that may act on a pending cancel): it needs no
/// cancellation held off, which costs two calls. For a thread `context` says is
/// idle (see `ThreadContext::is_idle`), which the caller has at hand.
pub(super) fn contain_without_cancellation_points<T>(
    context: &ThreadContext,
    work: impl FnOnce() -> T,
) -> Result<T> {
    debug_assert!(context.is_idle());
    context.contain_depth.set(1);
    let outcome = catch_unwind(AssertUnwindSafe(work));
    context.contain_depth.set(0);
    outcome.map_err(|_| Error::Unknown)
}

/// `contain` for work that returns a `Result` itself.
pub fn contain_result<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    contain(work).and_then(|result| result)
}

/// Whether this thread runs inside `contain` (where no callback may be called).
pub fn contained() -> bool {
    THREAD.with(|c| c.contain_depth.get() > 0)
}

/// Where callbacks raised inside `contain` go: kept for the export that
/// collects them (`None`), or handed back when none does (a bug: a callback
/// would run inside a panic catch).
pub fn keep_if_contained(work: Work) -> Option<Work> {
    THREAD.with(|c| {
        if c.contain_depth.get() == 0 {
            return Some(work);
        }
        if c.collecting.get() > 0 {
            c.raised.borrow_mut().push(work);
            return None;
        }
        debug_assert!(false, "callbacks raised inside contain, outside an export");
        Some(work)
    })
}

/// Runs `body` (an export's guarded body) collecting the callbacks it raises;
/// `after` gets each of them, once the body has returned.
pub fn collecting<T>(body: impl FnOnce() -> T, mut after: impl FnMut(Work)) -> T {
    let start = THREAD.with(|c| {
        c.collecting.set(c.collecting.get() + 1);
        c.raised.borrow().len()
    });
    let value = body();
    let mut next = THREAD.with(|c| {
        c.collecting.set(c.collecting.get() - 1);
        take_raised(c, start)
    });
    while let Some(work) = next {
        after(work);
        next = THREAD.with(|c| take_raised(c, start));
    }
    value
}

fn take_raised(context: &ThreadContext, start: usize) -> Option<Work> {
    let mut raised = context.raised.borrow_mut();
    (raised.len() > start).then(|| raised.remove(start))
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
    fn callbacks_raised_inside_an_exports_catch_are_handed_over_after_it() {
        let mut handed = Vec::new();
        let kept = collecting(
            || {
                contain(|| {
                    let mut work = Work::new(true);
                    work.log(1, || "raised".into());
                    keep_if_contained(work).is_none()
                })
            },
            |work| handed.push(work.notices.len()),
        );
        assert_eq!(kept, Ok(true));
        assert_eq!(handed, vec![1]);
        // Outside any catch, work is handed straight back to be dispatched.
        assert!(keep_if_contained(Work::new(true)).is_some());
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
