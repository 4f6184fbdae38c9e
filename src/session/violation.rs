//! A protocol violation by the broker: the error the C API reports, and for MQTT 5
//! the reason code of the DISCONNECT we send before closing.

use crate::error::Error;

pub const MALFORMED_PACKET: u8 = 0x81;
pub const PROTOCOL_ERROR: u8 = 0x82;
pub const RECEIVE_MAXIMUM_EXCEEDED: u8 = 0x93;
pub const TOPIC_ALIAS_INVALID: u8 = 0x94;
pub const PACKET_TOO_LARGE: u8 = 0x95;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation {
    pub error: Error,
    /// `None` when no DISCONNECT should be sent, e.g. after a refused CONNACK,
    /// where the broker closes the connection itself.
    pub disconnect_reason: Option<u8>,
}

impl Violation {
    pub fn protocol() -> Self {
        Violation {
            error: Error::Protocol,
            disconnect_reason: Some(PROTOCOL_ERROR),
        }
    }

    pub fn malformed() -> Self {
        Violation {
            error: Error::MalformedPacket,
            disconnect_reason: Some(MALFORMED_PACKET),
        }
    }

    pub fn receive_maximum_exceeded() -> Self {
        Violation {
            error: Error::Protocol,
            disconnect_reason: Some(RECEIVE_MAXIMUM_EXCEEDED),
        }
    }

    pub fn topic_alias_invalid() -> Self {
        Violation {
            error: Error::TopicAliasInvalid,
            disconnect_reason: Some(TOPIC_ALIAS_INVALID),
        }
    }

    /// The connection ends without a DISCONNECT from us.
    pub fn silent(error: Error) -> Self {
        Violation {
            error,
            disconnect_reason: None,
        }
    }
}

/// The MQTT 5 DISCONNECT reason for an error found in what the broker sent, e.g.
/// by the decoder; `None` for errors that are not the broker's fault.
pub fn disconnect_reason_for(error: Error) -> Option<u8> {
    match error {
        Error::MalformedPacket | Error::MalformedUtf8 => Some(MALFORMED_PACKET),
        Error::Protocol | Error::DuplicateProperty => Some(PROTOCOL_ERROR),
        Error::TopicAliasInvalid => Some(TOPIC_ALIAS_INVALID),
        Error::OversizePacket => Some(PACKET_TOO_LARGE),
        _ => None,
    }
}

/// The `MOSQ_ERR_*` the application sees when the connection ends with `error`.
///
/// Inside the library a malformed packet and an invalid topic alias keep their own
/// errors, which choose the MQTT 5 DISCONNECT reason (0x81, 0x94); libmosquitto
/// reports both to the program as `MOSQ_ERR_PROTOCOL`, and so do we. Every other
/// error is reported as it is.
pub fn reported_error(error: Error) -> Error {
    match error {
        Error::MalformedPacket | Error::TopicAliasInvalid => Error::Protocol,
        other => other,
    }
}

/// What the broker did, in a few words for the log, when `reported_error` hides it.
pub fn violation_text(error: Error) -> Option<&'static str> {
    match error {
        Error::MalformedPacket => Some("a malformed packet"),
        Error::TopicAliasInvalid => Some("an invalid topic alias"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_application_sees_libmosquittos_codes() {
        assert_eq!(reported_error(Error::MalformedPacket), Error::Protocol);
        assert_eq!(reported_error(Error::TopicAliasInvalid), Error::Protocol);
        for kept in [
            Error::Protocol,
            Error::MalformedUtf8,
            Error::DuplicateProperty,
            Error::OversizePacket,
            Error::Keepalive,
            Error::ConnLost,
        ] {
            assert_eq!(reported_error(kept), kept);
            assert_eq!(violation_text(kept), None);
        }
    }

    #[test]
    fn the_disconnect_reason_keeps_the_precise_error() {
        assert_eq!(disconnect_reason_for(Error::MalformedPacket), Some(0x81));
        assert_eq!(disconnect_reason_for(Error::TopicAliasInvalid), Some(0x94));
    }

    #[test]
    fn decoder_errors_map_to_disconnect_reasons() {
        assert_eq!(disconnect_reason_for(Error::MalformedPacket), Some(0x81));
        assert_eq!(disconnect_reason_for(Error::DuplicateProperty), Some(0x82));
        assert_eq!(disconnect_reason_for(Error::OversizePacket), Some(0x95));
        assert_eq!(disconnect_reason_for(Error::Errno(libc::EIO)), None);
    }
}
