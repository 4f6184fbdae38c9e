//! The one-call helpers: `mosquitto_subscribe_callback` and
//! `mosquitto_subscribe_simple`.
//!
//! As in libmosquitto, each is a short program written with the public API: a
//! client is made with `mosquitto_new`, given the will, credentials and TLS
//! settings through `mosquitto_will_set`, `mosquitto_username_pw_set`,
//! `mosquitto_tls_set` and `mosquitto_tls_opts_set` (so every argument is checked
//! exactly as those calls check it), subscribes from its connect callback (so it
//! subscribes again after a reconnect), and runs `mosquitto_loop_forever` on the
//! caller's thread until the message callback asks it to stop.

use std::os::raw::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::actions::mosquitto_subscribe;
use super::boundary::guard_unwinding;
use super::callbacks::with_c_message;
use super::client::{client_of, mosquitto_destroy, mosquitto_new};
use super::connect::{mosquitto_connect, mosquitto_disconnect};
use super::event_loop::mosquitto_loop_forever;
use super::message::{mosquitto_message_copy, mosquitto_message_free_contents};
use super::options::{mosquitto_username_pw_set, mosquitto_will_set};
use super::tls::{mosquitto_tls_opts_set, mosquitto_tls_set};
use super::types::*;
use crate::error::{Error, SUCCESS};

/// The callback `mosquitto_subscribe_callback` calls per message.
type MessageCallback =
    unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void, *const mosquitto_message) -> c_int;

/// Applies the helper arguments to a new client, as libmosquitto does and in its
/// order; the first failing call's code.
///
/// # Safety
/// `mosq` is a live handle; the other pointers are NULL or as the helpers document.
unsafe fn configure(
    mosq: *mut mosquitto,
    username: *const c_char,
    password: *const c_char,
    will: *const libmosquitto_will,
    tls: *const libmosquitto_tls,
) -> c_int {
    // `Err` carries the first failing call's code.
    let ok = |rc: c_int| if rc == SUCCESS { Ok(()) } else { Err(rc) };
    let steps = || -> std::result::Result<(), c_int> {
        // SAFETY: `will` is NULL or points to the caller's struct.
        if let Some(w) = unsafe { will.as_ref() } {
            // SAFETY: the struct's fields are forwarded under `mosquitto_will_set`'s contract.
            ok(unsafe {
                mosquitto_will_set(mosq, w.topic, w.payloadlen, w.payload, w.qos, w.retain)
            })?;
        }
        if !username.is_null() {
            // SAFETY: forwarded under `mosquitto_username_pw_set`'s contract.
            ok(unsafe { mosquitto_username_pw_set(mosq, username, password) })?;
        }
        // SAFETY: `tls` is NULL or points to the caller's struct.
        if let Some(t) = unsafe { tls.as_ref() } {
            // SAFETY: the struct's fields are forwarded under the two calls' contracts.
            ok(unsafe {
                mosquitto_tls_set(
                    mosq,
                    t.cafile,
                    t.capath,
                    t.certfile,
                    t.keyfile,
                    t.pw_callback,
                )
            })?;
            // SAFETY: as above.
            ok(unsafe { mosquitto_tls_opts_set(mosq, t.cert_reqs, t.tls_version, t.ciphers) })?;
        }
        Ok(())
    };
    steps().err().unwrap_or(SUCCESS)
}

