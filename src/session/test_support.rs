//! Small builders for the session's tests.

use std::time::{Duration, Instant};

use super::{Config, Event, Session};
use crate::protocol::packet::{Ack, ConnAck, Packet, ProtocolVersion, Publish};
use crate::protocol::property::{Properties, Property, PropertyValue};

pub fn v311() -> Config<'static> {
    Config::default()
}

pub fn v5() -> Config<'static> {
    Config {
        protocol: ProtocolVersion::V5,
        ..Config::default()
    }
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn int16(id: u8, value: u16) -> Property {
    Property {
        id,
        value: PropertyValue::Int16(value),
    }
}

pub fn byte(id: u8, value: u8) -> Property {
    Property {
        id,
        value: PropertyValue::Byte(value),
    }
}

pub fn int32(id: u8, value: u32) -> Property {
    Property {
        id,
        value: PropertyValue::Int32(value),
    }
}

pub fn string(id: u8, value: &str) -> Property {
    Property {
        id,
        value: PropertyValue::String(value.into()),
    }
}

pub fn connack(session_present: bool, properties: Properties) -> Packet {
    Packet::ConnAck(ConnAck {
        session_present,
        reason_code: 0,
        properties,
    })
}

/// A session past a successful CONNACK with these properties, outbox and events
/// drained.
pub fn connected_with(config: Config, properties: Properties, now: Instant) -> Session {
    let mut session = Session::new(&config);
    session.connect_packet(&config, now);
    session.handle(connack(false, properties), now).unwrap();
    session.take_outgoing();
    session.take_events();
    session
}

pub fn connected(config: Config) -> Session {
    connected_with(config, Vec::new(), Instant::now())
}

/// Reconnects with `config` and receives a CONNACK; returns what the session
/// sends after it.
pub fn reconnect(session: &mut Session, config: &Config, session_present: bool) -> Vec<Packet> {
    let now = Instant::now();
    session.connection_lost();
    session.connect_packet(config, now);
    session
        .handle(connack(session_present, Vec::new()), now)
        .unwrap();
    session.take_outgoing()
}

pub fn message(qos: u8, packet_id: u16, topic: &str) -> Publish {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.into(),
        packet_id,
        payload: b"hello".to_vec(),
        properties: Vec::new(),
    }
}

pub fn ack(packet_id: u16) -> Ack {
    ack_with(packet_id, 0)
}

pub fn ack_with(packet_id: u16, reason_code: u8) -> Ack {
    Ack {
        packet_id,
        reason_code,
        properties: Vec::new(),
    }
}

/// Publishes a small message to "t" and returns its mid.
pub fn publish(session: &mut Session, qos: u8) -> u16 {
    session
        .publish("t".into(), b"payload".to_vec(), qos, false, Vec::new())
        .unwrap()
}

/// Feeds a packet at the current time.
pub fn receive(session: &mut Session, packet: Packet) -> crate::error::Result<()> {
    session.handle(packet, Instant::now())
}

/// The identifiers of the PUBLISH packets, and "rel N" for PUBREL, in order.
pub fn summary(packets: &[Packet]) -> Vec<String> {
    packets
        .iter()
        .map(|p| match p {
            Packet::Publish(p) if p.dup => format!("dup {}", p.packet_id),
            Packet::Publish(p) => format!("pub {}", p.packet_id),
            Packet::PubAck(a) => format!("ack {}", a.packet_id),
            Packet::PubRec(a) => format!("rec {}", a.packet_id),
            Packet::PubRel(a) => format!("rel {}", a.packet_id),
            Packet::PubComp(a) => format!("comp {}", a.packet_id),
            other => format!("{other:?}"),
        })
        .collect()
}

pub fn published(mid: u16, reason_code: u8) -> Event {
    Event::Published {
        mid,
        reason_code,
        properties: Vec::new(),
    }
}
