//! Publishing, subscribing and unsubscribing. Each checks its arguments in the
//! order libmosquitto does, so a call with several problems returns the same
//! error code.

use std::os::raw::{c_char, c_int, c_void};
use std::ptr::null;

use super::boundary::{code_of, guard_then_dispatch, guard_with_callbacks};
use super::client::{c_bytes, client_of};
use super::property::outgoing_properties;
use super::types::*;
use crate::client::dispatch::Work;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::protocol::packet::{CMD_PUBLISH, CMD_SUBSCRIBE, CMD_UNSUBSCRIBE};
use crate::protocol::property::id::TOPIC_ALIAS;
use crate::protocol::property::{self, Properties};
use crate::protocol::{topic, utf8};
use crate::session::MAX_PAYLOAD;

/// Writes `value` to the out-parameter `mid` when it is not NULL.
///
/// # Safety
/// `mid` is NULL or points to a writable int.
unsafe fn set_mid(mid: *mut c_int, value: u16) {
    if !mid.is_null() {
        // SAFETY: checked non-NULL; writable per the caller's contract.
        unsafe { *mid = c_int::from(value) };
    }
}

/// The caller's property list, checked for `command`; properties need MQTT 5.
///
/// # Safety
/// `properties` is NULL or a list from the property API.
unsafe fn properties_for(
    client: &Client,
    command: u8,
    properties: *const mosquitto_property,
) -> Result<Properties> {
    if properties.is_null() {
        return Ok(Vec::new());
    }
    if !client.protocol_is_v5() {
        return Err(Error::NotSupported);
    }
    // SAFETY: forwarded from the caller.
    let properties = unsafe { outgoing_properties(properties) }?;
    property::check_all(i32::from(command), &properties)?;
    Ok(properties)
}

/// A subscription filter as libmosquitto checks it: syntax (`Inval`), then UTF-8.
fn filter_string(filter: Option<&[u8]>) -> Result<String> {
    let filter = filter.ok_or(Error::Inval)?;
    topic::check_filter_syntax(filter)?;
    if filter.is_empty() {
        return Err(Error::Inval);
    }
    utf8::check(filter)?;
    String::from_utf8(filter.to_vec()).map_err(|_| Error::MalformedUtf8)
}

/// The `count` string pointers at `array`, for the `*_multiple` calls; `None`
/// for a NULL array or a count that is not positive.
///
/// # Safety
/// `array` is NULL or points to `count` pointers.
unsafe fn string_array<'a>(array: *const *mut c_char, count: c_int) -> Option<&'a [*const c_char]> {
    let count = usize::try_from(count).ok().filter(|&n| n > 0)?;
    if array.is_null() {
        return None;
    }
    // SAFETY: non-NULL, with `count` pointers per the caller; `*mut` and `*const`
    // pointers have the same layout.
    Some(unsafe { std::slice::from_raw_parts(array.cast::<*const c_char>(), count) })
}

