//! The `*_callback_set` family: each wraps the program's C function in a closure
//! the client loop can call (see `client::callbacks`), converting Rust values to
//! the C arguments at call time.
//!
//! Callbacks run on the thread that runs the network loop: the caller of
//! `mosquitto_loop*`, or the `loop_start` thread. No client lock is held while
//! they run. Passing NULL clears a callback.

use std::os::raw::{c_char, c_int, c_void};
use std::sync::Arc;

use super::boundary::guard;
use super::client::client_of;
use super::property::{mosquitto_property_free_all, received_properties_to_c};
use super::types::*;
use crate::client::{Callbacks, Client};
use crate::protocol::packet::Publish;
use crate::protocol::property::Properties;

/// The handle a callback is called with and the client behind it, kept as
/// addresses so closures holding them can move to the loop thread.
#[derive(Clone, Copy)]
struct Target {
    handle: usize,
    client: usize,
}

impl Target {
    /// # Safety
    /// `mosq` is NULL or a live handle.
    unsafe fn of(mosq: *mut mosquitto) -> Target {
        // SAFETY: forwarded from the caller.
        let client = unsafe { client_of(mosq) }.map_or(0, |c| Arc::as_ptr(c) as usize);
        Target {
            handle: mosq as usize,
            client,
        }
    }

    fn handle(self) -> *mut mosquitto {
        self.handle as *mut mosquitto
    }

    /// The program's current `obj` for this client.
    fn userdata(self) -> *mut c_void {
        // SAFETY: a closure holding this is called only by its client's dispatch,
        // which runs on a live `&Client`. The handle is not read: a callback may
        // have freed it (`mosquitto_destroy` from inside a callback).
        unsafe { &*(self.client as *const Client) }.userdata() as *mut c_void
    }
}

/// Sets one slot of the handle's callbacks; a NULL handle is ignored.
///
/// # Safety
/// `mosq` is NULL or a live handle.
unsafe fn set(mosq: *mut mosquitto, change: impl FnOnce(&mut Callbacks)) {
    // SAFETY: forwarded from the caller.
    if let Some(client) = unsafe { client_of(mosq) } {
        client.set_callbacks(change);
    }
}

/// Calls `f` with a C copy of `properties` (NULL when empty), freed after the call.
fn with_c_properties<T>(
    properties: &Properties,
    f: impl FnOnce(*const mosquitto_property) -> T,
) -> T {
    let mut list = received_properties_to_c(properties);
    let result = f(list);
    // SAFETY: `list` was made above and the callback was told it may not keep it.
    unsafe { mosquitto_property_free_all(&mut list) };
    result
}

/// Calls `f` with a C view of a received message and its properties. C programs
/// may read topic and payload as strings, so each has a NUL after it for the
/// call. The payload gets it in place, in the room the decoder leaves for it, so
/// it is not copied again; the topic (short, and a `String` that C may not write
/// into) is copied into a buffer the thread reuses. An empty payload is NULL.
pub(crate) fn with_c_message<T>(
    publish: &mut Publish,
    f: impl FnOnce(*const mosquitto_message, &Properties) -> T,
) -> T {
    // A callback that runs a loop itself finds the buffer taken and uses its own.
    let mut topic = TOPIC_TEXT.take();
    topic.clear();
    topic.extend_from_slice(publish.topic.as_bytes());
    topic.push(0);
    publish.payload.push(0);
    let payloadlen = publish.payload.len() - 1;
    let message = mosquitto_message {
        mid: c_int::from(publish.packet_id),
        topic: topic.as_mut_ptr().cast(),
        payload: if payloadlen == 0 {
            std::ptr::null_mut()
        } else {
            publish.payload.as_mut_ptr().cast()
        },
        payloadlen: payloadlen as c_int,
        qos: c_int::from(publish.qos),
        retain: publish.retain,
    };
    let result = f(&message, &publish.properties);
    publish.payload.pop();
    if topic.capacity() <= TOPIC_TEXT_KEEP {
        TOPIC_TEXT.set(topic);
    }
    result
}

/// The largest topic buffer a thread keeps between messages.
const TOPIC_TEXT_KEEP: usize = 4 * 1024;

