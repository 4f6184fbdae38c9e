//! What the client chose before connecting: the values that go into CONNECT and
//! the limits we impose on ourselves.
//!
//! The client owns these settings; the session is lent them at each connect
//! (`Session::connect_packet`) and keeps only the few numbers it consults between
//! packets (`Settings`), so a client holds one copy of its id, credentials and will.

use crate::protocol::packet::{ProtocolVersion, Will};
use crate::protocol::property::Property;

use super::properties::{self as ids, int16, int32};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config<'a> {
    pub protocol: ProtocolVersion,
    /// `None` sends an empty identifier so that an MQTT 5 broker assigns one.
    pub client_id: Option<&'a str>,
    /// Clean session (3.1, 3.1.1) or Clean Start (5).
    pub clean_start: bool,
    /// Seconds; 0 turns keepalive off.
    pub keepalive: u16,
    pub username: Option<&'a str>,
    pub password: Option<&'a [u8]>,
    pub will: Option<&'a Will>,
    /// `MOSQ_OPT_SEND_MAXIMUM` / `max_inflight_messages`: QoS 1 and 2 messages we
    /// allow in flight at once. 0 means no limit of our own (the broker's Receive
    /// Maximum still applies).
    pub send_maximum: u16,
    /// `MOSQ_OPT_RECEIVE_MAXIMUM`: incoming QoS 1 and 2 messages the broker may have
    /// in flight towards us (MQTT 5 only). A Receive Maximum property in
    /// `connect_properties` takes precedence.
    pub receive_maximum: u16,
    /// MQTT 5 properties the application gave for CONNECT (session expiry, maximum
    /// packet size, topic alias maximum, user properties, ...). Ignored before MQTT 5.
    pub connect_properties: &'a [Property],
}

impl Default for Config<'_> {
    /// libmosquitto's defaults: MQTT 3.1.1, clean session, 60 s keepalive and 20
    /// messages in flight each way.
    fn default() -> Self {
        Config {
            protocol: ProtocolVersion::V311,
            client_id: None,
            clean_start: true,
            keepalive: 60,
            username: None,
            password: None,
            will: None,
            send_maximum: 20,
            receive_maximum: 20,
            connect_properties: &[],
        }
    }
}

/// The part of a `Config` the session keeps from one connect to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Settings {
    pub protocol: ProtocolVersion,
    pub keepalive: u16,
    pub send_maximum: u16,
    /// Our Receive Maximum, as announced in CONNECT.
    pub receive_maximum: u16,
    /// The largest packet we told an MQTT 5 broker we accept.
    pub packet_limit: Option<u32>,
}

impl Settings {
    pub fn of(config: &Config) -> Settings {
        let v5 = config.protocol.is_v5();
        let properties = config.connect_properties;
        Settings {
            protocol: config.protocol,
            keepalive: config.keepalive,
            send_maximum: config.send_maximum,
            receive_maximum: int16(properties, ids::RECEIVE_MAXIMUM)
                .ok()
                .flatten()
                .unwrap_or(config.receive_maximum),
            packet_limit: if v5 {
                int32(properties, ids::MAXIMUM_PACKET_SIZE).ok().flatten()
            } else {
                None
            },
        }
    }
}
