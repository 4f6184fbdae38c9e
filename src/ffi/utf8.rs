#![allow(unused_variables)]
use super::boundary::guard;
use crate::error::Error;
use std::os::raw::{c_char, c_int};

/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_validate_utf8(str: *const c_char, len: c_int) -> c_int {
    guard(|| Error::NotSupported.code())
}