/// The checked arguments of a publish, in the order libmosquitto checks them.
///
/// # Safety
/// As `mosquitto_publish_v5`.
unsafe fn publish_args<'a>(
    client: &Client,
    topic_name: *const c_char,
    payloadlen: c_int,
    payload: *const c_void,
    qos: c_int,
    properties: *const mosquitto_property,
) -> Result<(&'a str, &'a [u8], u8, Properties)> {
    let qos = qos_of(qos)?;
    // SAFETY: `properties` is NULL or a property list.
    let properties = unsafe { properties_for(client, CMD_PUBLISH, properties) }?;
    // SAFETY: `topic_name` is NULL or a C string.
    let topic_bytes = unsafe { c_bytes(topic_name) }.unwrap_or_default();
    let topic_name = if topic_bytes.is_empty() {
        // Only an MQTT 5 Topic Alias may stand for the topic.
        let alias = properties.iter().any(|p| p.id == TOPIC_ALIAS);
        if !(client.protocol_is_v5() && alias) {
            return Err(Error::Inval);
        }
        ""
    } else if topic::is_plain_name(topic_bytes) {
        // What nearly every topic is: it passes the UTF-8 and syntax checks.
        if !(0..=MAX_PAYLOAD as i64).contains(&i64::from(payloadlen)) {
            return Err(Error::PayloadSize);
        }
        // SAFETY: printable ASCII is valid UTF-8.
        unsafe { std::str::from_utf8_unchecked(topic_bytes) }
    } else {
        let text = utf8::check_str(topic_bytes)?;
        if !(0..=MAX_PAYLOAD as i64).contains(&i64::from(payloadlen)) {
            return Err(Error::PayloadSize);
        }
        topic::check_publish_syntax(topic_bytes)?;
        text
    };
    let len = usize::try_from(payloadlen).map_err(|_| Error::PayloadSize)?;
    let payload: &[u8] = if len == 0 {
        &[]
    } else if payload.is_null() {
        // libmosquitto reads through the NULL and crashes; refuse instead.
        return Err(Error::Inval);
    } else {
        // SAFETY: the caller promises `payloadlen` readable bytes at `payload`.
        unsafe { std::slice::from_raw_parts(payload.cast::<u8>(), len) }
    };
    Ok((topic_name, payload, qos, properties))
}

/// The topic and payload of a QoS 0 publish without properties when they pass
/// every check at a glance (a printable-ASCII topic without wildcards, a
/// payload of a valid size); `None` when `publish_args` must look closer.
///
/// # Safety
/// As `mosquitto_publish_v5`.
unsafe fn plain_qos0_args<'a>(
    topic: *const c_char,
    payloadlen: c_int,
    payload: *const c_void,
) -> Option<(&'a str, &'a [u8])> {
    // SAFETY: `topic` is NULL or a C string.
    let topic = unsafe { c_bytes(topic) }?;
    if topic.is_empty() || !topic::is_plain_name(topic) {
        return None;
    }
    let len = usize::try_from(payloadlen).ok()?;
    if len > MAX_PAYLOAD {
        return None;
    }
    let payload: &[u8] = if len == 0 {
        &[]
    } else if payload.is_null() {
        return None;
    } else {
        // SAFETY: the caller promises `payloadlen` readable bytes at `payload`.
        unsafe { std::slice::from_raw_parts(payload.cast::<u8>(), len) }
    };
    // SAFETY: printable ASCII is valid UTF-8.
    Some((unsafe { std::str::from_utf8_unchecked(topic) }, payload))
}

/// # Safety
/// As `mosquitto_publish_v5`.
#[allow(clippy::too_many_arguments)]
unsafe fn publish_with(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    topic_name: *const c_char,
    payloadlen: c_int,
    payload: *const c_void,
    qos: c_int,
    retain: bool,
    properties: *const mosquitto_property,
) -> (Result<()>, Option<Work>) {
    // SAFETY: `mosq` is NULL or a live handle.
    let Some(client) = (unsafe { client_of(mosq) }) else {
        return (Err(Error::Inval), None);
    };
    // SAFETY: forwarded from the caller.
    let checked = unsafe { publish_args(client, topic_name, payloadlen, payload, qos, properties) };
    let (topic_name, payload, qos, properties) = match checked {
        Ok(args) => args,
        Err(e) => return (Err(e), None),
    };
    let (accepted, work) = client.publish_collecting(topic_name, payload, qos, retain, properties);
    let result = accepted.and_then(|accepted| {
        // SAFETY: `mid` is NULL or writable.
        unsafe { set_mid(mid, accepted.mid) };
        if accepted.connected {
            Ok(())
        } else {
            Err(Error::NoConn)
        }
    });
    (result, work)
}

