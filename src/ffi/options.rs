//! Client settings: the will, credentials, reconnect delays, in-flight limits and
//! the `mosq_opt_t` options.

use std::os::raw::{c_char, c_int, c_uint, c_void};

use super::boundary::{code_of, guard};
use super::client::{c_bytes, client_of, with_client};
use super::constants::mosq_opt_t::{self, *};
use super::mqtt_protocol::MQTT_MAX_PAYLOAD;
use super::property::{mosquitto_property_free_all, properties_from_c};
use super::types::*;
use crate::error::{Error, Result};

/// Runs `change` on the client's options; `MOSQ_ERR_INVAL` for a NULL handle.
///
/// # Safety
/// `mosq` is NULL or a live handle.
unsafe fn with_options(
    mosq: *mut mosquitto,
    change: impl FnOnce(&mut crate::client::Options) -> Result<()>,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { with_client(mosq, |c| c.with_options(change)) }
}

/// The option an `enum mosq_opt_t` argument names, if it names one. C may pass
/// any int, so the value is checked before it becomes a Rust enum.
fn option_named(value: mosq_opt_arg) -> Option<mosq_opt_t> {
    Some(match value {
        1 => MOSQ_OPT_PROTOCOL_VERSION,
        2 => MOSQ_OPT_SSL_CTX,
        3 => MOSQ_OPT_SSL_CTX_WITH_DEFAULTS,
        4 => MOSQ_OPT_RECEIVE_MAXIMUM,
        5 => MOSQ_OPT_SEND_MAXIMUM,
        6 => MOSQ_OPT_TLS_KEYFORM,
        7 => MOSQ_OPT_TLS_ENGINE,
        8 => MOSQ_OPT_TLS_ENGINE_KPASS_SHA1,
        9 => MOSQ_OPT_TLS_OCSP_REQUIRED,
        10 => MOSQ_OPT_TLS_ALPN,
        11 => MOSQ_OPT_TCP_NODELAY,
        12 => MOSQ_OPT_BIND_ADDRESS,
        13 => MOSQ_OPT_TLS_USE_OS_CERTS,
        14 => MOSQ_OPT_DISABLE_SOCKETPAIR,
        15 => MOSQ_OPT_TRANSPORT,
        16 => MOSQ_OPT_HTTP_PATH,
        17 => MOSQ_OPT_HTTP_HEADER_SIZE,
        _ => return None,
    })
}

/// Sets the will (MQTT 3); see `mosquitto_will_set_v5`.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_will_set(
    mosq: *mut mosquitto,
    topic: *const c_char,
    payloadlen: c_int,
    payload: *const c_void,
    qos: c_int,
    retain: bool,
) -> c_int {
    guard(|| {
        // SAFETY: the arguments are forwarded unchanged under the same contract.
        unsafe {
            mosquitto_will_set_v5(
                mosq,
                topic,
                payloadlen,
                payload,
                qos,
                retain,
                std::ptr::null_mut(),
            )
        }
    })
}

/// Sets the message the broker publishes for this client if the connection ends
/// without a DISCONNECT. Must be called before connecting. `topic` and the
/// `payloadlen` bytes at `payload` are copied (`payload` may be NULL when
/// `payloadlen` is 0).
///
/// `properties` may be NULL; otherwise, on success, the client takes ownership of
/// the list (do not free it), and on failure the caller keeps it.
///
/// Returns `MOSQ_ERR_INVAL` for a NULL handle or topic, a NULL payload with a
/// positive length, a QoS outside 0..2 or a topic with wildcards;
/// `MOSQ_ERR_PAYLOAD_SIZE` for a negative or too large `payloadlen`;
/// `MOSQ_ERR_MALFORMED_UTF8` for a topic that is not valid UTF-8;
/// `MOSQ_ERR_NOT_SUPPORTED` for properties when the protocol is not MQTT 5; and
/// the property check's error for properties a will may not carry.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_will_set_v5(
    mosq: *mut mosquitto,
    topic: *const c_char,
    payloadlen: c_int,
    payload: *const c_void,
    qos: c_int,
    retain: bool,
    properties: *mut mosquitto_property,
) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle; `topic` NULL or a C string.
        let (Some(client), Some(topic)) = (unsafe { client_of(mosq) }, unsafe { c_bytes(topic) })
        else {
            return Error::Inval.code();
        };
        let Ok(len) = usize::try_from(payloadlen) else {
            return Error::PayloadSize.code();
        };
        if len > MQTT_MAX_PAYLOAD as usize {
            return Error::PayloadSize.code();
        }
        if len > 0 && payload.is_null() {
            return Error::Inval.code();
        }
        let payload: &[u8] = if len == 0 {
            &[]
        } else {
            // SAFETY: the caller promises `payloadlen` readable bytes at `payload`.
            unsafe { std::slice::from_raw_parts(payload.cast(), len) }
        };
        // SAFETY: `properties` is NULL or a live list the caller owns. The will
        // takes the whole list, as libmosquitto's does.
        let result = unsafe { properties_from_c(properties) }.and_then(|will_properties| {
            client.with_options(|o| o.set_will(topic, payload, qos, retain, will_properties))
        });
        if result.is_ok() {
            let mut list = properties;
            // SAFETY: on success the list is ours to release; its contents were copied.
            unsafe { mosquitto_property_free_all(&mut list) };
        }
        code_of(result)
    })
}

