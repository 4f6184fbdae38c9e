//! The definitions of mqtt_protocol.h: packet types, reason codes and property
//! identifiers of MQTT 3.1, 3.1.1 and 5, with libmosquitto 2.0's names and values.
//! cbindgen reads this file alone to write include/mqtt_protocol.h.
#![allow(dead_code, non_camel_case_types, non_upper_case_globals)]

use std::os::raw::{c_int, c_uint};

/// The protocol name and level in an MQTT 3.1 CONNECT. cbindgen cannot print
/// string constants, so cbindgen-protocol.toml writes the two names, and a test
/// checks that the header agrees with these.
pub const PROTOCOL_NAME_v31: &str = "MQIsdp";
pub const PROTOCOL_VERSION_v31: c_uint = 3;

/// The protocol name in MQTT 3.1.1 and 5 CONNECTs, and their levels.
pub const PROTOCOL_NAME: &str = "MQTT";
pub const PROTOCOL_VERSION_v311: c_uint = 4;
pub const PROTOCOL_VERSION_v5: c_uint = 5;

/// The packet type, as the high nibble of the fixed header's first byte.
pub const CMD_CONNECT: c_uint = 0x10;
pub const CMD_CONNACK: c_uint = 0x20;
pub const CMD_PUBLISH: c_uint = 0x30;
pub const CMD_PUBACK: c_uint = 0x40;
pub const CMD_PUBREC: c_uint = 0x50;
pub const CMD_PUBREL: c_uint = 0x60;
pub const CMD_PUBCOMP: c_uint = 0x70;
pub const CMD_SUBSCRIBE: c_uint = 0x80;
pub const CMD_SUBACK: c_uint = 0x90;
pub const CMD_UNSUBSCRIBE: c_uint = 0xA0;
pub const CMD_UNSUBACK: c_uint = 0xB0;
pub const CMD_PINGREQ: c_uint = 0xC0;
pub const CMD_PINGRESP: c_uint = 0xD0;
pub const CMD_DISCONNECT: c_uint = 0xE0;
pub const CMD_AUTH: c_uint = 0xF0;
/// Not a packet: names the will's property set in the property checks.
pub const CMD_WILL: i32 = 0x100;

/// The largest payload MQTT can carry (the largest remaining length).
pub const MQTT_MAX_PAYLOAD: c_uint = 268435455;

/// CONNACK return codes of MQTT 3.1 and 3.1.1.
#[repr(C)]
pub enum mqtt311_connack_codes {
    CONNACK_ACCEPTED = 0,
    CONNACK_REFUSED_PROTOCOL_VERSION = 1,
    CONNACK_REFUSED_IDENTIFIER_REJECTED = 2,
    CONNACK_REFUSED_SERVER_UNAVAILABLE = 3,
    CONNACK_REFUSED_BAD_USERNAME_PASSWORD = 4,
    CONNACK_REFUSED_NOT_AUTHORIZED = 5,
}

/// Reason codes of MQTT 5. Three names share the value 0; a Rust enum cannot
/// repeat a value, so `MQTT_RC_NORMAL_DISCONNECTION` and `MQTT_RC_GRANTED_QOS0`
/// are the constants below it, with the same value as `MQTT_RC_SUCCESS`.
#[repr(C)]
pub enum mqtt5_return_codes {
    MQTT_RC_SUCCESS = 0,
    MQTT_RC_GRANTED_QOS1 = 1,
    MQTT_RC_GRANTED_QOS2 = 2,
    MQTT_RC_DISCONNECT_WITH_WILL_MSG = 4,
    MQTT_RC_NO_MATCHING_SUBSCRIBERS = 16,
    MQTT_RC_NO_SUBSCRIPTION_EXISTED = 17,
    MQTT_RC_CONTINUE_AUTHENTICATION = 24,
    MQTT_RC_REAUTHENTICATE = 25,
    MQTT_RC_UNSPECIFIED = 128,
    MQTT_RC_MALFORMED_PACKET = 129,
    MQTT_RC_PROTOCOL_ERROR = 130,
    MQTT_RC_IMPLEMENTATION_SPECIFIC = 131,
    MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION = 132,
    MQTT_RC_CLIENTID_NOT_VALID = 133,
    MQTT_RC_BAD_USERNAME_OR_PASSWORD = 134,
    MQTT_RC_NOT_AUTHORIZED = 135,
    MQTT_RC_SERVER_UNAVAILABLE = 136,
    MQTT_RC_SERVER_BUSY = 137,
    MQTT_RC_BANNED = 138,
    MQTT_RC_SERVER_SHUTTING_DOWN = 139,
    MQTT_RC_BAD_AUTHENTICATION_METHOD = 140,
    MQTT_RC_KEEP_ALIVE_TIMEOUT = 141,
    MQTT_RC_SESSION_TAKEN_OVER = 142,
    MQTT_RC_TOPIC_FILTER_INVALID = 143,
    MQTT_RC_TOPIC_NAME_INVALID = 144,
    MQTT_RC_PACKET_ID_IN_USE = 145,
    MQTT_RC_PACKET_ID_NOT_FOUND = 146,
    MQTT_RC_RECEIVE_MAXIMUM_EXCEEDED = 147,
    MQTT_RC_TOPIC_ALIAS_INVALID = 148,
    MQTT_RC_PACKET_TOO_LARGE = 149,
    MQTT_RC_MESSAGE_RATE_TOO_HIGH = 150,
    MQTT_RC_QUOTA_EXCEEDED = 151,
    MQTT_RC_ADMINISTRATIVE_ACTION = 152,
    MQTT_RC_PAYLOAD_FORMAT_INVALID = 153,
    MQTT_RC_RETAIN_NOT_SUPPORTED = 154,
    MQTT_RC_QOS_NOT_SUPPORTED = 155,
    MQTT_RC_USE_ANOTHER_SERVER = 156,
    MQTT_RC_SERVER_MOVED = 157,
    MQTT_RC_SHARED_SUBS_NOT_SUPPORTED = 158,
    MQTT_RC_CONNECTION_RATE_EXCEEDED = 159,
    MQTT_RC_MAXIMUM_CONNECT_TIME = 160,
    MQTT_RC_SUBSCRIPTION_IDS_NOT_SUPPORTED = 161,
    MQTT_RC_WILDCARD_SUBS_NOT_SUPPORTED = 162,
}