thread_local! {
    static TOPIC_TEXT: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Sets the function called when the broker answers a connect (CONNACK).
/// `rc` is 0 on success, otherwise the broker's refusal code (MQTT 3) or
/// reason code (MQTT 5).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_connect_callback_set(
    mosq: *mut mosquitto,
    on_connect: Option<unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void, c_int)>,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_connect.map(|f| -> crate::client::callbacks::OnConnect {
            // SAFETY: the program's function, called as its signature declares.
            Arc::new(move |rc| unsafe { f(t.handle(), t.userdata(), rc) })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_connect = callback) }
    })
}

/// As `mosquitto_connect_callback_set`, with the CONNACK flags (bit 0: the
/// broker still has a session for this client).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_connect_with_flags_callback_set(
    mosq: *mut mosquitto,
    on_connect: Option<unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void, c_int, c_int)>,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_connect.map(|f| -> crate::client::callbacks::OnConnectWithFlags {
            // SAFETY: the program's function, called as its signature declares.
            Arc::new(move |rc, flags| unsafe { f(t.handle(), t.userdata(), rc, flags) })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_connect_with_flags = callback) }
    })
}

/// As `mosquitto_connect_with_flags_callback_set`, with the CONNACK's MQTT 5
/// properties. The property list is valid only during the call.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_connect_v5_callback_set(
    mosq: *mut mosquitto,
    on_connect: Option<
        unsafe extern "C-unwind" fn(
            *mut mosquitto,
            *mut c_void,
            c_int,
            c_int,
            *const mosquitto_property,
        ),
    >,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_connect.map(|f| -> crate::client::callbacks::OnConnectV5 {
            Arc::new(move |rc, flags, props| {
                // SAFETY: the program's function, called as its signature declares.
                with_c_properties(props, |p| unsafe {
                    f(t.handle(), t.userdata(), rc, flags, p)
                })
            })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_connect_v5 = callback) }
    })
}

/// Sets the function called when the connection ends. `rc` is 0 when the
/// program asked for it with `mosquitto_disconnect`, otherwise the reason.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_disconnect_callback_set(
    mosq: *mut mosquitto,
    on_disconnect: Option<unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void, c_int)>,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_disconnect.map(|f| -> crate::client::callbacks::OnDisconnect {
            // SAFETY: the program's function, called as its signature declares.
            Arc::new(move |rc| unsafe { f(t.handle(), t.userdata(), rc) })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_disconnect = callback) }
    })
}

/// As `mosquitto_disconnect_callback_set`, with the DISCONNECT's MQTT 5
/// properties (valid only during the call).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_disconnect_v5_callback_set(
    mosq: *mut mosquitto,
    on_disconnect: Option<
        unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void, c_int, *const mosquitto_property),
    >,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_disconnect.map(|f| -> crate::client::callbacks::OnDisconnectV5 {
            Arc::new(move |rc, props| {
                // SAFETY: the program's function, called as its signature declares.
                with_c_properties(props, |p| unsafe { f(t.handle(), t.userdata(), rc, p) })
            })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_disconnect_v5 = callback) }
    })
}

/// Sets the function called when a published message has been sent (QoS 0) or
/// acknowledged (QoS 1 and 2); `mid` is the id `mosquitto_publish` returned.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_publish_callback_set(
    mosq: *mut mosquitto,
    on_publish: Option<unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void, c_int)>,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_publish.map(|f| -> crate::client::callbacks::OnPublish {
            // SAFETY: the program's function, called as its signature declares.
            Arc::new(move |mid| unsafe { f(t.handle(), t.userdata(), mid) })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_publish = callback) }
    })
}

/// As `mosquitto_publish_callback_set`, with the acknowledgement's reason code
/// and MQTT 5 properties (valid only during the call).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_publish_v5_callback_set(
    mosq: *mut mosquitto,
    on_publish: Option<
        unsafe extern "C-unwind" fn(
            *mut mosquitto,
            *mut c_void,
            c_int,
            c_int,
            *const mosquitto_property,
        ),
    >,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_publish.map(|f| -> crate::client::callbacks::OnPublishV5 {
            Arc::new(move |mid, reason, props| {
                // SAFETY: the program's function, called as its signature declares.
                with_c_properties(props, |p| unsafe {
                    f(t.handle(), t.userdata(), mid, reason, p)
                })
            })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_publish_v5 = callback) }
    })
}