/// Removes the will, if any. Returns `MOSQ_ERR_INVAL` for a NULL handle.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_will_clear(mosq: *mut mosquitto) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe {
            with_options(mosq, |o| {
                o.clear_will();
                Ok(())
            })
        }
    })
}

/// Sets the username and password sent in CONNECT; NULL for either sends none.
/// Both strings are copied. Must be called before connecting.
///
/// Returns `MOSQ_ERR_INVAL` for a NULL handle, a password without a username
/// (MQTT 3.1 and 3.1.1 only) or a username longer than 65535 bytes, and
/// `MOSQ_ERR_MALFORMED_UTF8` for a username that is not valid UTF-8. After a
/// failure no credentials are set.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_username_pw_set(
    mosq: *mut mosquitto,
    username: *const c_char,
    password: *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: `username` and `password` are NULL or C strings.
        let (username, password) = unsafe { (c_bytes(username), c_bytes(password)) };
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe { with_options(mosq, |o| o.set_credentials(username, password)) }
    })
}

/// Sets an option through a pointer (the older form of `mosquitto_int_option`).
/// Accepts `MOSQ_OPT_PROTOCOL_VERSION` with `value` pointing to an `int`, and
/// `MOSQ_OPT_SSL_CTX` (not supported: TLS here is rustls). Returns
/// `MOSQ_ERR_INVAL` for a NULL handle, a NULL value or any other option.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_opts_set(
    mosq: *mut mosquitto,
    option: mosq_opt_arg,
    value: *mut c_void,
) -> c_int {
    guard(|| {
        match option_named(option) {
            Some(MOSQ_OPT_PROTOCOL_VERSION) if !value.is_null() => {
                // SAFETY: for this option the caller passes a pointer to an int.
                let level = unsafe { *value.cast::<c_int>() };
                // SAFETY: `mosq` is forwarded under the same contract.
                unsafe { mosquitto_int_option(mosq, option, level) }
            }
            // SAFETY: forwarded under the same contract.
            Some(MOSQ_OPT_SSL_CTX) => unsafe { mosquitto_void_option(mosq, option, value) },
            _ => Error::Inval.code(),
        }
    })
}

