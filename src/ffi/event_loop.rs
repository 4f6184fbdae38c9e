//! The network loop. Callbacks run on the thread that runs the loop: the caller
//! of `mosquitto_loop*`, or the `mosquitto_loop_start` thread.

use std::os::raw::c_int;

use super::boundary::{code_of, guard, guard_unwinding};
use super::client::{client_of, with_client, with_client_kept};
use super::types::*;
use crate::error::Error;

/// Runs the loop until `mosquitto_disconnect` (returns `MOSQ_ERR_SUCCESS`) or an
/// error that reconnecting cannot cure; a lost connection is made again after
/// the `mosquitto_reconnect_delay_set` delay. `timeout` is as for `mosquitto_loop`.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_loop_forever(
    mosq: *mut mosquitto,
    timeout: c_int,
    max_packets: c_int,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard_unwinding(|| unsafe { with_client_kept(mosq, |c| c.loop_forever(timeout, max_packets)) })
}

/// Starts a thread that runs `mosquitto_loop_forever`. Returns `MOSQ_ERR_INVAL`
/// if one runs already.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_loop_start(mosq: *mut mosquitto) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        // (`loop_start` needs the shared handle, not just the client.)
        unsafe { client_of(mosq) }.map_or(Error::Inval.code(), |c| code_of(c.loop_start()))
    })
}

/// Stops the `mosquitto_loop_start` thread and waits for it; returns promptly
/// whatever the connection's state, with either `force` (unlike libmosquitto,
/// whose `force = false` waits for a disconnect). Call `mosquitto_disconnect`
/// first to close the connection cleanly. Returns `MOSQ_ERR_INVAL` if no
/// thread runs.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_loop_stop(mosq: *mut mosquitto, force: bool) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard(|| unsafe { with_client(mosq, |c| c.loop_stop(force)) })
}

/// Waits up to `timeout` ms (negative: 1000) for traffic, then reads, writes
/// and keeps the connection alive. `max_packets` must be at least 1. Returns
/// `MOSQ_ERR_NO_CONN` without a connection, or the error that ended it (after
/// `on_disconnect`).
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_loop(
    mosq: *mut mosquitto,
    timeout: c_int,
    max_packets: c_int,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard_unwinding(|| unsafe { with_client_kept(mosq, |c| c.run_loop(timeout, max_packets)) })
}

/// Reads and handles what the socket has (for programs that wait on
/// `mosquitto_socket` themselves).
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_loop_read(
    mosq: *mut mosquitto,
    max_packets: c_int,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard_unwinding(|| unsafe {
        with_client_kept(mosq, |c| {
            if max_packets < 1 {
                return Err(Error::Inval);
            }
            c.loop_read()
        })
    })
}

/// Writes what is queued.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_loop_write(
    mosq: *mut mosquitto,
    max_packets: c_int,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard_unwinding(|| unsafe {
        with_client_kept(mosq, |c| {
            if max_packets < 1 {
                return Err(Error::Inval);
            }
            c.loop_write()
        })
    })
}

/// Keepalive: sends PINGREQ when due, closes a connection the broker left silent.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_loop_misc(mosq: *mut mosquitto) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard_unwinding(|| unsafe { with_client_kept(mosq, |c| c.loop_misc()) })
}

/// The socket's descriptor, or -1 without a connection (or for NULL).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_socket(mosq: *mut mosquitto) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard(|| unsafe { client_of(mosq) }.map_or(-1, |c| c.socket()))
}

/// Whether output waits to be written (wait for the socket to be writable,
/// then call `mosquitto_loop_write`).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_want_write(mosq: *mut mosquitto) -> bool {
    // SAFETY: `mosq` is NULL or a live handle.
    guard(|| unsafe { client_of(mosq) }.is_some_and(|c| c.want_write()))
}
