//! The panic boundary every export goes through.
//!
//! A Rust panic must never unwind into C. `guard` runs an export's body and, if it
//! panics, returns the value that C callers already treat as a failure for that
//! return type: `MOSQ_ERR_UNKNOWN` for `int`, NULL for pointers, `false` for `bool`.

use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::Error;

/// The value an export returns when its body panicked.
pub trait OnPanic {
    fn on_panic() -> Self;
}

impl OnPanic for c_int {
    fn on_panic() -> Self {
        Error::Unknown.code()
    }
}

impl OnPanic for () {
    fn on_panic() -> Self {}
}

impl OnPanic for bool {
    fn on_panic() -> Self {
        false
    }
}

impl<T> OnPanic for *const T {
    fn on_panic() -> Self {
        std::ptr::null()
    }
}

impl<T> OnPanic for *mut T {
    fn on_panic() -> Self {
        std::ptr::null_mut()
    }
}

/// Runs `body`, turning a panic into `T::on_panic()`.
///
/// `AssertUnwindSafe` is sound here because a panicking body leaves nothing half-done
/// that C can see: shared client state sits behind locks that are poison-free
/// (parking_lot) and is only changed through whole assignments.
pub fn guard<T: OnPanic>(body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| T::on_panic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_failure_value_of_each_return_type() {
        assert_eq!(guard::<c_int>(|| panic!("boom")), Error::Unknown.code());
        assert!(guard::<*const u8>(|| panic!("boom")).is_null());
        assert!(guard::<*mut u8>(|| panic!("boom")).is_null());
        assert!(!guard::<bool>(|| panic!("boom")));
        guard::<()>(|| panic!("boom"));
    }

    #[test]
    fn a_body_that_returns_is_passed_through() {
        assert_eq!(guard(|| 7 as c_int), 7);
    }
}