/// Publishes a message. `payload` (`payloadlen` bytes, may be NULL when 0) and
/// `topic` are copied. On success `*mid` (if `mid` is not NULL) holds the
/// message id that `on_publish` will report. Without a connection a QoS 0
/// message fails with `MOSQ_ERR_NO_CONN`; a QoS 1 or 2 message is kept, sent
/// after the next CONNACK, and the call also returns `MOSQ_ERR_NO_CONN` (as
/// libmosquitto does), with `*mid` set.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_publish(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    topic: *const c_char,
    payloadlen: c_int,
    payload: *const c_void,
    qos: c_int,
    retain: bool,
) -> c_int {
    // SAFETY: forwarded under the same contract.
    unsafe { mosquitto_publish_v5(mosq, mid, topic, payloadlen, payload, qos, retain, null()) }
}

/// As `mosquitto_publish`, with MQTT 5 properties (NULL: none; the list stays
/// the caller's). With a Topic Alias property `topic` may be NULL or empty.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_publish_v5(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    topic: *const c_char,
    payloadlen: c_int,
    payload: *const c_void,
    qos: c_int,
    retain: bool,
    properties: *const mosquitto_property,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    let client = unsafe { client_of(mosq) };
    if let Some(client) = client.filter(|_| qos == 0 && properties.is_null()) {
        // SAFETY: forwarded from the caller.
        let args = || unsafe { plain_qos0_args(topic, payloadlen, payload) };
        // Inside the client's own panic catch (see `publish_qos0_from_program`).
        if let Some(result) = client.publish_qos0_from_program(args, retain) {
            return code_of(result.map(|accepted| {
                // SAFETY: `mid` is NULL or writable.
                unsafe { set_mid(mid, accepted.mid) }
            }));
        }
    }
    guard_then_dispatch(client, || {
        // SAFETY: forwarded from the caller.
        unsafe {
            publish_with(
                mosq, mid, topic, payloadlen, payload, qos, retain, properties,
            )
        }
    })
}

/// # Safety
/// `subs` points to `count` C string pointers (each may be NULL: `Inval`).
pub(crate) unsafe fn subscribe_with(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    subs: &[*const c_char],
    qos: c_int,
    options: c_int,
    properties: *const mosquitto_property,
) -> Result<()> {
    // SAFETY: `mosq` is NULL or a live handle.
    let client = unsafe { client_of(mosq) }.ok_or(Error::Inval)?;
    let qos = qos_of(qos)?;
    // Retain handling 3 is reserved; nothing above bit 5 exists.
    let options = u8::try_from(options).map_err(|_| Error::Inval)?;
    if options & 0x30 == 0x30 || options & 0xc0 != 0 {
        return Err(Error::Inval);
    }
    if client.is_disconnected() {
        return Err(Error::NoConn);
    }
    // SAFETY: `properties` is NULL or a property list.
    let properties = unsafe { properties_for(client, CMD_SUBSCRIBE, properties) }?;
    let mut filters = Vec::with_capacity(subs.len());
    for &sub in subs {
        // SAFETY: each entry is NULL or a C string.
        filters.push((filter_string(unsafe { c_bytes(sub) })?, qos | options));
    }
    let packet_mid = client.subscribe(filters, properties)?;
    // SAFETY: `mid` is NULL or writable.
    unsafe { set_mid(mid, packet_mid) };
    Ok(())
}

/// Subscribes to `sub` with the maximum QoS `qos`. `*mid` (if not NULL) gets
/// the id `on_subscribe` reports. Returns `MOSQ_ERR_NO_CONN` without a
/// connection, `MOSQ_ERR_INVAL` for a bad filter or QoS.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_subscribe(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    sub: *const c_char,
    qos: c_int,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard_with_callbacks(unsafe { client_of(mosq) }, || {
        // SAFETY: forwarded from the caller.
        unsafe { subscribe_with(mosq, mid, &[sub], qos, 0, null()) }
    })
}