/// Sets an integer option:
/// - `MOSQ_OPT_PROTOCOL_VERSION`: `MQTT_PROTOCOL_V31`, `_V311` (default) or `_V5`.
/// - `MOSQ_OPT_RECEIVE_MAXIMUM`, `MOSQ_OPT_SEND_MAXIMUM`: 0..65535 (default 20;
///   0 means 65535).
/// - `MOSQ_OPT_TCP_NODELAY`: non-zero disables Nagle's algorithm.
/// - `MOSQ_OPT_TLS_USE_OS_CERTS`: non-zero trusts the system's CA certificates too.
/// - `MOSQ_OPT_TLS_OCSP_REQUIRED`: 0 is accepted; non-zero is
///   `MOSQ_ERR_NOT_SUPPORTED` (no maintained Rust crate verifies stapled OCSP
///   responses, and accepting the option without checking would be a silent hole).
/// - `MOSQ_OPT_SSL_CTX_WITH_DEFAULTS`: `MOSQ_ERR_NOT_SUPPORTED` (no OpenSSL).
/// - `MOSQ_OPT_DISABLE_SOCKETPAIR` (libmosquitto 2.1): accepted and kept; the
///   one wake-up eventfd stays, so other threads still wake `mosquitto_loop`.
/// - `MOSQ_OPT_TRANSPORT` (libmosquitto 2.1): `MOSQ_T_TCP` or
///   `MOSQ_T_WEBSOCKETS`, for the next connect.
/// - `MOSQ_OPT_HTTP_HEADER_SIZE` (libmosquitto 2.1): at least 100 (default
///   4096); `MOSQ_ERR_INVAL` while a connection is being opened.
///
/// Returns `MOSQ_ERR_INVAL` for a NULL handle, a value out of range or an
/// option that is not an integer option.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_int_option(
    mosq: *mut mosquitto,
    option: mosq_opt_arg,
    value: c_int,
) -> c_int {
    guard(|| {
        if matches!(option_named(option), Some(MOSQ_OPT_HTTP_HEADER_SIZE)) {
            // SAFETY: `mosq` is NULL or a live handle.
            return unsafe { with_client(mosq, |c| c.set_http_header_size(value)) };
        }
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe {
            with_options(mosq, |o| match option_named(option) {
                Some(MOSQ_OPT_PROTOCOL_VERSION) => o.set_protocol_level(value),
                Some(MOSQ_OPT_RECEIVE_MAXIMUM) => o.set_receive_maximum(value),
                Some(MOSQ_OPT_SEND_MAXIMUM) => o.set_send_maximum(value),
                Some(MOSQ_OPT_TCP_NODELAY) => {
                    o.tcp_nodelay = value != 0;
                    Ok(())
                }
                Some(MOSQ_OPT_TLS_OCSP_REQUIRED) if value != 0 => Err(Error::NotSupported),
                Some(MOSQ_OPT_TLS_OCSP_REQUIRED) => {
                    o.tls.ocsp_required = false;
                    Ok(())
                }
                Some(MOSQ_OPT_TLS_USE_OS_CERTS) => {
                    o.tls.use_os_certs = value != 0;
                    Ok(())
                }
                Some(MOSQ_OPT_SSL_CTX_WITH_DEFAULTS) => Err(Error::NotSupported),
                Some(MOSQ_OPT_DISABLE_SOCKETPAIR) => {
                    o.disable_socketpair = value != 0;
                    Ok(())
                }
                Some(MOSQ_OPT_TRANSPORT) => o.websocket.set_transport(value),
                _ => Err(Error::Inval),
            })
        }
    })
}

/// Sets a string option; the string is copied:
/// - `MOSQ_OPT_BIND_ADDRESS`: the local address to connect from; NULL clears it.
/// - `MOSQ_OPT_TLS_ALPN`: the ALPN protocol to offer.
/// - `MOSQ_OPT_TLS_KEYFORM`: "pem" (the only form supported; "engine" is
///   `MOSQ_ERR_NOT_SUPPORTED`).
/// - `MOSQ_OPT_TLS_ENGINE`, `MOSQ_OPT_TLS_ENGINE_KPASS_SHA1`:
///   `MOSQ_ERR_NOT_SUPPORTED` (OpenSSL engines do not exist here).
/// - `MOSQ_OPT_HTTP_PATH` (libmosquitto 2.1): the WebSocket upgrade's path
///   (default "/mqtt"); NULL, empty, or with spaces or control characters is
///   `MOSQ_ERR_INVAL`.
///
/// Returns `MOSQ_ERR_INVAL` for a NULL handle, a NULL value where one is needed,
/// an unknown key form, or an option that is not a string option.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_string_option(
    mosq: *mut mosquitto,
    option: mosq_opt_arg,
    value: *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: `value` is NULL or a C string.
        let value = unsafe { c_bytes(value) }.map(|v| String::from_utf8_lossy(v).into_owned());
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe {
            with_options(mosq, |o| match option_named(option) {
                Some(MOSQ_OPT_BIND_ADDRESS) => {
                    o.bind_address = value.map(String::into_boxed_str);
                    Ok(())
                }
                Some(MOSQ_OPT_TLS_ALPN) => {
                    o.tls.alpn = Some(value.ok_or(Error::Inval)?);
                    Ok(())
                }
                Some(MOSQ_OPT_TLS_KEYFORM) => match value.as_deref() {
                    Some(form) if form.eq_ignore_ascii_case("pem") => Ok(()),
                    Some(form) if form.eq_ignore_ascii_case("engine") => Err(Error::NotSupported),
                    _ => Err(Error::Inval),
                },
                Some(MOSQ_OPT_TLS_ENGINE | MOSQ_OPT_TLS_ENGINE_KPASS_SHA1) => {
                    Err(Error::NotSupported)
                }
                Some(MOSQ_OPT_HTTP_PATH) => o.websocket.set_path(value),
                _ => Err(Error::Inval),
            })
        }
    })
}