/// The reason code of a DISCONNECT that ends a connection normally.
pub const MQTT_RC_NORMAL_DISCONNECTION: c_int = 0;
/// The SUBACK reason code that grants QoS 0.
pub const MQTT_RC_GRANTED_QOS0: c_int = 0;

/// MQTT 5 property identifiers.
#[repr(C)]
pub enum mqtt5_property {
    MQTT_PROP_PAYLOAD_FORMAT_INDICATOR = 1,
    MQTT_PROP_MESSAGE_EXPIRY_INTERVAL = 2,
    MQTT_PROP_CONTENT_TYPE = 3,
    MQTT_PROP_RESPONSE_TOPIC = 8,
    MQTT_PROP_CORRELATION_DATA = 9,
    MQTT_PROP_SUBSCRIPTION_IDENTIFIER = 11,
    MQTT_PROP_SESSION_EXPIRY_INTERVAL = 17,
    MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER = 18,
    MQTT_PROP_SERVER_KEEP_ALIVE = 19,
    MQTT_PROP_AUTHENTICATION_METHOD = 21,
    MQTT_PROP_AUTHENTICATION_DATA = 22,
    MQTT_PROP_REQUEST_PROBLEM_INFORMATION = 23,
    MQTT_PROP_WILL_DELAY_INTERVAL = 24,
    MQTT_PROP_REQUEST_RESPONSE_INFORMATION = 25,
    MQTT_PROP_RESPONSE_INFORMATION = 26,
    MQTT_PROP_SERVER_REFERENCE = 28,
    MQTT_PROP_REASON_STRING = 31,
    MQTT_PROP_RECEIVE_MAXIMUM = 33,
    MQTT_PROP_TOPIC_ALIAS_MAXIMUM = 34,
    MQTT_PROP_TOPIC_ALIAS = 35,
    MQTT_PROP_MAXIMUM_QOS = 36,
    MQTT_PROP_RETAIN_AVAILABLE = 37,
    MQTT_PROP_USER_PROPERTY = 38,
    MQTT_PROP_MAXIMUM_PACKET_SIZE = 39,
    MQTT_PROP_WILDCARD_SUB_AVAILABLE = 40,
    MQTT_PROP_SUBSCRIPTION_ID_AVAILABLE = 41,
    MQTT_PROP_SHARED_SUB_AVAILABLE = 42,
}

/// How a property's value is encoded.
#[repr(C)]
pub enum mqtt5_property_type {
    MQTT_PROP_TYPE_BYTE = 1,
    MQTT_PROP_TYPE_INT16 = 2,
    MQTT_PROP_TYPE_INT32 = 3,
    MQTT_PROP_TYPE_VARINT = 4,
    MQTT_PROP_TYPE_BINARY = 5,
    MQTT_PROP_TYPE_STRING = 6,
    MQTT_PROP_TYPE_STRING_PAIR = 7,
}

/// Subscription option bits for `mosquitto_subscribe_v5` and friends, to be OR-ed
/// with the QoS.
#[repr(C)]
pub enum mqtt5_sub_options {
    MQTT_SUB_OPT_NO_LOCAL = 0x04,
    MQTT_SUB_OPT_RETAIN_AS_PUBLISHED = 0x08,
    MQTT_SUB_OPT_SEND_RETAIN_ALWAYS = 0x00,
    MQTT_SUB_OPT_SEND_RETAIN_NEW = 0x10,
    MQTT_SUB_OPT_SEND_RETAIN_NEVER = 0x20,
}
