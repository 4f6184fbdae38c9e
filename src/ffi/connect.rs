#![allow(unused_variables)]
use super::boundary::guard;
use super::types::*;
use crate::error::Error;
use std::os::raw::{c_char, c_int};

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_connect(
    mosq: *mut mosquitto,
    host: *const c_char,
    port: c_int,
    keepalive: c_int,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_connect_bind(
    mosq: *mut mosquitto,
    host: *const c_char,
    port: c_int,
    keepalive: c_int,
    bind_address: *const c_char,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_connect_bind_v5(
    mosq: *mut mosquitto,
    host: *const c_char,
    port: c_int,
    keepalive: c_int,
    bind_address: *const c_char,
    properties: *const mosquitto_property,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_connect_async(
    mosq: *mut mosquitto,
    host: *const c_char,
    port: c_int,
    keepalive: c_int,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_connect_bind_async(
    mosq: *mut mosquitto,
    host: *const c_char,
    port: c_int,
    keepalive: c_int,
    bind_address: *const c_char,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_connect_srv(
    mosq: *mut mosquitto,
    host: *const c_char,
    keepalive: c_int,
    bind_address: *const c_char,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_reconnect(mosq: *mut mosquitto) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_reconnect_async(mosq: *mut mosquitto) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_disconnect(mosq: *mut mosquitto) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_disconnect_v5(
    mosq: *mut mosquitto,
    reason_code: c_int,
    properties: *const mosquitto_property,
) -> c_int {
    guard(|| Error::NotSupported.code())
}