/// Sets a pointer option. The only one is `MOSQ_OPT_SSL_CTX`, an OpenSSL
/// context, which is `MOSQ_ERR_NOT_SUPPORTED` here. Returns `MOSQ_ERR_INVAL`
/// for a NULL handle or any other option.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_void_option(
    mosq: *mut mosquitto,
    option: mosq_opt_arg,
    value: *mut c_void,
) -> c_int {
    guard(|| {
        let _ = value;
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe {
            with_client(mosq, |_| match option_named(option) {
                Some(MOSQ_OPT_SSL_CTX) => Err(Error::NotSupported),
                _ => Err(Error::Inval),
            })
        }
    })
}

/// Sets how `mosquitto_loop_forever` and the `loop_start` thread wait between
/// reconnect attempts: `reconnect_delay` seconds at first (0 means 1), growing
/// (doubling, with `reconnect_exponential_backoff`) up to `reconnect_delay_max`.
/// Returns `MOSQ_ERR_INVAL` for a NULL handle.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_reconnect_delay_set(
    mosq: *mut mosquitto,
    reconnect_delay: c_uint,
    reconnect_delay_max: c_uint,
    reconnect_exponential_backoff: bool,
) -> c_int {
    guard(|| {
        // SAFETY: `mosq` is NULL or a live handle.
        unsafe {
            with_options(mosq, |o| {
                o.set_reconnect_delay(
                    reconnect_delay,
                    reconnect_delay_max,
                    reconnect_exponential_backoff,
                );
                Ok(())
            })
        }
    })
}

/// Sets how many outgoing QoS 1 and 2 messages may await acknowledgement at
/// once (default 20; 0 means no limit, 65535). The same as
/// `MOSQ_OPT_SEND_MAXIMUM`. Returns `MOSQ_ERR_INVAL` for a NULL handle or a
/// value above 65535.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_max_inflight_messages_set(
    mosq: *mut mosquitto,
    max_inflight_messages: c_uint,
) -> c_int {
    guard(|| {
        let value = c_int::try_from(max_inflight_messages).unwrap_or(-1);
        // SAFETY: `mosq` is forwarded under the same contract.
        unsafe { mosquitto_int_option(mosq, MOSQ_OPT_SEND_MAXIMUM as c_int, value) }
    })
}

/// Does nothing: retries are driven by the protocol on reconnect, as in
/// libmosquitto 2.0. Kept for programs written for older versions.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_message_retry_set(mosq: *mut mosquitto, message_retry: c_uint) {
    guard(|| {
        let _ = (mosq, message_retry);
    })
}

#[cfg(test)]
mod tests {
    use super::super::property::mosquitto_property_add_byte;
    use super::super::test_handle::Handle;
    use super::*;
    use crate::protocol::packet::ProtocolVersion;

    const OK: c_int = crate::error::SUCCESS;
    const INVAL: c_int = Error::Inval.code();

    fn will(
        h: &Handle,
        topic: &std::ffi::CStr,
        len: c_int,
        payload: *const c_void,
        qos: c_int,
    ) -> c_int {
        unsafe { mosquitto_will_set(h.0, topic.as_ptr(), len, payload, qos, false) }
    }

