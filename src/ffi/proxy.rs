#![allow(unused_variables)]
use super::boundary::guard;
use super::types::*;
use crate::error::Error;
use std::os::raw::{c_char, c_int};

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_socks5_set(
    mosq: *mut mosquitto,
    host: *const c_char,
    port: c_int,
    username: *const c_char,
    password: *const c_char,
) -> c_int {
    guard(|| Error::NotSupported.code())
}
