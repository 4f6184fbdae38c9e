//! The panic boundary every export goes through.
//!
//! A Rust panic must never unwind into C. `guard` runs an export's body and, if it
//! panics, returns the value that C callers already treat as a failure for that
//! return type: `MOSQ_ERR_UNKNOWN` for `int`, NULL for pointers, `false` for `bool`.
//! And an unwind from C (a callback's `pthread_exit`) must pass through: the
//! program's callbacks never run inside `guard`'s catch.

use std::os::raw::c_int;

use std::sync::Arc;

use crate::client::contain::{contain, contain_saying_outermost};
use crate::client::dispatch::Work;
use crate::client::Client;
use crate::error::{Error, Result, SUCCESS};

/// The `MOSQ_ERR_*` a C function returns for `result`. An OS failure also leaves
/// its errno in the thread's `errno`, where libmosquitto's callers read it
/// (directly or through `mosquitto_strerror`) right after the call returns.
pub(crate) fn code_of(result: Result<()>) -> c_int {
    match result {
        Ok(()) => SUCCESS,
        Err(e) => {
            if let Some(errno) = e.errno() {
                set_errno(errno);
            }
            e.code()
        }
    }
}

/// Sets the C `errno` of the calling thread.
pub(crate) fn set_errno(code: c_int) {
    // SAFETY: `__errno_location` returns a valid pointer to this thread's errno.
    unsafe { *libc::__errno_location() = code };
}

/// The value an export returns when its body panicked.
pub trait OnPanic {
    fn on_panic() -> Self;
}

impl OnPanic for c_int {
    fn on_panic() -> Self {
        Error::Unknown.code()
    }
}

/// The property accessors' "no value" (libmosquitto 2.1's `*_value` calls).
macro_rules! zero_on_panic {
    ($($ty:ty),*) => {
        $(impl OnPanic for $ty {
            fn on_panic() -> Self {
                0
            }
        })*
    };
}

zero_on_panic!(u8, u16, u32);

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

/// Runs `body`, turning a panic into `T::on_panic()` (with thread cancellation
/// held off meanwhile: see `client::contain`). Callbacks the body raises are
/// not called from inside it: see `guard_with_callbacks`.
pub fn guard<T: OnPanic>(body: impl FnOnce() -> T) -> T {
    contain(body).unwrap_or_else(|_| T::on_panic())
}

/// `guard` for an export on `client` whose body may raise callbacks (a QoS 0
/// `on_publish`, `on_disconnect`, log lines): they run after the body, outside
/// the panic catch, and then the result becomes the code (and errno) returned.
pub fn guard_with_callbacks(
    client: Option<&Arc<Client>>,
    body: impl FnOnce() -> Result<()>,
) -> c_int {
    let guarded = || contain(body).unwrap_or(Err(Error::Unknown));
    let result = match client {
        Some(client) => client.dispatch_after(guarded),
        None => guarded(),
    };
    code_of(result)
}

/// `guard_with_callbacks` for an export whose body hands back the callbacks it
/// raised (a publish): they run after the catch, as there, without passing
/// through the thread's list of collected callbacks.
pub fn guard_then_dispatch(
    client: Option<&Arc<Client>>,
    body: impl FnOnce() -> (Result<()>, Option<Work>),
) -> c_int {
    let (outcome, outermost) = contain_saying_outermost(body);
    let (result, work) = outcome.unwrap_or((Err(Error::Unknown), None));
    if let (Some(client), Some(work)) = (client, work) {
        if outermost {
            client.dispatch_uncontained(work);
        } else {
            client.dispatch(work);
        }
    }
    code_of(result)
}

/// Runs the body of an export that may call the program's callbacks.
///
/// Nothing here catches: a callback's `pthread_exit`, cancel or C++ exception
/// must unwind through us to the C frames that expect it, and glibc aborts the
/// process if a forced unwind is caught (see `client::contain`, which keeps
/// Rust panics inside the library's own work instead). Should a Rust panic
/// still reach this frame, the process aborts here rather than unwind into C.
pub fn guard_unwinding<T>(body: impl FnOnce() -> T) -> T {
    let abort_on_panic = AbortOnPanic;
    let value = body();
    std::mem::forget(abort_on_panic);
    value
}

/// Aborts when dropped by a Rust panic; a foreign unwind passes by.
struct AbortOnPanic;

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("skeeter: a panic reached the C boundary; aborting");
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno() -> c_int {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    #[test]
    fn an_os_failure_leaves_its_errno_for_the_caller_and_other_codes_leave_errno_alone() {
        set_errno(0);
        assert_eq!(code_of(Err(Error::Errno(libc::ECONNREFUSED))), 14);
        assert_eq!(errno(), libc::ECONNREFUSED);
        assert_eq!(code_of(Err(Error::Inval)), 3);
        assert_eq!(code_of(Ok(())), SUCCESS);
        assert_eq!(errno(), libc::ECONNREFUSED);
    }

    #[test]
    fn a_panic_becomes_the_failure_value_of_each_return_type() {
        assert_eq!(guard::<c_int>(|| panic!("boom")), Error::Unknown.code());
        assert!(guard::<*const u8>(|| panic!("boom")).is_null());
        assert!(guard::<*mut u8>(|| panic!("boom")).is_null());
        assert!(!guard::<bool>(|| panic!("boom")));
        assert_eq!(guard::<u8>(|| panic!("boom")), 0);
        assert_eq!(guard::<u16>(|| panic!("boom")), 0);
        assert_eq!(guard::<u32>(|| panic!("boom")), 0);
        guard::<()>(|| panic!("boom"));
    }

    #[test]
    fn a_client_that_panicked_under_its_lock_answers_unknown_until_destroyed() {
        use crate::ffi::actions::mosquitto_publish;
        use crate::ffi::client::{client_of, mosquitto_destroy, mosquitto_new};
        use crate::ffi::event_loop::mosquitto_loop;
        use std::ptr::{null, null_mut};

        // SAFETY: a valid id; the handle is destroyed below.
        let mosq = unsafe { mosquitto_new(c"id".as_ptr(), true, null_mut()) };
        // SAFETY: `mosq` is live.
        let client = unsafe { client_of(mosq) }.unwrap();
        assert_eq!(contain(|| client.panic_while_locked()), Err(Error::Unknown));
        let unknown = Error::Unknown.code();
        // SAFETY: `mosq` is live and the topic a C string.
        let published =
            unsafe { mosquitto_publish(mosq, null_mut(), c"t".as_ptr(), 0, null(), 0, false) };
        assert_eq!(published, unknown);
        // SAFETY: `mosq` is live.
        assert_eq!(unsafe { mosquitto_loop(mosq, 0, 1) }, unknown);
        // SAFETY: `mosq` is live and not used again.
        unsafe { mosquitto_destroy(mosq) };
    }

    #[test]
    fn a_body_that_returns_is_passed_through() {
        assert_eq!(guard(|| 7 as c_int), 7);
        assert_eq!(guard_unwinding(|| 7 as c_int), 7);
    }
}