    #[test]
    fn will_set_checks_its_arguments_as_libmosquitto_does() {
        let h = Handle::new();
        let data = b"bye".as_ptr().cast::<c_void>();
        let null = std::ptr::null();
        unsafe {
            assert_eq!(
                mosquitto_will_set(std::ptr::null_mut(), c"t".as_ptr(), 0, null, 0, false),
                INVAL
            );
            assert_eq!(
                mosquitto_will_set(h.0, std::ptr::null(), 0, null, 0, false),
                INVAL
            );
        }
        assert_eq!(will(&h, c"t", -1, data, 0), Error::PayloadSize.code());
        assert_eq!(
            will(&h, c"t", 268_435_456, data, 0),
            Error::PayloadSize.code()
        );
        assert_eq!(will(&h, c"t", 3, null, 0), INVAL);
        assert_eq!(will(&h, c"t", 3, data, 3), INVAL);
        assert_eq!(will(&h, c"t/+", 3, data, 0), INVAL);
        assert_eq!(will(&h, c"t/\xff", 3, data, 0), Error::MalformedUtf8.code());
        assert_eq!(h.options().will, None);

        assert_eq!(will(&h, c"t", 3, data, 2), OK);
        assert_eq!(will(&h, c"empty", 0, null, 0), OK);
        let stored = h.options().will.unwrap();
        assert_eq!((stored.topic.as_str(), stored.payload.len()), ("empty", 0));
        assert_eq!(unsafe { mosquitto_will_clear(h.0) }, OK);
        assert_eq!(h.options().will, None);
        assert_eq!(unsafe { mosquitto_will_clear(std::ptr::null_mut()) }, INVAL);
    }

    #[test]
    fn will_set_v5_takes_the_property_list_only_on_success() {
        let h = Handle::new();
        let mut props: *mut mosquitto_property = std::ptr::null_mut();
        // Payload format indicator (1) is allowed on a will.
        assert_eq!(unsafe { mosquitto_property_add_byte(&mut props, 1, 1) }, OK);
        let set = |props| unsafe {
            mosquitto_will_set_v5(h.0, c"t".as_ptr(), 0, std::ptr::null(), 1, false, props)
        };

        assert_eq!(
            set(props),
            Error::NotSupported.code(),
            "properties need MQTT 5"
        );
        assert_eq!(
            unsafe { mosquitto_int_option(h.0, MOSQ_OPT_PROTOCOL_VERSION as c_int, 5) },
            OK
        );
        assert_eq!(set(props), OK);
        let stored = h.options().will.unwrap();
        assert_eq!(stored.properties.len(), 1);
        assert_eq!(stored.properties[0].id, 1);
    }

    #[test]
    fn will_set_v5_refuses_properties_a_will_may_not_carry() {
        let h = Handle::new();
        unsafe { mosquitto_int_option(h.0, MOSQ_OPT_PROTOCOL_VERSION as c_int, 5) };
        let mut props: *mut mosquitto_property = std::ptr::null_mut();
        // Maximum QoS (36) belongs to CONNACK only.
        assert_eq!(
            unsafe { mosquitto_property_add_byte(&mut props, 36, 1) },
            OK
        );
        let rc = unsafe {
            mosquitto_will_set_v5(h.0, c"t".as_ptr(), 0, std::ptr::null(), 0, false, props)
        };
        assert_ne!(rc, OK);
        assert_eq!(h.options().will, None);
        unsafe { mosquitto_property_free_all(&mut props) };
    }

    #[test]
    fn username_pw_set_stores_copies_and_refuses_a_lone_password() {
        let h = Handle::new();
        unsafe {
            assert_eq!(
                mosquitto_username_pw_set(h.0, std::ptr::null(), c"pw".as_ptr()),
                INVAL
            );
            assert_eq!(
                mosquitto_username_pw_set(h.0, c"u".as_ptr(), c"pw".as_ptr()),
                OK
            );
            assert_eq!(h.options().username.as_deref(), Some("u"));
            assert_eq!(h.options().password.as_deref(), Some(&b"pw"[..]));
            assert_eq!(
                mosquitto_username_pw_set(h.0, c"\xff".as_ptr(), std::ptr::null()),
                Error::MalformedUtf8.code()
            );
            assert_eq!(h.options().username, None);
            assert_eq!(
                mosquitto_username_pw_set(std::ptr::null_mut(), c"u".as_ptr(), std::ptr::null()),
                INVAL
            );
        }
    }

    #[test]
    fn opts_set_reads_the_protocol_version_through_a_pointer() {
        let h = Handle::new();
        let mut v5: c_int = 5;
        let option = MOSQ_OPT_PROTOCOL_VERSION as c_int;
        unsafe {
            assert_eq!(
                mosquitto_opts_set(h.0, option, (&mut v5 as *mut c_int).cast()),
                OK
            );
            assert_eq!(h.options().protocol, ProtocolVersion::V5);
            assert_eq!(mosquitto_opts_set(h.0, option, std::ptr::null_mut()), INVAL);
            assert_eq!(
                mosquitto_opts_set(h.0, MOSQ_OPT_SSL_CTX as c_int, std::ptr::null_mut()),
                Error::NotSupported.code()
            );
            assert_eq!(
                mosquitto_opts_set(h.0, MOSQ_OPT_TCP_NODELAY as c_int, std::ptr::null_mut()),
                INVAL
            );
            assert_eq!(
                mosquitto_opts_set(std::ptr::null_mut(), option, (&mut v5 as *mut c_int).cast()),
                INVAL
            );
        }
    }