/// Sets the function called for each message received. The message and
/// everything it points to are valid only during the call; keep a copy with
/// `mosquitto_message_copy`.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_message_callback_set(
    mosq: *mut mosquitto,
    on_message: Option<
        unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void, *const mosquitto_message),
    >,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_message.map(|f| -> crate::client::callbacks::OnMessage {
            Arc::new(move |publish| {
                // SAFETY: the program's function, called as its signature declares.
                with_c_message(publish, |m, _| unsafe { f(t.handle(), t.userdata(), m) })
            })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_message = callback) }
    })
}

/// As `mosquitto_message_callback_set`, with the message's MQTT 5 properties
/// (valid only during the call).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_message_v5_callback_set(
    mosq: *mut mosquitto,
    on_message: Option<
        unsafe extern "C-unwind" fn(
            *mut mosquitto,
            *mut c_void,
            *const mosquitto_message,
            *const mosquitto_property,
        ),
    >,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_message.map(|f| -> crate::client::callbacks::OnMessage {
            Arc::new(move |publish| {
                with_c_message(publish, |m, properties| {
                    // SAFETY: the program's function, called as its signature declares.
                    with_c_properties(properties, |p| unsafe { f(t.handle(), t.userdata(), m, p) })
                })
            })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_message_v5 = callback) }
    })
}

/// Sets the function called when the broker answers a subscribe (SUBACK):
/// `mid` is the subscribe's id, and `granted_qos` holds `qos_count` granted QoS
/// levels (or failure codes), valid only during the call.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_subscribe_callback_set(
    mosq: *mut mosquitto,
    on_subscribe: Option<
        unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void, c_int, c_int, *const c_int),
    >,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_subscribe.map(|f| -> crate::client::callbacks::OnSubscribe {
            Arc::new(move |mid, granted| {
                let count = granted.len() as c_int;
                // SAFETY: the program's function, called as its signature declares.
                unsafe { f(t.handle(), t.userdata(), mid, count, granted.as_ptr()) }
            })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_subscribe = callback) }
    })
}

/// As `mosquitto_subscribe_callback_set`, with the SUBACK's MQTT 5 properties
/// (valid only during the call).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_subscribe_v5_callback_set(
    mosq: *mut mosquitto,
    on_subscribe: Option<
        unsafe extern "C-unwind" fn(
            *mut mosquitto,
            *mut c_void,
            c_int,
            c_int,
            *const c_int,
            *const mosquitto_property,
        ),
    >,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_subscribe.map(|f| -> crate::client::callbacks::OnSubscribeV5 {
            Arc::new(move |mid, granted, props| {
                let count = granted.len() as c_int;
                with_c_properties(props, |p| {
                    // SAFETY: the program's function, called as its signature declares.
                    unsafe { f(t.handle(), t.userdata(), mid, count, granted.as_ptr(), p) }
                })
            })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_subscribe_v5 = callback) }
    })
}

/// Sets the function called when the broker answers an unsubscribe (UNSUBACK).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_unsubscribe_callback_set(
    mosq: *mut mosquitto,
    on_unsubscribe: Option<unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void, c_int)>,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_unsubscribe.map(|f| -> crate::client::callbacks::OnUnsubscribe {
            // SAFETY: the program's function, called as its signature declares.
            Arc::new(move |mid| unsafe { f(t.handle(), t.userdata(), mid) })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_unsubscribe = callback) }
    })
}

/// As `mosquitto_unsubscribe_callback_set`, with the UNSUBACK's MQTT 5
/// properties (valid only during the call).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_unsubscribe_v5_callback_set(
    mosq: *mut mosquitto,
    on_unsubscribe: Option<
        unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void, c_int, *const mosquitto_property),
    >,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_unsubscribe.map(|f| -> crate::client::callbacks::OnUnsubscribeV5 {
            Arc::new(move |mid, props| {
                // SAFETY: the program's function, called as its signature declares.
                with_c_properties(props, |p| unsafe { f(t.handle(), t.userdata(), mid, p) })
            })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_unsubscribe_v5 = callback) }
    })
}

