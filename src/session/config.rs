//! What the client chose before connecting: the values that go into CONNECT and
//! the limits we impose on ourselves.

use crate::protocol::packet::{ProtocolVersion, Will};
use crate::protocol::property::Properties;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub protocol: ProtocolVersion,
    /// `None` sends an empty identifier so that an MQTT 5 broker assigns one.
    pub client_id: Option<String>,
    /// Clean session (3.1, 3.1.1) or Clean Start (5).
    pub clean_start: bool,
    /// Seconds; 0 turns keepalive off.
    pub keepalive: u16,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
    /// Boxed: most clients set no will.
    pub will: Option<Box<Will>>,
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
    pub connect_properties: Properties,
}

impl Default for Config {
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
            connect_properties: Vec::new(),
        }
    }
}
