//! Copying and freeing `struct mosquitto_message`.
//!
//! Every pointer in a message the library hands out (and the message itself, for
//! `mosquitto_message_free`) is allocated with `malloc`, so C code may also
//! release them with `free()`.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};

use super::boundary::guard;
use super::types::*;
use crate::error::{Error, SUCCESS};

/// Copies `src` into `dst`: the topic and the payload are duplicated, and the
/// payload copy gets a NUL after its last byte so text can be read as a C string.
/// An empty payload is copied as NULL.
///
/// `dst` and `src` must not be NULL, and `src->topic` must be a C string. `dst`'s
/// old contents are overwritten, not freed. On success the caller owns the copies
/// and releases them with `mosquitto_message_free_contents`. Returns
/// `MOSQ_ERR_SUCCESS`, `MOSQ_ERR_INVAL` for bad arguments, or `MOSQ_ERR_NOMEM`
/// (then `dst` is untouched).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_message_copy(
    dst: *mut mosquitto_message,
    src: *const mosquitto_message,
) -> c_int {
    guard(|| {
        if dst.is_null() || src.is_null() {
            return Error::Inval.code();
        }
        // SAFETY: `src` is non-NULL and points to a message the caller owns.
        let src = unsafe { &*src };
        let has_payload = src.payloadlen > 0;
        if src.topic.is_null() || src.payloadlen < 0 || (has_payload && src.payload.is_null()) {
            return Error::Inval.code();
        }
        // SAFETY: `src->topic` is a non-NULL C string.
        let topic = unsafe { CStr::from_ptr(src.topic) }.to_bytes();
        let payload: &[u8] = if has_payload {
            // SAFETY: `payload` is non-NULL and holds `payloadlen` bytes.
            unsafe { std::slice::from_raw_parts(src.payload.cast::<u8>(), src.payloadlen as usize) }
        } else {
            &[]
        };
        let Some(topic_copy) = malloc_with_nul(topic) else {
            return Error::NoMem.code();
        };
        let payload_copy = if has_payload {
            match malloc_with_nul(payload) {
                Some(copy) => copy,
                None => {
                    // SAFETY: `topic_copy` came from malloc and nothing else holds it.
                    unsafe { libc::free(topic_copy.cast()) };
                    return Error::NoMem.code();
                }
            }
        } else {
            std::ptr::null_mut()
        };
        // SAFETY: `dst` is non-NULL and points to writable message storage.
        unsafe {
            dst.write(mosquitto_message {
                mid: src.mid,
                topic: topic_copy,
                payload: payload_copy.cast::<c_void>(),
                payloadlen: src.payloadlen,
                qos: src.qos,
                retain: src.retain,
            })
        };
        SUCCESS
    })
}

/// A `malloc`ed copy of `bytes` with a NUL after them; `None` when out of memory.
pub(crate) fn malloc_with_nul(bytes: &[u8]) -> Option<*mut c_char> {
    // SAFETY: malloc with a non-zero size; the result is checked for NULL.
    let copy = unsafe { libc::malloc(bytes.len() + 1) }.cast::<u8>();
    if copy.is_null() {
        return None;
    }
    // SAFETY: `copy` has room for `bytes.len() + 1` bytes and does not overlap `bytes`.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), copy, bytes.len());
        *copy.add(bytes.len()) = 0;
    }
    Some(copy.cast())
}

/// Frees a message made by this library (as `mosquitto_subscribe_simple` returns
/// them, or any message whose struct, topic and payload were `malloc`ed), then
/// sets `*message` to NULL. NULL and a NULL `*message` are ignored.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_message_free(message: *mut *mut mosquitto_message) {
    guard(|| {
        if message.is_null() {
            return;
        }
        // SAFETY: `message` is non-NULL and points to the caller's pointer.
        let inner = unsafe { *message };
        if inner.is_null() {
            return;
        }
        // SAFETY: `inner` is a malloc'ed message owned by the caller, given up here.
        unsafe {
            mosquitto_message_free_contents(inner);
            libc::free(inner.cast());
            *message = std::ptr::null_mut();
        }
    })
}

/// Frees the topic and payload of `message` (as filled by `mosquitto_message_copy`)
/// but not the struct itself, and sets both pointers to NULL. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_message_free_contents(message: *mut mosquitto_message) {
    guard(|| {
        if message.is_null() {
            return;
        }
        // SAFETY: `message` is non-NULL; its topic and payload are NULL or malloc'ed.
        unsafe {
            let message = &mut *message;
            libc::free(message.topic.cast());
            libc::free(message.payload);
            message.topic = std::ptr::null_mut();
            message.payload = std::ptr::null_mut();
        }
    })
}
