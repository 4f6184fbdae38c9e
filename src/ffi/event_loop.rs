#![allow(unused_variables)]
use super::boundary::guard;
use super::types::*;
use crate::error::Error;
use std::os::raw::c_int;

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_loop_forever(
    mosq: *mut mosquitto,
    timeout: c_int,
    max_packets: c_int,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_loop_start(mosq: *mut mosquitto) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_loop_stop(mosq: *mut mosquitto, force: bool) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_loop(
    mosq: *mut mosquitto,
    timeout: c_int,
    max_packets: c_int,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_loop_read(mosq: *mut mosquitto, max_packets: c_int) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_loop_write(mosq: *mut mosquitto, max_packets: c_int) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_loop_misc(mosq: *mut mosquitto) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_socket(mosq: *mut mosquitto) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_want_write(mosq: *mut mosquitto) -> bool {
    guard(|| false)
}
