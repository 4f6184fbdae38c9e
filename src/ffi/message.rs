#![allow(unused_variables)]
use super::boundary::guard;
use super::types::*;
use crate::error::Error;
use std::os::raw::c_int;

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_message_copy(
    dst: *mut mosquitto_message,
    src: *const mosquitto_message,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_message_free(message: *mut *mut mosquitto_message) {
    guard(|| ())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_message_free_contents(message: *mut mosquitto_message) {
    guard(|| ())
}