    #[test]
    fn int_option_sets_each_integer_option_and_refuses_the_rest() {
        let h = Handle::new();
        let set = |option: mosq_opt_t, value| unsafe {
            mosquitto_int_option(h.0, option as c_int, value)
        };
        assert_eq!(set(MOSQ_OPT_PROTOCOL_VERSION, 3), OK);
        assert_eq!(set(MOSQ_OPT_PROTOCOL_VERSION, 6), INVAL);
        assert_eq!(set(MOSQ_OPT_RECEIVE_MAXIMUM, 10), OK);
        assert_eq!(set(MOSQ_OPT_SEND_MAXIMUM, 0), OK);
        assert_eq!(set(MOSQ_OPT_SEND_MAXIMUM, 70_000), INVAL);
        assert_eq!(set(MOSQ_OPT_TCP_NODELAY, 1), OK);
        assert_eq!(
            set(MOSQ_OPT_TLS_OCSP_REQUIRED, 1),
            Error::NotSupported.code()
        );
        assert_eq!(set(MOSQ_OPT_TLS_OCSP_REQUIRED, 0), OK);
        assert_eq!(set(MOSQ_OPT_TLS_USE_OS_CERTS, 1), OK);
        assert_eq!(
            set(MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 1),
            Error::NotSupported.code()
        );
        assert_eq!(set(MOSQ_OPT_BIND_ADDRESS, 1), INVAL);
        assert_eq!(unsafe { mosquitto_int_option(h.0, 99, 1) }, INVAL);
        assert_eq!(
            unsafe { mosquitto_int_option(std::ptr::null_mut(), 1, 4) },
            INVAL
        );
        let o = h.options();
        assert_eq!(o.protocol, ProtocolVersion::V31);
        assert_eq!((o.receive_maximum, o.send_maximum), (10, 65_535));
        assert!(o.tcp_nodelay && !o.tls.ocsp_required && o.tls.use_os_certs);
    }

    #[test]
    fn string_option_sets_the_bind_address_and_tls_strings() {
        let h = Handle::new();
        let set = |option: mosq_opt_t, value: *const c_char| unsafe {
            mosquitto_string_option(h.0, option as c_int, value)
        };
        assert_eq!(set(MOSQ_OPT_BIND_ADDRESS, c"127.0.0.1".as_ptr()), OK);
        assert_eq!(h.options().bind_address.as_deref(), Some("127.0.0.1"));
        assert_eq!(set(MOSQ_OPT_BIND_ADDRESS, std::ptr::null()), OK);
        assert_eq!(h.options().bind_address, None);
        assert_eq!(set(MOSQ_OPT_TLS_ALPN, c"mqtt".as_ptr()), OK);
        assert_eq!(h.options().tls.alpn.as_deref(), Some("mqtt"));
        assert_eq!(set(MOSQ_OPT_TLS_ALPN, std::ptr::null()), INVAL);
        assert_eq!(set(MOSQ_OPT_TLS_KEYFORM, c"PEM".as_ptr()), OK);
        assert_eq!(
            set(MOSQ_OPT_TLS_KEYFORM, c"engine".as_ptr()),
            Error::NotSupported.code()
        );
        assert_eq!(set(MOSQ_OPT_TLS_KEYFORM, c"der".as_ptr()), INVAL);
        assert_eq!(
            set(MOSQ_OPT_TLS_ENGINE, c"x".as_ptr()),
            Error::NotSupported.code()
        );
        assert_eq!(
            set(MOSQ_OPT_TLS_ENGINE_KPASS_SHA1, c"x".as_ptr()),
            Error::NotSupported.code()
        );
        assert_eq!(set(MOSQ_OPT_PROTOCOL_VERSION, c"5".as_ptr()), INVAL);
    }

