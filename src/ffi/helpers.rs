#![allow(unused_variables)]
use super::boundary::guard;
use super::types::*;
use crate::error::Error;
use std::os::raw::{c_char, c_int, c_void};

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_subscribe_simple(
    messages: *mut *mut mosquitto_message,
    msg_count: c_int,
    want_retained: bool,
    topic: *const c_char,
    qos: c_int,
    host: *const c_char,
    port: c_int,
    client_id: *const c_char,
    keepalive: c_int,
    clean_session: bool,
    username: *const c_char,
    password: *const c_char,
    will: *const libmosquitto_will,
    tls: *const libmosquitto_tls,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_subscribe_callback(
    callback: Option<
        unsafe extern "C" fn(*mut mosquitto, *mut c_void, *const mosquitto_message) -> c_int,
    >,
    userdata: *mut c_void,
    topic: *const c_char,
    qos: c_int,
    host: *const c_char,
    port: c_int,
    client_id: *const c_char,
    keepalive: c_int,
    clean_session: bool,
    username: *const c_char,
    password: *const c_char,
    will: *const libmosquitto_will,
    tls: *const libmosquitto_tls,
) -> c_int {
    guard(|| Error::NotSupported.code())
}
