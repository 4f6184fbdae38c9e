//! Everything a program configures on a client before (or between) connections,
//! with the checks libmosquitto applies when each setting is made.

use crate::error::{Error, Result};
use crate::net::socks5::Socks5Proxy;
use crate::net::tls_settings::{TlsSettings, NO_TLS};
use crate::net::websocket_handshake::Upgrade;
use crate::protocol::packet::{ProtocolVersion, Will};
use crate::protocol::property::{self, Properties, Property};
use crate::protocol::{topic, utf8};
use crate::session::Config;

/// `CMD_WILL`: the pseudo-command property checks use for will properties.
const CMD_WILL: i32 = 0x100;
/// The longest MQTT string.
const MAX_STRING: usize = 65_535;

/// How long to wait before reconnecting after a lost connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectDelay {
    /// Seconds before the first attempt (at least 1).
    pub delay: u32,
    /// Seconds the delay may grow to.
    pub max: u32,
    /// Double the delay after each failure (otherwise it grows by `delay`).
    pub exponential: bool,
}

/// The WebSocket transport's settings (libmosquitto 2.1's `MOSQ_OPT_TRANSPORT`,
/// `MOSQ_OPT_HTTP_PATH` and `MOSQ_OPT_HTTP_HEADER_SIZE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketSettings {
    /// `MOSQ_T_WEBSOCKETS` rather than `MOSQ_T_TCP`.
    pub enabled: bool,
    /// The upgrade request's path; `None` is `DEFAULT_HTTP_PATH`.
    pub path: Option<Box<str>>,
    /// The most bytes the server's upgrade answer may take.
    pub header_size: usize,
}

/// The upgrade path when none is set, as in libmosquitto.
pub const DEFAULT_HTTP_PATH: &str = "/mqtt";
/// The smallest `MOSQ_OPT_HTTP_HEADER_SIZE` accepted.
pub const MIN_HTTP_HEADER_SIZE: usize = 100;

/// The settings of a client that sets no WebSocket option.
static PLAIN_TCP: WebSocketSettings = WebSocketSettings {
    enabled: false,
    path: None,
    header_size: 4096,
};

impl RareDefault for WebSocketSettings {
    fn default_ref() -> &'static Self {
        &PLAIN_TCP
    }
}

impl WebSocketSettings {
    /// `MOSQ_T_TCP` (1) or `MOSQ_T_WEBSOCKETS` (2); anything else is `Inval`.
    pub fn set_transport(&mut self, transport: i32) -> Result<()> {
        self.enabled = match transport {
            1 => false,
            2 => true,
            _ => return Err(Error::Inval),
        };
        Ok(())
    }

    /// A path goes into the request line as it is: one with spaces or line
    /// breaks would break it, so those are `Inval`.
    pub fn set_path(&mut self, path: Option<String>) -> Result<()> {
        let path = path.ok_or(Error::Inval)?;
        if path.is_empty()
            || path
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(Error::Inval);
        }
        self.path = Some(path.into());
        Ok(())
    }

    /// At least `MIN_HTTP_HEADER_SIZE` bytes.
    pub fn set_header_size(&mut self, size: i32) -> Result<()> {
        self.header_size = usize::try_from(size)
            .ok()
            .filter(|s| *s >= MIN_HTTP_HEADER_SIZE)
            .ok_or(Error::Inval)?;
        Ok(())
    }
}

/// Settings few clients make, kept out of line: no memory until first changed
/// (through `DerefMut`), reading as their defaults until then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rare<T: RareDefault>(Option<Box<T>>);

/// The value a `Rare` reads as before it is changed.
pub trait RareDefault: Clone + 'static {
    fn default_ref() -> &'static Self;
}

impl RareDefault for TlsSettings {
    fn default_ref() -> &'static Self {
        &NO_TLS
    }
}

impl<T: RareDefault> Rare<T> {
    /// The defaults, holding no memory.
    pub const fn new() -> Self {
        Rare(None)
    }