    #[test]
    fn the_libmosquitto_21_options_have_its_numbers() {
        use super::super::constants::mosq_transport_t::*;
        let numbers = [
            MOSQ_OPT_DISABLE_SOCKETPAIR as c_int,
            MOSQ_OPT_TRANSPORT as c_int,
            MOSQ_OPT_HTTP_PATH as c_int,
            MOSQ_OPT_HTTP_HEADER_SIZE as c_int,
        ];
        assert_eq!(numbers, [14, 15, 16, 17]);
        assert_eq!((MOSQ_T_TCP as c_int, MOSQ_T_WEBSOCKETS as c_int), (1, 2));
        for n in 14..=17 {
            assert!(option_named(n).is_some(), "option {n}");
        }
    }

    #[test]
    fn the_libmosquitto_21_transport_options_are_checked_and_stored() {
        let h = Handle::new();
        let int = |option: mosq_opt_t, value| unsafe {
            mosquitto_int_option(h.0, option as c_int, value)
        };
        let string = |option: mosq_opt_t, value: *const c_char| unsafe {
            mosquitto_string_option(h.0, option as c_int, value)
        };
        assert_eq!(int(MOSQ_OPT_TRANSPORT, 2), OK);
        assert!(h.options().websocket.enabled);
        assert_eq!(int(MOSQ_OPT_TRANSPORT, 3), INVAL);
        assert_eq!(int(MOSQ_OPT_TRANSPORT, 0), INVAL);
        assert!(
            h.options().websocket.enabled,
            "a refused value changes nothing"
        );
        assert_eq!(int(MOSQ_OPT_TRANSPORT, 1), OK);
        assert!(!h.options().websocket.enabled);
        assert_eq!(int(MOSQ_OPT_HTTP_HEADER_SIZE, 99), INVAL);
        assert_eq!(int(MOSQ_OPT_HTTP_HEADER_SIZE, 100), OK);
        assert_eq!(h.options().websocket.header_size, 100);
        assert_eq!(
            unsafe { mosquitto_int_option(std::ptr::null_mut(), 17, 4096) },
            INVAL
        );
        assert_eq!(int(MOSQ_OPT_DISABLE_SOCKETPAIR, 1), OK);
        assert!(h.options().disable_socketpair);
        assert_eq!(h.options().upgrade(), None);
        assert_eq!(string(MOSQ_OPT_HTTP_PATH, c"/ws".as_ptr()), OK);
        assert_eq!(h.options().websocket.path.as_deref(), Some("/ws"));
        assert_eq!(string(MOSQ_OPT_HTTP_PATH, std::ptr::null()), INVAL);
        assert_eq!(string(MOSQ_OPT_HTTP_PATH, c"/a b".as_ptr()), INVAL);
        assert_eq!(int(MOSQ_OPT_HTTP_PATH, 1), INVAL);
        assert_eq!(string(MOSQ_OPT_TRANSPORT, c"2".as_ptr()), INVAL);
    }

    #[test]
    fn void_option_knows_only_the_ssl_ctx_and_does_not_support_it() {
        let h = Handle::new();
        let set =
            |option: c_int| unsafe { mosquitto_void_option(h.0, option, std::ptr::null_mut()) };
        assert_eq!(set(MOSQ_OPT_SSL_CTX as c_int), Error::NotSupported.code());
        assert_eq!(set(MOSQ_OPT_TCP_NODELAY as c_int), INVAL);
        assert_eq!(
            unsafe { mosquitto_void_option(std::ptr::null_mut(), 2, std::ptr::null_mut()) },
            INVAL
        );
    }

    #[test]
    fn reconnect_delay_and_inflight_limits_are_stored() {
        let h = Handle::new();
        unsafe {
            assert_eq!(mosquitto_reconnect_delay_set(h.0, 0, 60, true), OK);
            assert_eq!(mosquitto_max_inflight_messages_set(h.0, 5), OK);
            assert_eq!(mosquitto_max_inflight_messages_set(h.0, 70_000), INVAL);
            assert_eq!(
                mosquitto_reconnect_delay_set(std::ptr::null_mut(), 1, 1, false),
                INVAL
            );
            mosquitto_message_retry_set(h.0, 10);
        }
        let o = h.options();
        assert_eq!(
            (o.reconnect.delay, o.reconnect.max, o.reconnect.exponential),
            (1, 60, true)
        );
        assert_eq!(o.send_maximum, 5);
    }
}
