//! Human-readable text for error codes, CONNACK codes and MQTT 5 reason codes,
//! and command names.
//!
//! The texts are the ones libmosquitto returns, word for word, because programs
//! print them and tests compare them.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

use super::boundary::guard;
use crate::error::{Error, SUCCESS};
use crate::protocol::property::command;

/// Describes a `MOSQ_ERR_*` value in a short English sentence.
///
/// The returned string is static: do not free or modify it. For `MOSQ_ERR_ERRNO`
/// it is the C library's `strerror` text for the current `errno`, so read it
/// before calling anything that may change `errno`. Unknown values give
/// "Unknown error.". Never returns NULL.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_strerror(mosq_errno: c_int) -> *const c_char {
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    guard(|| {
        if mosq_errno == Error::Errno(0).code() {
            // SAFETY: strerror accepts any int and returns a NUL-terminated string
            // that stays valid until the next strerror call, as in libmosquitto.
            return unsafe { libc::strerror(errno) }.cast_const();
        }
        error_text(mosq_errno).as_ptr()
    })
}

fn error_text(code: c_int) -> &'static CStr {
    match code {
        -4 => c"Continue with authentication.",
        -3 => c"No subscribers.",
        -2 => c"Subscription already exists.",
        -1 => c"Connection pending.",
        0 => c"No error.",
        1 => c"Out of memory.",
        2 => c"A network protocol error occurred when communicating with the broker.",
        3 => c"Invalid function arguments provided.",
        4 => c"The client is not currently connected.",
        5 => c"The connection was refused.",
        6 => c"Message not found (internal error).",
        7 => c"The connection was lost.",
        8 => c"A TLS error occurred.",
        9 => c"Payload too large.",
        10 => c"This feature is not supported.",
        11 => c"Authorisation failed.",
        12 => c"Access denied by ACL.",
        15 => c"Lookup error.",
        16 => c"Proxy error.",
        18 => c"Malformed UTF-8",
        22 => c"Duplicate property in property list",
        23 => c"TLS handshake failed.",
        24 => c"Requested QoS not supported on server.",
        25 => c"Packet larger than supported by the server.",
        26 => c"OCSP error.",
        _ => c"Unknown error.",
    }
}

/// Describes an MQTT 3.1/3.1.1 CONNACK return code (0..5).
///
/// The returned string is static: do not free it. Other values give
/// "Connection Refused: unknown reason.". Never returns NULL.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_connack_string(connack_code: c_int) -> *const c_char {
    guard(|| {
        let text = match connack_code {
            0 => c"Connection Accepted.",
            1 => c"Connection Refused: unacceptable protocol version.",
            2 => c"Connection Refused: identifier rejected.",
            3 => c"Connection Refused: broker unavailable.",
            4 => c"Connection Refused: bad user name or password.",
            5 => c"Connection Refused: not authorised.",
            _ => c"Connection Refused: unknown reason.",
        };
        text.as_ptr()
    })
}

/// Describes an MQTT 5 reason code (`enum mqtt5_return_codes`).
///
/// The returned string is static: do not free it. Codes MQTT 5 does not define
/// give "Unknown reason". Never returns NULL.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_reason_string(reason_code: c_int) -> *const c_char {
    guard(|| reason_text(reason_code).as_ptr())
}

fn reason_text(code: c_int) -> &'static CStr {
    match code {
        0 => c"Success",
        1 => c"Granted QoS 1",
        2 => c"Granted QoS 2",
        4 => c"Disconnect with Will Message",
        16 => c"No matching subscribers",
        17 => c"No subscription existed",
        24 => c"Continue authentication",
        25 => c"Re-authenticate",
        128 => c"Unspecified error",
        129 => c"Malformed Packet",
        130 => c"Protocol Error",
        131 => c"Implementation specific error",
        132 => c"Unsupported Protocol Version",
        133 => c"Client Identifier not valid",
        134 => c"Bad User Name or Password",
        135 => c"Not authorized",
        136 => c"Server unavailable",
        137 => c"Server busy",
        138 => c"Banned",
        139 => c"Server shutting down",
        140 => c"Bad authentication method",
        141 => c"Keep Alive timeout",
        142 => c"Session taken over",
        143 => c"Topic Filter invalid",
        144 => c"Topic Name invalid",
        145 => c"Packet Identifier in use",
        146 => c"Packet Identifier not found",
        147 => c"Receive Maximum exceeded",
        148 => c"Topic Alias invalid",
        149 => c"Packet too large",
        150 => c"Message rate too high",
        151 => c"Quota exceeded",
        152 => c"Administrative action",
        153 => c"Payload format invalid",
        154 => c"Retain not supported",
        155 => c"QoS not supported",
        156 => c"Use another server",
        157 => c"Server moved",
        158 => c"Shared Subscriptions not supported",
        159 => c"Connection rate exceeded",
        160 => c"Maximum connect time",
        161 => c"Subscription identifiers not supported",
        162 => c"Wildcard Subscriptions not supported",
        _ => c"Unknown reason",
    }
}

/// Turns a packet name into its `CMD_*` value, ignoring case: "connect",
/// "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp", "subscribe",
/// "unsubscribe", "disconnect", "auth", and "will" for `CMD_WILL`. (libmosquitto
/// knows no names for SUBACK, UNSUBACK, PINGREQ and PINGRESP, nor do we.)
///
/// `str` and `cmd` must not be NULL. On success writes `*cmd` and returns
/// `MOSQ_ERR_SUCCESS`; an unknown name returns `MOSQ_ERR_INVAL` and leaves
/// `*cmd` alone.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_string_to_command(str: *const c_char, cmd: *mut c_int) -> c_int {
    guard(|| {
        if str.is_null() || cmd.is_null() {
            return Error::Inval.code();
        }
        // SAFETY: `str` is a non-NULL, NUL-terminated string from the caller.
        let name = unsafe { CStr::from_ptr(str) }.to_bytes();
        let Some(value) = command_named(name) else {
            return Error::Inval.code();
        };
        // SAFETY: `cmd` is non-NULL and points to an int the caller owns.
        unsafe { *cmd = value };
        SUCCESS
    })
}

fn command_named(name: &[u8]) -> Option<c_int> {
    const NAMES: [(&[u8], c_int); 12] = [
        (b"connect", command::CONNECT),
        (b"connack", command::CONNACK),
        (b"publish", command::PUBLISH),
        (b"puback", command::PUBACK),
        (b"pubrec", command::PUBREC),
        (b"pubrel", command::PUBREL),
        (b"pubcomp", command::PUBCOMP),
        (b"subscribe", command::SUBSCRIBE),
        (b"unsubscribe", command::UNSUBSCRIBE),
        (b"disconnect", command::DISCONNECT),
        (b"auth", command::AUTH),
        (b"will", command::WILL),
    ];
    NAMES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|&(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_text() {
        for code in -10..300 {
            assert!(!error_text(code).to_bytes().is_empty());
        }
        assert_eq!(
            error_text(Error::Inval.code()),
            c"Invalid function arguments provided."
        );
    }

    #[test]
    fn command_names_ignore_case() {
        assert_eq!(command_named(b"PubLish"), Some(0x30));
        assert_eq!(command_named(b"will"), Some(0x100));
        assert_eq!(command_named(b"suback"), None);
        assert_eq!(command_named(b""), None);
    }

    #[test]
    fn reason_codes_have_their_mqtt_names() {
        assert_eq!(reason_text(0x87), c"Not authorized");
        assert_eq!(reason_text(3), c"Unknown reason");
    }
}
