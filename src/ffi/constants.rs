//! The constants and enums of mosquitto.h. Their names and values are libmosquitto
//! 2.0's, so C code compiled against either header means the same thing.
//! They exist for the header; Rust code uses `crate::error::Error` and friends.
#![allow(dead_code)]

use std::os::raw::c_int;

/// The libmosquitto API version this library implements.
pub const LIBMOSQUITTO_MAJOR: c_int = 2;
pub const LIBMOSQUITTO_MINOR: c_int = 0;
pub const LIBMOSQUITTO_REVISION: c_int = 20;
/// `major * 1000000 + minor * 1000 + revision`, for compile-time comparisons.
pub const LIBMOSQUITTO_VERSION_NUMBER: c_int =
    LIBMOSQUITTO_MAJOR * 1000000 + LIBMOSQUITTO_MINOR * 1000 + LIBMOSQUITTO_REVISION;

/// Log levels handed to the log callback (a bit mask, so they can be filtered).
pub const MOSQ_LOG_NONE: c_int = 0;
pub const MOSQ_LOG_INFO: c_int = 1 << 0;
pub const MOSQ_LOG_NOTICE: c_int = 1 << 1;
pub const MOSQ_LOG_WARNING: c_int = 1 << 2;
pub const MOSQ_LOG_ERR: c_int = 1 << 3;
pub const MOSQ_LOG_DEBUG: c_int = 1 << 4;
pub const MOSQ_LOG_SUBSCRIBE: c_int = 1 << 5;
pub const MOSQ_LOG_UNSUBSCRIBE: c_int = 1 << 6;
pub const MOSQ_LOG_WEBSOCKETS: c_int = 1 << 7;
pub const MOSQ_LOG_INTERNAL: u32 = 0x80000000;
pub const MOSQ_LOG_ALL: u32 = 0xFFFFFFFF;

/// The longest client identifier MQTT 3.1 brokers must accept.
pub const MOSQ_MQTT_ID_MAX_LENGTH: c_int = 23;

/// Values for `MOSQ_OPT_PROTOCOL_VERSION`.
pub const MQTT_PROTOCOL_V31: c_int = 3;
pub const MQTT_PROTOCOL_V311: c_int = 4;
pub const MQTT_PROTOCOL_V5: c_int = 5;

/// Return values of the API. Zero is success; negative values are not errors but
/// statuses some calls report.
#[repr(C)]
pub enum mosq_err_t {
    MOSQ_ERR_AUTH_CONTINUE = -4,
    MOSQ_ERR_NO_SUBSCRIBERS = -3,
    MOSQ_ERR_SUB_EXISTS = -2,
    MOSQ_ERR_CONN_PENDING = -1,
    MOSQ_ERR_SUCCESS = 0,
    MOSQ_ERR_NOMEM = 1,
    MOSQ_ERR_PROTOCOL = 2,
    MOSQ_ERR_INVAL = 3,
    MOSQ_ERR_NO_CONN = 4,
    MOSQ_ERR_CONN_REFUSED = 5,
    MOSQ_ERR_NOT_FOUND = 6,
    MOSQ_ERR_CONN_LOST = 7,
    MOSQ_ERR_TLS = 8,
    MOSQ_ERR_PAYLOAD_SIZE = 9,
    MOSQ_ERR_NOT_SUPPORTED = 10,
    MOSQ_ERR_AUTH = 11,
    MOSQ_ERR_ACL_DENIED = 12,
    MOSQ_ERR_UNKNOWN = 13,
    /// A system call failed: read `errno` (or `mosquitto_strerror`) for why.
    MOSQ_ERR_ERRNO = 14,
    /// Name resolution failed.
    MOSQ_ERR_EAI = 15,
    MOSQ_ERR_PROXY = 16,
    MOSQ_ERR_PLUGIN_DEFER = 17,
    MOSQ_ERR_MALFORMED_UTF8 = 18,
    MOSQ_ERR_KEEPALIVE = 19,
    MOSQ_ERR_LOOKUP = 20,
    MOSQ_ERR_MALFORMED_PACKET = 21,
    MOSQ_ERR_DUPLICATE_PROPERTY = 22,
    MOSQ_ERR_TLS_HANDSHAKE = 23,
    MOSQ_ERR_QOS_NOT_SUPPORTED = 24,
    MOSQ_ERR_OVERSIZE_PACKET = 25,
    MOSQ_ERR_OCSP = 26,
    MOSQ_ERR_TIMEOUT = 27,
    MOSQ_ERR_RETAIN_NOT_SUPPORTED = 28,
    MOSQ_ERR_TOPIC_ALIAS_INVALID = 29,
    MOSQ_ERR_ADMINISTRATIVE_ACTION = 30,
    MOSQ_ERR_ALREADY_EXISTS = 31,
}

