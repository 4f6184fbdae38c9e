#![allow(unused_variables)]
use super::boundary::guard;
use super::types::*;
use crate::error::Error;
use std::os::raw::{c_char, c_int, c_void};

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_publish(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    topic: *const c_char,
    payloadlen: c_int,
    payload: *const c_void,
    qos: c_int,
    retain: bool,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_publish_v5(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    topic: *const c_char,
    payloadlen: c_int,
    payload: *const c_void,
    qos: c_int,
    retain: bool,
    properties: *const mosquitto_property,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_subscribe(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    sub: *const c_char,
    qos: c_int,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_subscribe_v5(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    sub: *const c_char,
    qos: c_int,
    options: c_int,
    properties: *const mosquitto_property,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_subscribe_multiple(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    sub_count: c_int,
    sub: *const *mut c_char,
    qos: c_int,
    options: c_int,
    properties: *const mosquitto_property,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_unsubscribe(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    sub: *const c_char,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_unsubscribe_v5(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    sub: *const c_char,
    properties: *const mosquitto_property,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_unsubscribe_multiple(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    sub_count: c_int,
    sub: *const *mut c_char,
    properties: *const mosquitto_property,
) -> c_int {
    guard(|| Error::NotSupported.code())
}
