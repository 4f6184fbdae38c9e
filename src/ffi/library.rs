#![allow(unused_variables)]
use super::boundary::guard;
use crate::error::Error;
use std::os::raw::c_int;

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_lib_version(
    major: *mut c_int,
    minor: *mut c_int,
    revision: *mut c_int,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_lib_init() -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_lib_cleanup() -> c_int {
    guard(|| Error::NotSupported.code())
}
