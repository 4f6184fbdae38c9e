#![allow(unused_variables)]
use super::boundary::guard;
use super::types::*;
use crate::error::Error;
use std::os::raw::{c_char, c_int, c_void};

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_tls_set(
    mosq: *mut mosquitto,
    cafile: *const c_char,
    capath: *const c_char,
    certfile: *const c_char,
    keyfile: *const c_char,
    pw_callback: Option<unsafe extern "C" fn(*mut c_char, c_int, c_int, *mut c_void) -> c_int>,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_tls_insecure_set(mosq: *mut mosquitto, value: bool) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_tls_opts_set(
    mosq: *mut mosquitto,
    cert_reqs: c_int,
    tls_version: *const c_char,
    ciphers: *const c_char,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_tls_psk_set(
    mosq: *mut mosquitto,
    psk: *const c_char,
    identity: *const c_char,
    ciphers: *const c_char,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_ssl_get(mosq: *mut mosquitto) -> *mut c_void {
    guard(std::ptr::null_mut)
}
