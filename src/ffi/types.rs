//! The C types of mosquitto.h: the public structs and the opaque handles.

use std::os::raw::{c_char, c_int, c_void};

/// The client handle. Opaque to C: create it with `mosquitto_new` and release it
/// with `mosquitto_destroy`.
///
/// A `Box` allocation whose address C holds; the client inside is shared with
/// the `loop_start` thread, which keeps its own reference while it runs.
pub struct mosquitto {
    pub(crate) client: std::sync::Arc<crate::client::Client>,
}

/// One node of an MQTT 5 property list. Opaque to C: build lists with the
/// `mosquitto_property_add_*` functions and free them with `mosquitto_property_free_all`.
///
/// Each node is a `Box` owned by the list it is in; `next` is NULL at the end.
/// Only `ffi::property` makes, walks and frees these nodes.
//
// (The doc above is printed in mosquitto.h, which must not change; the nodes are
// in fact `ffi::property_node::PropertyNode`s from the C allocator, with
// libmosquitto's private layout. This type only names them for C.)
pub struct mqtt5__property {
    _opaque: [u8; 0],
}

/// The name C code uses for a property list node.
pub type mosquitto_property = mqtt5__property;

/// How an `enum mosq_opt_t` argument arrives: as its `int` value. It is never read
/// as a Rust enum, so an unknown option from C is an error code, not undefined
/// behaviour. cbindgen prints it as `enum mosq_opt_t` (see cbindgen.toml).
pub type mosq_opt_arg = c_int;

/// A message as the message callbacks see it, and as `mosquitto_subscribe_simple`
/// returns it.
#[repr(C)]
pub struct mosquitto_message {
    /// The packet identifier (0 for QoS 0).
    pub mid: c_int,
    /// The topic, NUL-terminated.
    pub topic: *mut c_char,
    /// The payload; one byte past `payloadlen` is always a NUL, so text payloads
    /// can be read as C strings.
    pub payload: *mut c_void,
    /// The payload's length in bytes.
    pub payloadlen: c_int,
    /// The QoS the message was delivered with.
    pub qos: c_int,
    /// Whether the broker delivered it from its retained store.
    pub retain: bool,
}

/// A will, for `mosquitto_subscribe_simple` and `mosquitto_subscribe_callback`.
#[repr(C)]
pub struct libmosquitto_will {
    pub topic: *mut c_char,
    pub payload: *mut c_void,
    pub payloadlen: c_int,
    pub qos: c_int,
    pub retain: bool,
}

/// Credentials, for the helper functions.
#[repr(C)]
pub struct libmosquitto_auth {
    pub username: *mut c_char,
    pub password: *mut c_char,
}

/// TLS settings, for the helper functions; the fields mean what the arguments of
/// `mosquitto_tls_set` and `mosquitto_tls_opts_set` mean.
#[repr(C)]
pub struct libmosquitto_tls {
    pub cafile: *mut c_char,
    pub capath: *mut c_char,
    pub certfile: *mut c_char,
    pub keyfile: *mut c_char,
    pub ciphers: *mut c_char,
    pub tls_version: *mut c_char,
    pub pw_callback: Option<
        unsafe extern "C-unwind" fn(
            buf: *mut c_char,
            size: c_int,
            rwflag: c_int,
            userdata: *mut c_void,
        ) -> c_int,
    >,
    pub cert_reqs: c_int,
}