/// Subscribes to `topic` and calls `callback` for each message received, on the
/// caller's thread, until it returns non-zero; then disconnects and returns.
///
/// `callback` gets a client handle (valid only during the call; it may call
/// `mosquitto_disconnect`, `mosquitto_publish` and the like on it), `userdata`,
/// and the message, which it must not keep or free (copy it with
/// `mosquitto_message_copy`). `host`, `port`, `client_id`, `keepalive` and
/// `clean_session` mean what they mean for `mosquitto_new` and
/// `mosquitto_connect`; `username` (with `password`, either may be NULL),
/// `will` and `tls` (NULL: none) are applied as `mosquitto_username_pw_set`,
/// `mosquitto_will_set`, `mosquitto_tls_set` and `mosquitto_tls_opts_set` apply
/// them. The subscription is made again after each reconnect.
///
/// Returns `MOSQ_ERR_SUCCESS` once `callback` asked to stop;
/// `MOSQ_ERR_INVAL` for a NULL `callback` or `topic`; `MOSQ_ERR_NOMEM` when the
/// client cannot be made (including an id `mosquitto_new` refuses, as in
/// libmosquitto); otherwise the first failing call's code (for example
/// `MOSQ_ERR_ERRNO` when the connection is refused, `MOSQ_ERR_EAI` when `host`
/// does not resolve). Like libmosquitto, a broker that refuses the CONNECT
/// (bad credentials) or a subscription that is never acknowledged leaves the
/// call retrying or waiting for good.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_subscribe_callback(
    callback: Option<
        unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void, *const mosquitto_message) -> c_int,
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
    guard_unwinding(|| {
        let Some(callback) = callback else {
            return Error::Inval.code();
        };
        if topic.is_null() {
            return Error::Inval.code();
        }
        // SAFETY: `client_id` is NULL or a C string; `userdata` is only handed back.
        let mosq = unsafe { mosquitto_new(client_id, clean_session, userdata) };
        if mosq.is_null() {
            return Error::NoMem.code();
        }
        // SAFETY: `mosq` is live until the destroy below; the rest is the caller's.
        let rc = unsafe {
            let rc = configure(mosq, username, password, will, tls);
            if rc == SUCCESS {
                install_callbacks(mosq, callback, userdata, topic, qos);
                match mosquitto_connect(mosq, host, port, keepalive) {
                    SUCCESS => mosquitto_loop_forever(mosq, -1, 1),
                    failed => failed,
                }
            } else {
                rc
            }
        };
        // SAFETY: made above; nothing else holds it (callbacks ran on this thread).
        unsafe { mosquitto_destroy(mosq) };
        rc
    })
}

/// The helper's connect and message callbacks. Addresses rather than pointers,
/// so the closures are `Send`; all are used only while the helper runs.
///
/// # Safety
/// `mosq` is a live handle that outlives the loop; `topic` a C string that does.
unsafe fn install_callbacks(
    mosq: *mut mosquitto,
    callback: MessageCallback,
    userdata: *mut c_void,
    topic: *const c_char,
    qos: c_int,
) {
    let (handle, userdata, topic) = (mosq as usize, userdata as usize, topic as usize);
    // Once the callback asked to stop, messages already read are not handed to it.
    let stopped = Arc::new(AtomicBool::new(false));
    // SAFETY: forwarded from the caller.
    let Some(client) = (unsafe { client_of(mosq) }) else {
        return;
    };
    client.set_callbacks(|c| {
        c.on_connect = Some(Arc::new(move |_rc| {
            // SAFETY: the handle and the topic outlive the loop that calls this.
            // A failure (a bad filter or QoS) leaves the helper waiting, as in libmosquitto.
            unsafe {
                mosquitto_subscribe(
                    handle as *mut mosquitto,
                    std::ptr::null_mut(),
                    topic as *const c_char,
                    qos,
                )
            };
        }));
        c.on_message = Some(Arc::new(move |publish| {
            if stopped.load(Ordering::Acquire) {
                return;
            }
            // SAFETY: the program's function, called as its signature declares,
            // with a message valid for the call.
            let rc = with_c_message(publish, |message, _| unsafe {
                callback(handle as *mut mosquitto, userdata as *mut c_void, message)
            });
            if rc != 0 {
                stopped.store(true, Ordering::Release);
                // SAFETY: the handle is live while its loop runs.
                unsafe { mosquitto_disconnect(handle as *mut mosquitto) };
            }
        }));
    });
}