    /// Whether the settings were changed (and so hold memory).
    pub fn is_changed(&self) -> bool {
        self.0.is_some()
    }
}

impl<T: RareDefault> Default for Rare<T> {
    fn default() -> Self {
        Rare::new()
    }
}

impl<T: RareDefault> std::ops::Deref for Rare<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(value) => value,
            None => T::default_ref(),
        }
    }
}

impl<T: RareDefault> std::ops::DerefMut for Rare<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0
            .get_or_insert_with(|| Box::new(T::default_ref().clone()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `None`: send an empty client id and let the broker assign one (MQTT 3.1.1
    /// and 5; an MQTT 3.1 connect without an id fails with `Error::Protocol`).
    /// The strings are boxed slices, 16 bytes each inline where a `String` takes
    /// 24: they never grow.
    pub client_id: Option<Box<str>>,
    pub clean_session: bool,
    pub protocol: ProtocolVersion,
    /// Seconds; set by each connect call.
    pub keepalive: u16,
    pub username: Option<Box<str>>,
    pub password: Option<Box<[u8]>>,
    /// Boxed: most clients set no will.
    pub will: Option<Box<Will>>,
    pub reconnect: ReconnectDelay,
    /// How many outgoing QoS 1 and 2 messages may be unacknowledged at once.
    pub send_maximum: u16,
    /// The Receive Maximum announced to an MQTT 5 broker.
    pub receive_maximum: u16,
    pub tcp_nodelay: bool,
    pub bind_address: Option<Box<str>>,
    /// The program runs its own threads around this client (`mosquitto_threaded_set`).
    pub threaded: bool,
    /// Boxed: most clients use no proxy.
    pub socks5: Option<Box<Socks5Proxy>>,
    /// Boxed when first set: most clients use no TLS.
    pub tls: Rare<TlsSettings>,
    /// Boxed when first set: most clients use plain MQTT over TCP.
    pub websocket: Rare<WebSocketSettings>,
    /// `MOSQ_OPT_DISABLE_SOCKETPAIR`: kept, but the wake-up eventfd stays
    /// (one descriptor, not libmosquitto's pair).
    pub disable_socketpair: bool,
}

impl Options {
    /// The settings of a fresh client, as `mosquitto_new` makes them.
    ///
    /// Fails with `Inval` for a missing id on a persistent session or an empty id,
    /// and with `MalformedUtf8` for an id that is not valid MQTT UTF-8.
    pub fn new(client_id: Option<&[u8]>, clean_session: bool) -> Result<Options> {
        let client_id = match client_id {
            None if !clean_session => return Err(Error::Inval),
            None => None,
            Some([]) => return Err(Error::Inval),
            Some(id) => Some(mqtt_string(id)?.into()),
        };
        Ok(Options {
            client_id,
            clean_session,
            protocol: ProtocolVersion::V311,
            keepalive: 60,
            username: None,
            password: None,
            will: None,
            reconnect: ReconnectDelay {
                delay: 1,
                max: 1,
                exponential: false,
            },
            send_maximum: 20,
            receive_maximum: 20,
            tcp_nodelay: false,
            bind_address: None,
            threaded: false,
            socks5: None,
            tls: Rare::new(),
            websocket: Rare::new(),
            disable_socketpair: false,
        })
    }

    /// The CONNECT settings, lent to the session at each connect, with the
    /// keepalive and MQTT 5 properties of the connect call.
    pub fn connect_config<'a>(&'a self, keepalive: u16, properties: &'a [Property]) -> Config<'a> {
        Config {
            protocol: self.protocol,
            client_id: self.client_id.as_deref(),
            clean_start: self.clean_session,
            keepalive,
            username: self.username.as_deref(),
            password: self.password.as_deref(),
            will: self.will.as_deref(),
            send_maximum: self.send_maximum,
            receive_maximum: self.receive_maximum,
            connect_properties: properties,
        }
    }

    /// The WebSocket upgrade a connect makes, if the transport is WebSockets.
    pub fn upgrade(&self) -> Option<Upgrade> {
        self.websocket.enabled.then(|| self.upgrade_on(None))
    }

    /// The WebSocket upgrade on `path`, or without one on the
    /// `MOSQ_OPT_HTTP_PATH` setting (a `ws://` server of the list).
    pub fn upgrade_on(&self, path: Option<&str>) -> Upgrade {
        let ws = &*self.websocket;
        let path = path.or(ws.path.as_deref()).unwrap_or(DEFAULT_HTTP_PATH);
        Upgrade {
            path: path.to_owned(),
            header_size: ws.header_size,
            subprotocol: match self.protocol {
                ProtocolVersion::V31 => "mqttv3.1",
                _ => "mqtt",
            },
        }
    }

    /// Sets the will. The caller has checked the payload length (at most
    /// `MQTT_MAX_PAYLOAD` bytes).
    ///
    /// Errors: `Inval` for a QoS outside 0..=2 or a topic that is not a valid topic
    /// name; `MalformedUtf8` for a topic that is not MQTT UTF-8; `NotSupported`
    /// for properties on a protocol other than MQTT 5; the property check's error
    /// for properties a will may not carry. On error the old will stays.
    pub fn set_will(
        &mut self,
        topic: &[u8],
        payload: &[u8],
        qos: i32,
        retain: bool,
        properties: Properties,
    ) -> Result<()> {
        let qos = u8::try_from(qos)
            .ok()
            .filter(|q| *q <= 2)
            .ok_or(Error::Inval)?;
        topic::check_publish(topic)?;
        let topic = String::from_utf8(topic.to_vec()).map_err(|_| Error::MalformedUtf8)?;
        if !properties.is_empty() {
            if !self.protocol.is_v5() {
                return Err(Error::NotSupported);
            }
            property::check_all(CMD_WILL, &properties)?;
        }
        self.will = Some(Box::new(Will {
            topic,
            payload: payload.to_vec(),
            qos,
            retain,
            properties,
        }));
        Ok(())
    }

    pub fn clear_will(&mut self) {
        self.will = None;
    }

    /// Sets or clears the credentials. Both are cleared first, as libmosquitto
    /// does, so a rejected username leaves none set.
    ///
    /// Errors: `Inval` for a password without a username before MQTT 5 or a
    /// username longer than 65535 bytes; `MalformedUtf8` for a username that is
    /// not MQTT UTF-8.
    pub fn set_credentials(
        &mut self,
        username: Option<&[u8]>,
        password: Option<&[u8]>,
    ) -> Result<()> {
        if password.is_some() && username.is_none() && !self.protocol.is_v5() {
            return Err(Error::Inval);
        }
        self.username = None;
        self.password = None;
        if let Some(name) = username {
            if name.len() > MAX_STRING {
                return Err(Error::Inval);
            }
            self.username = Some(mqtt_string(name)?.into());
        }
        self.password = password.map(Box::from);
        Ok(())
    }

    /// A delay of 0 means 1 second, as in libmosquitto.
    pub fn set_reconnect_delay(&mut self, delay: u32, max: u32, exponential: bool) {
        self.reconnect = ReconnectDelay {
            delay: delay.max(1),
            max,
            exponential,
        };
    }

    /// `MQTT_PROTOCOL_V31`, `_V311` or `_V5` (3, 4, 5); anything else is `Inval`.
    pub fn set_protocol_level(&mut self, level: i32) -> Result<()> {
        let level = u8::try_from(level).map_err(|_| Error::Inval)?;
        self.protocol = ProtocolVersion::from_level(level).ok_or(Error::Inval)?;
        Ok(())
    }

    /// 1..=65535; 0 means "no limit" (65535); anything else is `Inval`.
    pub fn set_send_maximum(&mut self, value: i32) -> Result<()> {
        self.send_maximum = inflight_limit(value)?;
        Ok(())
    }

    /// As `set_send_maximum`, for the messages the broker sends us.
    pub fn set_receive_maximum(&mut self, value: i32) -> Result<()> {
        self.receive_maximum = inflight_limit(value)?;
        Ok(())
    }
}

fn inflight_limit(value: i32) -> Result<u16> {
    match u16::try_from(value) {
        Ok(0) => Ok(u16::MAX),
        Ok(v) => Ok(v),
        Err(_) => Err(Error::Inval),
    }
}

/// Bytes as an MQTT string: at most 65535 bytes of MQTT UTF-8 (`MalformedUtf8` otherwise).
fn mqtt_string(bytes: &[u8]) -> Result<String> {
    if bytes.len() > MAX_STRING {
        return Err(Error::MalformedUtf8);
    }
    utf8::check(bytes)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::MalformedUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options::new(Some(b"client"), true).unwrap()
    }

    #[test]
    fn a_new_client_has_libmosquittos_defaults() {
        let o = options();
        assert_eq!(o.client_id.as_deref(), Some("client"));
        assert_eq!(o.protocol, ProtocolVersion::V311);
        assert_eq!(o.keepalive, 60);
        assert_eq!((o.send_maximum, o.receive_maximum), (20, 20));
        assert_eq!(
            o.reconnect,
            ReconnectDelay {
                delay: 1,
                max: 1,
                exponential: false
            }
        );
        assert!(!o.tls.enabled());
        assert_eq!(o.upgrade(), None);
    }

    #[test]
    fn websockets_upgrade_to_mqtt_on_slash_mqtt_unless_told_otherwise() {
        let mut o = options();
        o.websocket.set_transport(2).unwrap();
        let upgrade = o.upgrade().unwrap();
        assert_eq!(
            (
                upgrade.path.as_str(),
                upgrade.header_size,
                upgrade.subprotocol
            ),
            ("/mqtt", 4096, "mqtt")
        );
        o.websocket.set_path(Some("/ws".into())).unwrap();
        o.websocket.set_header_size(100).unwrap();
        o.set_protocol_level(3).unwrap();
        let upgrade = o.upgrade().unwrap();
        assert_eq!(
            (
                upgrade.path.as_str(),
                upgrade.header_size,
                upgrade.subprotocol
            ),
            ("/ws", 100, "mqttv3.1")
        );
        o.websocket.set_transport(1).unwrap();
        assert_eq!(o.upgrade(), None);
    }

    #[test]
    fn an_unknown_transport_a_small_header_size_or_a_broken_path_is_invalid() {
        let mut o = options();
        for transport in [0, 3, -1] {
            assert_eq!(o.websocket.set_transport(transport), Err(Error::Inval));
        }
        assert_eq!(o.websocket.set_header_size(99), Err(Error::Inval));
        assert_eq!(o.websocket.set_header_size(-1), Err(Error::Inval));
        for path in [None, Some(""), Some("/a b"), Some("/a\r\n")] {
            let path = path.map(String::from);
            assert_eq!(o.websocket.set_path(path), Err(Error::Inval));
        }
        assert_eq!(o.websocket.header_size, 4096);
    }

    #[test]
    fn no_id_is_allowed_only_with_a_clean_session() {
        assert_eq!(Options::new(None, true).unwrap().client_id, None);
        assert_eq!(Options::new(None, false), Err(Error::Inval));
    }

    #[test]
    fn an_empty_id_is_invalid() {
        assert_eq!(Options::new(Some(b""), true), Err(Error::Inval));
    }

    #[test]
    fn an_id_that_is_not_utf8_or_too_long_is_malformed() {
        assert_eq!(Options::new(Some(b"\xff"), true), Err(Error::MalformedUtf8));
        let long = vec![b'a'; 65_536];
        assert_eq!(Options::new(Some(&long), true), Err(Error::MalformedUtf8));
    }

    #[test]
    fn a_will_is_stored_with_its_settings() {
        let mut o = options();
        o.set_will(b"a/b", b"bye", 1, true, Vec::new()).unwrap();
        let will = o.will.clone().unwrap();
        assert_eq!(
            (
                will.topic.as_str(),
                will.payload.as_slice(),
                will.qos,
                will.retain
            ),
            ("a/b", &b"bye"[..], 1, true)
        );
        o.clear_will();
        assert_eq!(o.will, None);
    }

    #[test]
    fn a_will_with_a_bad_qos_or_wildcard_topic_is_invalid_and_keeps_the_old_will() {
        let mut o = options();
        o.set_will(b"old", b"", 0, false, Vec::new()).unwrap();
        assert_eq!(
            o.set_will(b"t", b"", 3, false, Vec::new()),
            Err(Error::Inval)
        );
        assert_eq!(
            o.set_will(b"t", b"", -1, false, Vec::new()),
            Err(Error::Inval)
        );
        assert_eq!(
            o.set_will(b"a/#", b"", 0, false, Vec::new()),
            Err(Error::Inval)
        );
        assert_eq!(o.will.unwrap().topic, "old");
    }

    #[test]
    fn will_properties_need_mqtt5() {
        let mut o = options();
        let props = vec![property::Property {
            id: 1,
            value: property::PropertyValue::Byte(1),
        }];
        assert_eq!(
            o.set_will(b"t", b"", 0, false, props),
            Err(Error::NotSupported)
        );
    }

    #[test]
    fn a_password_without_a_username_is_invalid_before_mqtt5() {
        let mut o = options();
        assert_eq!(o.set_credentials(None, Some(b"pw")), Err(Error::Inval));
        o.set_protocol_level(5).unwrap();
        o.set_credentials(None, Some(b"pw")).unwrap();
        assert_eq!(o.password.as_deref(), Some(&b"pw"[..]));
    }

    #[test]
    fn credentials_are_stored_and_cleared() {
        let mut o = options();
        o.set_credentials(Some(b"user"), Some(b"pw")).unwrap();
        assert_eq!(o.username.as_deref(), Some("user"));
        o.set_credentials(None, None).unwrap();
        assert_eq!((o.username.clone(), o.password.clone()), (None, None));
    }

    #[test]
    fn a_bad_username_clears_both_credentials() {
        let mut o = options();
        o.set_credentials(Some(b"user"), Some(b"pw")).unwrap();
        assert_eq!(
            o.set_credentials(Some(b"\xc0\x80"), None),
            Err(Error::MalformedUtf8)
        );
        assert_eq!((o.username, o.password), (None, None));
        let mut o = options();
        assert_eq!(
            o.set_credentials(Some(&vec![b'u'; 65_536]), None),
            Err(Error::Inval)
        );
    }

    #[test]
    fn a_zero_reconnect_delay_becomes_one_second() {
        let mut o = options();
        o.set_reconnect_delay(0, 30, true);
        assert_eq!(
            o.reconnect,
            ReconnectDelay {
                delay: 1,
                max: 30,
                exponential: true
            }
        );
    }

    #[test]
    fn only_protocol_levels_3_4_and_5_are_accepted() {
        let mut o = options();
        for level in [3, 4, 5] {
            o.set_protocol_level(level).unwrap();
        }
        assert_eq!(o.protocol, ProtocolVersion::V5);
        for level in [0, 2, 6, -1, 260] {
            assert_eq!(o.set_protocol_level(level), Err(Error::Inval));
        }
    }

    #[test]
    fn inflight_limits_take_0_as_unlimited_and_reject_out_of_range() {
        let mut o = options();
        o.set_send_maximum(0).unwrap();
        assert_eq!(o.send_maximum, 65_535);
        o.set_receive_maximum(7).unwrap();
        assert_eq!(o.receive_maximum, 7);
        assert_eq!(o.set_send_maximum(-1), Err(Error::Inval));
        assert_eq!(o.set_receive_maximum(65_536), Err(Error::Inval));
    }
}
