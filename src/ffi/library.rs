//! Library set-up and version reporting.

use std::os::raw::c_int;

use super::boundary::guard;
use super::constants::{
    LIBMOSQUITTO_MAJOR, LIBMOSQUITTO_MINOR, LIBMOSQUITTO_REVISION, LIBMOSQUITTO_VERSION_NUMBER,
};
use crate::error::SUCCESS;

/// Reports the version of libmosquitto this library stands in for.
///
/// Each of `major`, `minor` and `revision` may be NULL; the others are written.
/// Returns the version as one number, `major * 1000000 + minor * 1000 + revision`
/// (the value of `LIBMOSQUITTO_VERSION_NUMBER`).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_lib_version(
    major: *mut c_int,
    minor: *mut c_int,
    revision: *mut c_int,
) -> c_int {
    guard(|| {
        for (out, value) in [
            (major, LIBMOSQUITTO_MAJOR),
            (minor, LIBMOSQUITTO_MINOR),
            (revision, LIBMOSQUITTO_REVISION),
        ] {
            if !out.is_null() {
                // SAFETY: the caller passes NULL or a pointer to a writable int.
                unsafe { *out = value };
            }
        }
        LIBMOSQUITTO_VERSION_NUMBER
    })
}

/// Prepares the library for use. Call it once before any other function, from
/// one thread. Nothing global needs setting up in this implementation (rustls
/// needs no global initialisation), so it always returns `MOSQ_ERR_SUCCESS`; it
/// may be called more than once.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_lib_init() -> c_int {
    guard(|| SUCCESS)
}

/// Releases what `mosquitto_lib_init` set up. Always returns `MOSQ_ERR_SUCCESS`.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_lib_cleanup() -> c_int {
    guard(|| SUCCESS)
}
