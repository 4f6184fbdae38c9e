//! Creating, resetting and releasing the client handle, and its user data.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::sync::Arc;

use super::boundary::guard;
use super::boundary::set_errno;
use super::types::*;
use crate::client::Client;
use crate::error::{Error, SUCCESS};

/// The client behind a handle, or `None` for NULL.
///
/// # Safety
/// `mosq` is NULL or a handle from `mosquitto_new` that has not been destroyed.
pub(crate) unsafe fn client_of<'a>(mosq: *mut mosquitto) -> Option<&'a Arc<Client>> {
    // SAFETY: by the caller's contract, a non-NULL `mosq` points to a live handle.
    unsafe { mosq.as_ref() }.map(|handle| &handle.client)
}

/// Runs `body` on the handle's client and returns its result as a `MOSQ_ERR_*`
/// code, or `MOSQ_ERR_INVAL` for a NULL handle.
///
/// # Safety
/// `mosq` is NULL or a live handle.
pub(crate) unsafe fn with_client(
    mosq: *mut mosquitto,
    body: impl FnOnce(&Client) -> crate::error::Result<()>,
) -> c_int {
    // SAFETY: forwarded from the caller.
    match unsafe { client_of(mosq) } {
        Some(client) => super::boundary::code_of(body(client)),
        None => Error::Inval.code(),
    }
}

/// `with_client` for the loop calls, whose callbacks may free the handle
/// (`mosquitto_destroy` from inside a callback): the call holds a reference
/// of its own, so the client outlives the handle until the call returns.
///
/// # Safety
/// `mosq` is NULL or a live handle.
pub(crate) unsafe fn with_client_kept(
    mosq: *mut mosquitto,
    body: impl FnOnce(&Client) -> crate::error::Result<()>,
) -> c_int {
    // SAFETY: forwarded from the caller.
    match unsafe { client_of(mosq) }.map(Arc::clone) {
        Some(client) => super::boundary::code_of(body(&client)),
        None => Error::Inval.code(),
    }
}

/// The bytes of a C string (without its NUL), or `None` for NULL.
///
/// # Safety
/// `s` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn c_bytes<'a>(s: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: by the caller's contract, a non-NULL `s` is NUL-terminated.
    (!s.is_null()).then(|| unsafe { CStr::from_ptr(s) }.to_bytes())
}

/// The user data a callback receives: `obj`, or the handle itself when `obj` is
/// NULL (libmosquitto's rule, which some programs rely on).
fn userdata_for(mosq: *mut mosquitto, obj: *mut c_void) -> usize {
    if obj.is_null() {
        mosq as usize
    } else {
        obj as usize
    }
}

/// Creates a client.
///
/// `id` is copied; it may be NULL when `clean_session` is true, and the broker
/// then assigns an id (an MQTT 3.1 connect needs an id and fails without one).
/// `obj` is handed to every callback; when NULL, callbacks receive the handle
/// instead. Returns NULL and sets `errno` to `EINVAL` when `id` is NULL with
/// `clean_session` false, or when `id` is empty, longer than 65535 bytes or not
/// valid UTF-8. Release the client with `mosquitto_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_new(
    id: *const c_char,
    clean_session: bool,
    obj: *mut c_void,
) -> *mut mosquitto {
    guard(|| {
        // SAFETY: `id` is NULL or a C string, per the API contract.
        let id = unsafe { c_bytes(id) };
        match Client::new(id, clean_session, obj as usize) {
            Ok(client) => {
                let handle = Box::into_raw(Box::new(mosquitto {
                    client: Arc::new(client),
                }));
                // SAFETY: `handle` was just made from a Box and is not shared yet.
                unsafe { &(*handle).client }.set_userdata(userdata_for(handle, obj));
                handle
            }
            Err(e) => {
                set_errno(if e == Error::NoMem {
                    libc::ENOMEM
                } else {
                    libc::EINVAL
                });
                std::ptr::null_mut()
            }
        }
    })
}

/// Releases a client and everything it owns, first stopping its
/// `mosquitto_loop_start` thread if one runs (the connection is closed without
/// a DISCONNECT). NULL is ignored. The handle must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_destroy(mosq: *mut mosquitto) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        if let Some(client) = unsafe { client_of(mosq) } {
            // No callback may run with this handle once it is freed.
            client.retire();
        }
        if !mosq.is_null() {
            // SAFETY: a non-NULL `mosq` came from `Box::into_raw` in `mosquitto_new`
            // and, per the API contract, is destroyed once.
            let handle = unsafe { Box::from_raw(mosq) };
            crate::client::dispatch::drop_after_callbacks(handle);
        }
    })
}