/// What `mosquitto_subscribe_simple` collects into.
struct Collected {
    /// `wanted` zeroed entries from `calloc`, filled from the front.
    messages: *mut mosquitto_message,
    wanted: usize,
    count: usize,
    want_retained: bool,
    /// `mosquitto_message_copy` failed: the helper stops and returns this.
    error: c_int,
}

/// `mosquitto_subscribe_simple`'s message callback: copies messages into the
/// array until it is full (then asks to stop).
unsafe extern "C-unwind" fn collect(
    _mosq: *mut mosquitto,
    obj: *mut c_void,
    message: *const mosquitto_message,
) -> c_int {
    // SAFETY: `obj` is the `Collected` that `mosquitto_subscribe_simple` passed,
    // alive and used only by this thread while the helper runs.
    let collected = unsafe { &mut *obj.cast::<Collected>() };
    // SAFETY: the library hands a valid message for the duration of the call.
    let retained = unsafe { (*message).retain };
    if collected.count == collected.wanted || (retained && !collected.want_retained) {
        return 0;
    }
    // SAFETY: `count < wanted`, so the slot is inside the array.
    let rc = unsafe { mosquitto_message_copy(collected.messages.add(collected.count), message) };
    if rc != SUCCESS {
        collected.error = rc;
        return 1;
    }
    collected.count += 1;
    c_int::from(collected.count == collected.wanted)
}

/// Subscribes to `topic`, waits for `msg_count` messages and returns them in
/// `*messages`: an array of `msg_count` messages that the caller releases with
/// `mosquitto_message_free_contents` on each and then `free()` on the array.
/// With `want_retained` false, retained messages (the broker's stored ones, sent
/// on subscribing) are skipped. The other arguments are as for
/// `mosquitto_subscribe_callback`.
///
/// Returns `MOSQ_ERR_SUCCESS` with the array in `*messages`;
/// `MOSQ_ERR_INVAL` for a NULL `messages` or `topic` or a `msg_count` below 1
/// (`*messages` is then untouched); otherwise `mosquitto_subscribe_callback`'s
/// code, with `*messages` NULL.
#[no_mangle]
pub unsafe extern "C-unwind" fn mosquitto_subscribe_simple(
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
    guard_unwinding(|| {
        let wanted = match usize::try_from(msg_count) {
            Ok(n) if n >= 1 => n,
            _ => return Error::Inval.code(),
        };
        if messages.is_null() || topic.is_null() {
            return Error::Inval.code();
        }
        // SAFETY: `messages` is non-NULL and points to the caller's pointer.
        unsafe { *messages = std::ptr::null_mut() };
        // SAFETY: calloc with a non-zero count; the result is checked for NULL.
        let array = unsafe { libc::calloc(wanted, std::mem::size_of::<mosquitto_message>()) };
        if array.is_null() {
            return Error::NoMem.code();
        }
        let mut collected = Collected {
            messages: array.cast(),
            wanted,
            count: 0,
            want_retained,
            error: SUCCESS,
        };
        // SAFETY: the arguments are forwarded under the same contract; `collected`
        // outlives the call, which uses it only on this thread.
        let rc = unsafe {
            mosquitto_subscribe_callback(
                Some(collect),
                (&mut collected as *mut Collected).cast(),
                topic,
                qos,
                host,
                port,
                client_id,
                keepalive,
                clean_session,
                username,
                password,
                will,
                tls,
            )
        };
        if rc == SUCCESS && collected.error == SUCCESS && collected.count == wanted {
            // SAFETY: as above; the caller now owns the array and its contents.
            unsafe { *messages = collected.messages };
            return SUCCESS;
        }
        for i in 0..collected.count {
            // SAFETY: the first `count` entries were filled by `mosquitto_message_copy`.
            unsafe { mosquitto_message_free_contents(collected.messages.add(i)) };
        }
        // SAFETY: the array came from calloc and is not handed out.
        unsafe { libc::free(array) };
        if rc == SUCCESS {
            collected.error
        } else {
            rc
        }
    })
}