/// Options for `mosquitto_opts_set`, `mosquitto_int_option`,
/// `mosquitto_string_option` and `mosquitto_void_option`.
#[repr(C)]
pub enum mosq_opt_t {
    /// int: `MQTT_PROTOCOL_V31`, `MQTT_PROTOCOL_V311` (the default) or `MQTT_PROTOCOL_V5`.
    MOSQ_OPT_PROTOCOL_VERSION = 1,
    /// void*: an OpenSSL `SSL_CTX`. Not supported: TLS here is rustls.
    MOSQ_OPT_SSL_CTX = 2,
    /// int: not supported, as above.
    MOSQ_OPT_SSL_CTX_WITH_DEFAULTS = 3,
    /// int: the Receive Maximum sent in CONNECT (MQTT 5).
    MOSQ_OPT_RECEIVE_MAXIMUM = 4,
    /// int: how many QoS 1 and 2 messages may be in flight at once.
    MOSQ_OPT_SEND_MAXIMUM = 5,
    /// string: "pem" or "engine" for the key file's form.
    MOSQ_OPT_TLS_KEYFORM = 6,
    /// string: an OpenSSL engine. Not supported.
    MOSQ_OPT_TLS_ENGINE = 7,
    /// string: an OpenSSL engine key password hash. Not supported.
    MOSQ_OPT_TLS_ENGINE_KPASS_SHA1 = 8,
    /// int: require a stapled OCSP response from the broker.
    MOSQ_OPT_TLS_OCSP_REQUIRED = 9,
    /// string: the ALPN protocol to offer.
    MOSQ_OPT_TLS_ALPN = 10,
    /// int: 1 to disable Nagle's algorithm on the socket.
    MOSQ_OPT_TCP_NODELAY = 11,
    /// string: the local address to bind before connecting.
    MOSQ_OPT_BIND_ADDRESS = 12,
    /// int: 1 to trust the operating system's certificate store.
    MOSQ_OPT_TLS_USE_OS_CERTS = 13,
    /// int (new in libmosquitto 2.1): 1 asks for no wake-up descriptor. Accepted
    /// and kept; this library still makes its one eventfd, so another thread's
    /// publish or disconnect still ends a wait in `mosquitto_loop` early.
    MOSQ_OPT_DISABLE_SOCKETPAIR = 14,
    /// int (new in libmosquitto 2.1): an `enum mosq_transport_t`, `MOSQ_T_TCP`
    /// (the default) or `MOSQ_T_WEBSOCKETS`.
    MOSQ_OPT_TRANSPORT = 15,
    /// string (new in libmosquitto 2.1): the path of the WebSocket upgrade
    /// request; the default is "/mqtt".
    MOSQ_OPT_HTTP_PATH = 16,
    /// int (new in libmosquitto 2.1): the most bytes the server's answer to the
    /// WebSocket upgrade may take; the default is 4096, the least 100.
    MOSQ_OPT_HTTP_HEADER_SIZE = 17,
}

/// Values for `MOSQ_OPT_TRANSPORT` (new in libmosquitto 2.1).
#[repr(C)]
pub enum mosq_transport_t {
    /// MQTT straight over TCP (or TLS).
    MOSQ_T_TCP = 1,
    /// MQTT in binary WebSocket frames (RFC 6455), over TCP or TLS.
    MOSQ_T_WEBSOCKETS = 2,
}