/// As `mosquitto_subscribe`, with MQTT 5 subscription options
/// (`MQTT_SUB_OPT_*`, ignored before MQTT 5) and properties (NULL: none).
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_subscribe_v5(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    sub: *const c_char,
    qos: c_int,
    options: c_int,
    properties: *const mosquitto_property,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard_with_callbacks(unsafe { client_of(mosq) }, || {
        // SAFETY: forwarded from the caller.
        unsafe { subscribe_with(mosq, mid, &[sub], qos, options, properties) }
    })
}

/// Subscribes to `sub_count` filters at once (one SUBSCRIBE, one mid).
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_subscribe_multiple(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    sub_count: c_int,
    sub: *const *mut c_char,
    qos: c_int,
    options: c_int,
    properties: *const mosquitto_property,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard_with_callbacks(unsafe { client_of(mosq) }, || {
        if mosq.is_null() {
            return Err(Error::Inval);
        }
        // SAFETY: the caller passes `sub_count` string pointers at `sub`.
        let Some(subs) = (unsafe { string_array(sub, sub_count) }) else {
            return Err(Error::Inval);
        };
        // SAFETY: forwarded from the caller.
        unsafe { subscribe_with(mosq, mid, subs, qos, options, properties) }
    })
}

/// # Safety
/// As `subscribe_with`.
pub(crate) unsafe fn unsubscribe_with(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    subs: &[*const c_char],
    properties: *const mosquitto_property,
) -> Result<()> {
    // SAFETY: `mosq` is NULL or a live handle.
    let client = unsafe { client_of(mosq) }.ok_or(Error::Inval)?;
    if client.is_disconnected() {
        return Err(Error::NoConn);
    }
    // SAFETY: `properties` is NULL or a property list.
    let properties = unsafe { properties_for(client, CMD_UNSUBSCRIBE, properties) }?;
    let mut filters = Vec::with_capacity(subs.len());
    for &sub in subs {
        // SAFETY: each entry is NULL or a C string.
        filters.push(filter_string(unsafe { c_bytes(sub) })?);
    }
    let packet_mid = client.unsubscribe(filters, properties)?;
    // SAFETY: `mid` is NULL or writable.
    unsafe { set_mid(mid, packet_mid) };
    Ok(())
}

/// Unsubscribes from `sub`; `*mid` (if not NULL) gets the id `on_unsubscribe`
/// reports.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_unsubscribe(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    sub: *const c_char,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard_with_callbacks(unsafe { client_of(mosq) }, || {
        // SAFETY: forwarded from the caller.
        unsafe { unsubscribe_with(mosq, mid, &[sub], null()) }
    })
}

/// As `mosquitto_unsubscribe`, with MQTT 5 properties (NULL: none).
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_unsubscribe_v5(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    sub: *const c_char,
    properties: *const mosquitto_property,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard_with_callbacks(unsafe { client_of(mosq) }, || {
        // SAFETY: forwarded from the caller.
        unsafe { unsubscribe_with(mosq, mid, &[sub], properties) }
    })
}

/// Unsubscribes from `sub_count` filters at once (one UNSUBSCRIBE, one mid).
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_unsubscribe_multiple(
    mosq: *mut mosquitto,
    mid: *mut c_int,
    sub_count: c_int,
    sub: *const *mut c_char,
    properties: *const mosquitto_property,
) -> c_int {
    // SAFETY: `mosq` is NULL or a live handle.
    guard_with_callbacks(unsafe { client_of(mosq) }, || {
        if mosq.is_null() {
            return Err(Error::Inval);
        }
        // SAFETY: the caller passes `sub_count` string pointers at `sub`.
        let Some(subs) = (unsafe { string_array(sub, sub_count) }) else {
            return Err(Error::Inval);
        };
        // SAFETY: forwarded from the caller.
        unsafe { unsubscribe_with(mosq, mid, subs, properties) }
    })
}

/// A QoS level from C: 0, 1 or 2, else `MOSQ_ERR_INVAL`.
fn qos_of(qos: c_int) -> Result<u8> {
    u8::try_from(qos)
        .ok()
        .filter(|q| *q <= 2)
        .ok_or(Error::Inval)
}
