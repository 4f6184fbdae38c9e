#![allow(unused_variables)]
use super::boundary::guard;
use crate::error::Error;
use std::os::raw::{c_char, c_int};

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_strerror(mosq_errno: c_int) -> *const c_char {
    guard(|| std::ptr::null())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_connack_string(connack_code: c_int) -> *const c_char {
    guard(|| std::ptr::null())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_reason_string(reason_code: c_int) -> *const c_char {
    guard(|| std::ptr::null())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_string_to_command(str: *const c_char, cmd: *mut c_int) -> c_int {
    guard(|| Error::NotSupported.code())
}