/// As `mosquitto_unsubscribe_v5_callback_set`, with the UNSUBACK's reason
/// codes: over MQTT 5 one per filter of the unsubscribe, in `reason_codes`
/// (`reason_code_count` of them); over MQTT 3.x `reason_code_count` is 0 and
/// `reason_codes` NULL. Called after the other unsubscribe callbacks; the codes
/// and properties are valid only during the call. New in libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_unsubscribe2_v5_callback_set(
    mosq: *mut mosquitto,
    on_unsubscribe: Option<
        unsafe extern "C-unwind" fn(
            *mut mosquitto,
            *mut c_void,
            c_int,
            c_int,
            *const c_int,
            *const mosquitto_property,
        ),
    >,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_unsubscribe.map(|f| -> crate::client::callbacks::OnUnsubscribe2V5 {
            Arc::new(move |mid, codes, props| {
                let count = codes.len() as c_int;
                let codes = if codes.is_empty() {
                    std::ptr::null()
                } else {
                    codes.as_ptr()
                };
                with_c_properties(props, |p| {
                    // SAFETY: the program's function, called as its signature declares.
                    unsafe { f(t.handle(), t.userdata(), mid, count, codes, p) }
                })
            })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_unsubscribe2_v5 = callback) }
    })
}

/// Sets the function called just before each connection attempt: in
/// `mosquitto_connect*` and `mosquitto_reconnect*`, and before every
/// reconnect of `mosquitto_loop_forever` and the `mosquitto_loop_start`
/// thread, on the thread making the attempt. The old connection is closed by
/// then and the new one not yet opened, so the username, password or TLS
/// settings it sets are the ones that attempt uses. No lock is held: it may
/// call any function. New in libmosquitto 2.1.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_pre_connect_callback_set(
    mosq: *mut mosquitto,
    on_pre_connect: Option<unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void)>,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_pre_connect.map(|f| -> crate::client::callbacks::OnPreConnect {
            // SAFETY: the program's function, called as its signature declares.
            Arc::new(move || unsafe { f(t.handle(), t.userdata()) })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_pre_connect = callback) }
    })
}

/// Sets the function that receives the client's log lines: `level` is one of
/// the `MOSQ_LOG_*` values and `str` is valid only during the call.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_log_callback_set(
    mosq: *mut mosquitto,
    on_log: Option<unsafe extern "C-unwind" fn(*mut mosquitto, *mut c_void, c_int, *const c_char)>,
) {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        let t = unsafe { Target::of(mosq) };
        let callback = on_log.map(|f| -> crate::client::callbacks::OnLog {
            Arc::new(move |level, line| {
                let mut text = Vec::with_capacity(line.len() + 1);
                text.extend(line.bytes().filter(|b| *b != 0));
                text.push(0);
                // SAFETY: the program's function, called as its signature declares;
                // `text` is NUL-terminated and outlives the call.
                unsafe { f(t.handle(), t.userdata(), level, text.as_ptr().cast()) }
            })
        });
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { set(mosq, |c| c.on_log = callback) }
    })
}

#[cfg(test)]
mod tests {
    use super::super::client::{mosquitto_destroy, mosquitto_new};
    use super::*;
    use std::ffi::CStr;
    use std::sync::Mutex;

    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

    fn received(topic: &str, payload: &[u8]) -> Publish {
        Publish {
            dup: false,
            qos: 0,
            retain: false,
            topic: topic.into(),
            packet_id: 0,
            payload: payload.to_vec(),
            properties: Vec::new(),
        }
    }

