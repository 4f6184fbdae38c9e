//! Connecting, reconnecting and disconnecting.

use std::os::raw::{c_char, c_int};
use std::ptr::null;

use super::boundary::{code_of, guard, guard_unwinding, guard_with_callbacks};
use super::client::{c_bytes, client_of};
use super::property::{outgoing_properties, properties_from_c};
use super::types::*;
use crate::client::contain::contain_result;
use crate::client::Target;
use crate::error::{Error, Result};
use crate::protocol::packet::{CMD_CONNECT, CMD_DISCONNECT};
use crate::protocol::property::{self, Properties};

/// A C string as an owned Rust string (`Inval` for NULL or bad UTF-8).
fn owned(bytes: Option<&[u8]>) -> Result<String> {
    let bytes = bytes.ok_or(Error::Inval)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::Inval)
}

/// Properties for `command`, checked; non-empty ones need MQTT 5.
fn checked_properties(v5: bool, command: u8, properties: Properties) -> Result<Properties> {
    if !properties.is_empty() {
        if !v5 {
            return Err(Error::NotSupported);
        }
        property::check_all(i32::from(command), &properties)?;
    }
    Ok(properties)
}

/// The common body of the connect calls.
///
/// The arguments are read inside the panic catch (`contain`); the connect
/// itself runs after it, because it calls the program's `on_pre_connect`,
/// whose unwinding (`pthread_exit`) must pass through us (see
/// `Client::reconnect`, which contains its own steps).
///
/// # Safety
/// Pointers as the connect calls document them.
unsafe fn connect_with(
    mosq: *mut mosquitto,
    host: *const c_char,
    port: c_int,
    keepalive: c_int,
    bind_address: *const c_char,
    properties: *const mosquitto_property,
    blocking: bool,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    let Some(client) = (unsafe { client_of(mosq) }) else {
        return Error::Inval.code();
    };
    let target = contain_result(|| {
        // With a server list (skeeter_servers_set), host and port are ignored:
        // host may be NULL, and a port out of range does not matter.
        let listed = client.has_servers();
        // SAFETY: `host` and `bind_address` are NULL or C strings.
        let host = match unsafe { c_bytes(host) } {
            None if listed => String::new(),
            bytes => owned(bytes)?,
        };
        let port = if listed && u16::try_from(port).is_err() {
            0
        } else {
            port
        };
        // SAFETY: as above.
        let bind = unsafe { c_bytes(bind_address) }
            .map(|b| owned(Some(b)))
            .transpose()?;
        let mut target = Target::new(host, port, keepalive, bind)?;
        // SAFETY: `properties` is NULL or a list from the property API.
        // CONNECT carries the whole list, even a received one, as in libmosquitto.
        let properties = unsafe { properties_from_c(properties) }?;
        target.properties =
            checked_properties(client.protocol_is_v5(), CMD_CONNECT, properties)?.into();
        Ok(target)
    });
    code_of(target.and_then(|target| client.connect(target, blocking)))
}

/// The body of the reconnect calls, outside the panic catch as `connect_with`.
///
/// # Safety
/// `mosq` is NULL or a live handle.
unsafe fn reconnect_with(mosq: *mut mosquitto, blocking: bool) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { client_of(mosq) }.map_or(Error::Inval.code(), |c| code_of(c.reconnect(blocking)))
}

/// Connects to a broker and sends CONNECT, waiting for the TCP handshake (not
/// for CONNACK: run a loop for that). `host` is a name or address (with port 0,
/// the path of a Unix socket); `keepalive` is 0 or 5..=65535 seconds.
/// Returns `MOSQ_ERR_INVAL` for a NULL handle or host, or an argument out of
/// range; `MOSQ_ERR_EAI` when the name does not resolve; `MOSQ_ERR_ERRNO` (with
/// `errno` set) when the connection fails.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_connect(
    mosq: *mut mosquitto,
    host: *const c_char,
    port: c_int,
    keepalive: c_int,
) -> c_int {
    // SAFETY: forwarded under the same contract.
    unsafe { mosquitto_connect_bind(mosq, host, port, keepalive, null()) }
}

