//! MQTT's UTF-8 check, for C callers.

use std::os::raw::{c_char, c_int};

use super::boundary::{code_of, guard};
use crate::error::Error;
use crate::protocol::utf8;

/// The longest `len` accepted: libmosquitto allows one byte more than an MQTT
/// string can carry, and so do we.
const MAX_LEN: c_int = 65536;

/// Checks that the `len` bytes at `str` are valid MQTT UTF-8: well-formed, with
/// no NUL, no control characters (U+0001..U+001F, U+007F..U+009F), no
/// non-characters and no surrogates. `str` need not be NUL-terminated.
///
/// Returns `MOSQ_ERR_SUCCESS`, `MOSQ_ERR_MALFORMED_UTF8`, or `MOSQ_ERR_INVAL` when
/// `str` is NULL or `len` is negative or above 65536.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_validate_utf8(str: *const c_char, len: c_int) -> c_int {
    guard(|| {
        if str.is_null() || !(0..=MAX_LEN).contains(&len) {
            return Error::Inval.code();
        }
        // SAFETY: the caller promises `len` readable bytes at `str`.
        let bytes = unsafe { std::slice::from_raw_parts(str.cast::<u8>(), len as usize) };
        code_of(utf8::check(bytes))
    })
}