    #[test]
    fn a_message_reaches_c_with_nul_terminated_topic_and_payload_and_comes_back_unchanged() {
        let mut publish = received("a/b", b"hello");
        let seen = with_c_message(&mut publish, |m, _| {
            // SAFETY: `m` and what it points to are valid during this call.
            unsafe {
                let m = &*m;
                let payload = std::slice::from_raw_parts(m.payload as *const u8, 6);
                (
                    CStr::from_ptr(m.topic).to_str().unwrap().to_owned(),
                    payload.to_vec(),
                    m.payloadlen,
                )
            }
        });
        assert_eq!(seen, ("a/b".to_owned(), b"hello\0".to_vec(), 5));
        assert_eq!(publish, received("a/b", b"hello"));
    }

    #[test]
    fn an_empty_payload_reaches_c_as_null() {
        let mut publish = received("t", b"");
        let (null, len) = with_c_message(&mut publish, |m, _| {
            // SAFETY: `m` is valid during this call.
            unsafe { ((*m).payload.is_null(), (*m).payloadlen) }
        });
        assert!(null);
        assert_eq!(len, 0);
        assert!(publish.payload.is_empty());
    }

    unsafe extern "C-unwind" fn record_connect(mosq: *mut mosquitto, obj: *mut c_void, rc: c_int) {
        SEEN.lock()
            .unwrap()
            .push(format!("connect {rc} obj-is-handle={}", obj == mosq.cast()));
    }

    unsafe extern "C-unwind" fn record_message(
        _: *mut mosquitto,
        _: *mut c_void,
        m: *const mosquitto_message,
    ) {
        let m = unsafe { &*m };
        let topic = unsafe { CStr::from_ptr(m.topic) }
            .to_str()
            .unwrap()
            .to_owned();
        let payload = unsafe { CStr::from_ptr(m.payload.cast()) }
            .to_str()
            .unwrap()
            .to_owned();
        SEEN.lock().unwrap().push(format!(
            "message {topic} {payload} {} {} {} {}",
            m.payloadlen, m.qos, m.mid, m.retain
        ));
    }

    unsafe extern "C-unwind" fn record_subscribe(
        _: *mut mosquitto,
        _: *mut c_void,
        mid: c_int,
        n: c_int,
        q: *const c_int,
    ) {
        let granted = unsafe { std::slice::from_raw_parts(q, n as usize) };
        SEEN.lock()
            .unwrap()
            .push(format!("subscribe {mid} {granted:?}"));
    }

    unsafe extern "C-unwind" fn record_log(
        _: *mut mosquitto,
        _: *mut c_void,
        level: c_int,
        line: *const c_char,
    ) {
        let line = unsafe { CStr::from_ptr(line) }.to_str().unwrap().to_owned();
        SEEN.lock().unwrap().push(format!("log {level} {line}"));
    }

    #[test]
    fn c_callbacks_receive_the_handle_userdata_and_converted_values() {
        unsafe {
            let mosq = mosquitto_new(c"cb".as_ptr(), true, std::ptr::null_mut());
            mosquitto_connect_callback_set(mosq, Some(record_connect));
            mosquitto_message_callback_set(mosq, Some(record_message));
            mosquitto_subscribe_callback_set(mosq, Some(record_subscribe));
            mosquitto_log_callback_set(mosq, Some(record_log));

            let callbacks = (*mosq).client.callbacks();
            (callbacks.on_connect.unwrap())(5);
            let mut publish = Publish {
                dup: false,
                qos: 1,
                retain: true,
                topic: "a/b".into(),
                packet_id: 9,
                payload: b"hi".to_vec(),
                properties: Vec::new(),
            };
            (callbacks.on_message.unwrap())(&mut publish);
            (callbacks.on_subscribe.unwrap())(3, &[0, 1, 128]);
            (callbacks.on_log.unwrap())(16, "hello");

            mosquitto_connect_callback_set(mosq, None);
            assert!((*mosq).client.callbacks().on_connect.is_none());
            mosquitto_destroy(mosq);
        }
        let seen = SEEN.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![
                "connect 5 obj-is-handle=true",
                "message a/b hi 2 1 9 true",
                "subscribe 3 [0, 1, 128]",
                "log 16 hello",
            ]
        );
    }

    #[test]
    fn setting_a_callback_on_a_null_handle_is_ignored() {
        unsafe { mosquitto_connect_callback_set(std::ptr::null_mut(), Some(record_connect)) };
    }
}
