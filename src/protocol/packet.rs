//! The MQTT control packets as Rust values: what the codec reads and writes and
//! what the session consumes and produces. One struct per packet shape; the wire
//! format of each lives in `packets/<name>.rs`.

use super::property::Properties;

/// The protocol level in CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// MQTT 3.1, protocol name "MQIsdp".
    V31 = 3,
    /// MQTT 3.1.1, protocol name "MQTT".
    V311 = 4,
    /// MQTT 5.
    V5 = 5,
}

impl ProtocolVersion {
    pub fn from_level(level: u8) -> Option<Self> {
        match level {
            3 => Some(ProtocolVersion::V31),
            4 => Some(ProtocolVersion::V311),
            5 => Some(ProtocolVersion::V5),
            _ => None,
        }
    }

    pub fn is_v5(self) -> bool {
        self == ProtocolVersion::V5
    }
}

/// The will carried in CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub protocol: ProtocolVersion,
    /// Clean session (3.1, 3.1.1) or Clean Start (5).
    pub clean_start: bool,
    pub keep_alive: u16,
    pub client_id: String,
    pub will: Option<Will>,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck {
    pub session_present: bool,
    /// The 3.1.1 return code or the MQTT 5 reason code.
    pub reason_code: u8,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub dup: bool,
    pub qos: u8,
    pub retain: bool,
    /// May be empty in MQTT 5 when a Topic Alias property names the topic.
    pub topic: String,
    /// Zero for QoS 0, which carries no identifier on the wire.
    pub packet_id: u16,
    pub payload: Vec<u8>,
    pub properties: Properties,
}

/// PUBACK, PUBREC, PUBREL and PUBCOMP share one shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub packet_id: u16,
    /// 0 (success) unless an MQTT 5 peer says otherwise.
    pub reason_code: u8,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub packet_id: u16,
    /// Each filter with its options byte: QoS in bits 0-1, and in MQTT 5 the
    /// `MQTT_SUB_OPT_*` bits.
    pub filters: Vec<(String, u8)>,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    pub packet_id: u16,
    /// One per filter: the granted QoS or a failure code (0x80 and up).
    pub reason_codes: Vec<u8>,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub packet_id: u16,
    pub filters: Vec<String>,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck {
    pub packet_id: u16,
    /// Empty before MQTT 5, which has no reason codes in UNSUBACK.
    pub reason_codes: Vec<u8>,
    pub properties: Properties,
}

/// DISCONNECT and AUTH share one shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonOnly {
    pub reason_code: u8,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect(Box<Connect>),
    ConnAck(ConnAck),
    Publish(Publish),
    PubAck(Ack),
    PubRec(Ack),
    PubRel(Ack),
    PubComp(Ack),
    Subscribe(Subscribe),
    SubAck(SubAck),
    Unsubscribe(Unsubscribe),
    UnsubAck(UnsubAck),
    PingReq,
    PingResp,
    Disconnect(ReasonOnly),
    Auth(ReasonOnly),
}

impl Packet {
    /// The `CMD_*` value of this packet's type (high nibble of the first byte).
    pub fn command(&self) -> u8 {
        match self {
            Packet::Connect(_) => 0x10,
            Packet::ConnAck(_) => 0x20,
            Packet::Publish(_) => 0x30,
            Packet::PubAck(_) => 0x40,
            Packet::PubRec(_) => 0x50,
            Packet::PubRel(_) => 0x60,
            Packet::PubComp(_) => 0x70,
            Packet::Subscribe(_) => 0x80,
            Packet::SubAck(_) => 0x90,
            Packet::Unsubscribe(_) => 0xA0,
            Packet::UnsubAck(_) => 0xB0,
            Packet::PingReq => 0xC0,
            Packet::PingResp => 0xD0,
            Packet::Disconnect(_) => 0xE0,
            Packet::Auth(_) => 0xF0,
        }
    }
}

/// The `CMD_*` values: each packet type in the high nibble of the first byte.
pub const CMD_CONNECT: u8 = 0x10;
pub const CMD_CONNACK: u8 = 0x20;
pub const CMD_PUBLISH: u8 = 0x30;
pub const CMD_PUBACK: u8 = 0x40;
pub const CMD_PUBREC: u8 = 0x50;
pub const CMD_PUBREL: u8 = 0x60;
pub const CMD_PUBCOMP: u8 = 0x70;
pub const CMD_SUBSCRIBE: u8 = 0x80;
pub const CMD_SUBACK: u8 = 0x90;
pub const CMD_UNSUBSCRIBE: u8 = 0xA0;
pub const CMD_UNSUBACK: u8 = 0xB0;
pub const CMD_PINGREQ: u8 = 0xC0;
pub const CMD_PINGRESP: u8 = 0xD0;
pub const CMD_DISCONNECT: u8 = 0xE0;
pub const CMD_AUTH: u8 = 0xF0;
/// Not a packet: stands for the will properties inside CONNECT, as `CMD_WILL` does.
pub const CMD_WILL: u8 = 0x00;
