//! A plain POSIX thread, for `loop_start`.
//!
//! Its start routine is the thread's root and catches nothing, so a callback
//! that calls `pthread_exit`, or a cancelled callback, ends the thread the way it
//! ends one of libmosquitto's. A `std::thread` cannot do this: its root catches
//! every unwind, and glibc aborts the process when a forced unwind is caught.

use std::ffi::CStr;
use std::io;
use std::os::raw::c_void;

type Body = Box<dyn FnOnce() + Send>;

extern "C" {
    // libc's declaration takes an `extern "C"` routine, which may not unwind.
    #[link_name = "pthread_create"]
    fn pthread_create_unwinding(
        thread: *mut libc::pthread_t,
        attr: *const libc::pthread_attr_t,
        routine: extern "C-unwind" fn(*mut c_void) -> *mut c_void,
        arg: *mut c_void,
    ) -> libc::c_int;
}

/// A running (or ended, not yet joined) thread.
#[derive(Debug)]
pub struct OsThread {
    handle: libc::pthread_t,
}

impl OsThread {
    /// Starts a thread named `name` (at most 15 bytes) running `body`.
    pub fn spawn(name: &CStr, body: impl FnOnce() + Send + 'static) -> io::Result<OsThread> {
        let arg = Box::into_raw(Box::new(Box::new(body) as Body));
        let mut handle: libc::pthread_t = 0;
        // SAFETY: `start` takes ownership of `arg` exactly once; default attributes.
        let rc =
            unsafe { pthread_create_unwinding(&mut handle, std::ptr::null(), start, arg.cast()) };
        if rc != 0 {
            // SAFETY: the thread was not made, so `arg` is still ours.
            drop(unsafe { Box::from_raw(arg) });
            return Err(io::Error::from_raw_os_error(rc));
        }
        // SAFETY: `handle` is a live thread and `name` a NUL-terminated string.
        unsafe { libc::pthread_setname_np(handle, name.as_ptr()) };
        Ok(OsThread { handle })
    }

    /// Whether the calling thread is this one.
    pub fn is_current(&self) -> bool {
        // SAFETY: compares two thread ids; no memory is touched.
        unsafe { libc::pthread_equal(self.handle, libc::pthread_self()) != 0 }
    }

    /// Waits for the thread to end (at once if it has).
    pub fn join(self) {
        let handle = self.handle;
        std::mem::forget(self);
        // SAFETY: `handle` is joinable and joined only here (`self` is consumed).
        unsafe { libc::pthread_join(handle, std::ptr::null_mut()) };
    }
}

impl Drop for OsThread {
    /// Never joined: let the system reclaim it when it ends.
    fn drop(&mut self) {
        // SAFETY: `handle` is joinable and neither joined nor detached before.
        unsafe { libc::pthread_detach(self.handle) };
    }
}

/// The thread's root. An unwind from `pthread_exit` or a cancel passes through
/// to glibc, which ends the thread.
extern "C-unwind" fn start(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` is the box `spawn` leaked for this thread, taken once.
    let body = unsafe { Box::from_raw(arg.cast::<Body>()) };
    body();
    std::ptr::null_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_spawned_thread_runs_its_body_and_is_joined() {
        let ran = Arc::new(AtomicBool::new(false));
        let seen = ran.clone();
        let thread =
            OsThread::spawn(c"skeeter-test", move || seen.store(true, Ordering::SeqCst)).unwrap();
        assert!(!thread.is_current());
        thread.join();
        assert!(ran.load(Ordering::SeqCst));
    }
}