/// Returns a client to the state `mosquitto_new` gives it, keeping the handle.
/// First, as `mosquitto_destroy` does, a `mosquitto_loop_start` thread is
/// stopped (called from a callback on that thread, the thread ends once the
/// callback returns) and an open connection is closed, without a DISCONNECT and
/// without calling `on_disconnect`; then settings, will, credentials, callbacks
/// and queued messages are reset. The arguments mean what
/// they mean for `mosquitto_new`. Returns `MOSQ_ERR_INVAL` for a NULL handle or
/// an id that `mosquitto_new` would refuse (`MOSQ_ERR_MALFORMED_UTF8` for bad
/// UTF-8); the client is then unchanged.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_reinitialise(
    mosq: *mut mosquitto,
    id: *const c_char,
    clean_session: bool,
    obj: *mut c_void,
) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle; `id` is NULL or a C string.
        let (Some(client), id) = (unsafe { client_of(mosq) }, unsafe { c_bytes(id) }) else {
            return Error::Inval.code();
        };
        match client.reinitialise(id, clean_session, userdata_for(mosq, obj)) {
            Ok(()) => SUCCESS,
            Err(e) => e.code(),
        }
    })
}

/// Sets the pointer passed to callbacks as `obj` (NULL is passed as NULL).
/// A NULL handle is ignored.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_user_data_set(mosq: *mut mosquitto, obj: *mut c_void) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        if let Some(client) = unsafe { client_of(mosq) } {
            client.set_userdata(obj as usize);
        }
    })
}

/// The pointer callbacks receive as `obj`; NULL for a NULL handle.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_userdata(mosq: *mut mosquitto) -> *mut c_void {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { client_of(mosq) }.map_or(std::ptr::null_mut(), |c| c.userdata() as *mut c_void)
    })
}

/// Tells the client that the program drives it from threads of its own (rather
/// than with `mosquitto_loop_start`). Returns `MOSQ_ERR_INVAL` for a NULL handle.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_threaded_set(mosq: *mut mosquitto, threaded: bool) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let Some(client) = (unsafe { client_of(mosq) }) else {
            return Error::Inval.code();
        };
        client.with_options(|o| o.threaded = threaded);
        SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    #[test]
    fn a_new_client_without_obj_hands_callbacks_its_own_handle() {
        unsafe {
            let mosq = mosquitto_new(c"id".as_ptr(), true, std::ptr::null_mut());
            assert!(!mosq.is_null());
            assert_eq!(mosquitto_userdata(mosq), mosq.cast());
            let mut x = 5;
            mosquitto_user_data_set(mosq, (&mut x as *mut i32).cast());
            assert_eq!(mosquitto_userdata(mosq), (&mut x as *mut i32).cast());
            mosquitto_destroy(mosq);
        }
    }

    #[test]
    fn a_null_id_needs_a_clean_session() {
        unsafe {
            let mosq = mosquitto_new(std::ptr::null(), true, std::ptr::null_mut());
            assert!(!mosq.is_null());
            assert_eq!((*mosq).client.lock().options.client_id, None);
            mosquitto_destroy(mosq);

            set_errno(0);
            assert!(mosquitto_new(std::ptr::null(), false, std::ptr::null_mut()).is_null());
            assert_eq!(errno(), libc::EINVAL);
        }
    }

    #[test]
    fn an_empty_or_invalid_id_is_refused_with_einval() {
        unsafe {
            set_errno(0);
            assert!(mosquitto_new(c"".as_ptr(), true, std::ptr::null_mut()).is_null());
            assert_eq!(errno(), libc::EINVAL);
            set_errno(0);
            assert!(mosquitto_new(c"\xff".as_ptr(), true, std::ptr::null_mut()).is_null());
            assert_eq!(errno(), libc::EINVAL);
        }
    }

    #[test]
    fn null_handles_are_rejected_or_ignored() {
        unsafe {
            mosquitto_destroy(std::ptr::null_mut());
            mosquitto_user_data_set(std::ptr::null_mut(), std::ptr::null_mut());
            assert!(mosquitto_userdata(std::ptr::null_mut()).is_null());
            assert_eq!(
                mosquitto_threaded_set(std::ptr::null_mut(), true),
                Error::Inval.code()
            );
            let rc = mosquitto_reinitialise(
                std::ptr::null_mut(),
                c"x".as_ptr(),
                true,
                std::ptr::null_mut(),
            );
            assert_eq!(rc, Error::Inval.code());
        }
    }

    #[test]
    fn reinitialise_keeps_the_handle_and_checks_the_id() {
        unsafe {
            let mosq = mosquitto_new(c"id".as_ptr(), true, std::ptr::null_mut());
            assert_eq!(mosquitto_threaded_set(mosq, true), SUCCESS);
            assert_eq!(
                mosquitto_reinitialise(mosq, std::ptr::null(), false, std::ptr::null_mut()),
                Error::Inval.code()
            );
            assert_eq!(
                mosquitto_reinitialise(mosq, c"new".as_ptr(), false, std::ptr::null_mut()),
                SUCCESS
            );
            let state = (*mosq).client.lock();
            assert_eq!(state.options.client_id.as_deref(), Some("new"));
            assert!(!state.options.threaded);
            drop(state);
            assert_eq!(mosquitto_userdata(mosq), mosq.cast());
            mosquitto_destroy(mosq);
        }
    }
}