/// As `mosquitto_connect`, binding the socket to `bind_address` (NULL: none)
/// first.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_connect_bind(
    mosq: *mut mosquitto,
    host: *const c_char,
    port: c_int,
    keepalive: c_int,
    bind_address: *const c_char,
) -> c_int {
    // SAFETY: forwarded under the same contract.
    unsafe { mosquitto_connect_bind_v5(mosq, host, port, keepalive, bind_address, null()) }
}

/// As `mosquitto_connect_bind`, with MQTT 5 CONNECT properties (NULL: none;
/// the list stays the caller's). Properties need MQTT 5 (`MOSQ_ERR_NOT_SUPPORTED`).
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_connect_bind_v5(
    mosq: *mut mosquitto,
    host: *const c_char,
    port: c_int,
    keepalive: c_int,
    bind_address: *const c_char,
    properties: *const mosquitto_property,
) -> c_int {
    // SAFETY: the caller's contract.
    guard_unwinding(|| unsafe {
        connect_with(mosq, host, port, keepalive, bind_address, properties, true)
    })
}

/// As `mosquitto_connect`, without waiting for the TCP handshake: the loop
/// (`mosquitto_loop*` or `mosquitto_loop_start`) completes it.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_connect_async(
    mosq: *mut mosquitto,
    host: *const c_char,
    port: c_int,
    keepalive: c_int,
) -> c_int {
    // SAFETY: forwarded under the same contract.
    unsafe { mosquitto_connect_bind_async(mosq, host, port, keepalive, null()) }
}

/// As `mosquitto_connect_async`, binding to `bind_address` (NULL: none) first.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_connect_bind_async(
    mosq: *mut mosquitto,
    host: *const c_char,
    port: c_int,
    keepalive: c_int,
    bind_address: *const c_char,
) -> c_int {
    // SAFETY: the caller's contract.
    guard_unwinding(|| unsafe {
        connect_with(mosq, host, port, keepalive, bind_address, null(), false)
    })
}

/// Not supported: returns `MOSQ_ERR_NOT_SUPPORTED`, as libmosquitto built
/// without SRV lookups does.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_connect_srv(
    _mosq: *mut mosquitto,
    _host: *const c_char,
    _keepalive: c_int,
    _bind_address: *const c_char,
) -> c_int {
    guard(|| Error::NotSupported.code())
}

/// Connects again to the last broker, waiting for the TCP handshake. Queued
/// QoS 1 and 2 messages are sent again after the CONNACK.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_reconnect(mosq: *mut mosquitto) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard_unwinding(|| unsafe { reconnect_with(mosq, true) })
}

/// As `mosquitto_reconnect`, leaving the handshake to the loop.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_reconnect_async(mosq: *mut mosquitto) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard_unwinding(|| unsafe { reconnect_with(mosq, false) })
}

/// Sends DISCONNECT; the connection closes once it is written and
/// `on_disconnect` is called with 0. A `loop_forever` then returns. Returns
/// `MOSQ_ERR_NO_CONN` without a connection.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_disconnect(mosq: *mut mosquitto) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle; the rest is the caller's contract.
    guard_with_callbacks(unsafe { client_of(mosq) }, || unsafe {
        disconnect_with(mosq, 0, null())
    })
}

/// As `mosquitto_disconnect`, with an MQTT 5 reason code (0..=255) and
/// properties (NULL: none; the list stays the caller's).
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_disconnect_v5(
    mosq: *mut mosquitto,
    reason_code: c_int,
    properties: *const mosquitto_property,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle; the rest is the caller's contract.
    guard_with_callbacks(unsafe { client_of(mosq) }, || unsafe {
        disconnect_with(mosq, reason_code, properties)
    })
}

/// # Safety
/// `mosq` is NULL or a live handle; `properties` NULL or a property list.
unsafe fn disconnect_with(
    mosq: *mut mosquitto,
    reason_code: c_int,
    properties: *const mosquitto_property,
) -> Result<()> {
    // SAFETY: `mosq` is NULL or a live handle.
    let client = unsafe { client_of(mosq) }.ok_or(Error::Inval)?;
    // SAFETY: `properties` is NULL or a list from the property API.
    let properties = unsafe { outgoing_properties(properties) }?;
    let properties = checked_properties(client.protocol_is_v5(), CMD_DISCONNECT, properties)?;
    let reason_code = u8::try_from(reason_code).map_err(|_| Error::Inval)?;
    client.disconnect(reason_code, properties)
}
