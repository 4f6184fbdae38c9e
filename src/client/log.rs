//! The lines the client hands to the program's log callback.
//!
//! The DEBUG lines follow libmosquitto's wording and layout exactly, because
//! tools print them as they come (`mosquitto_sub -d`) and people and scripts read
//! them: "Client <id> sending PUBLISH (d0, q1, r0, m1, 'topic', ... (5 bytes))".
//! A client with no identifier yet is shown as "(null)", as libmosquitto shows it.

use crate::protocol::packet::Packet;
use crate::protocol::packets::publish::Parts;

pub const MOSQ_LOG_INFO: i32 = 0x01;
pub const MOSQ_LOG_NOTICE: i32 = 0x02;
pub const MOSQ_LOG_WARNING: i32 = 0x04;
pub const MOSQ_LOG_ERR: i32 = 0x08;
pub const MOSQ_LOG_DEBUG: i32 = 0x10;

/// The id as every log line shows it.
pub fn shown(id: &str) -> &str {
    if id.is_empty() {
        "(null)"
    } else {
        id
    }
}

/// The DEBUG line for a PUBLISH we are about to write. A QoS 0 message's line
/// shows its mid, which the session keeps in `packet_id` but the wire leaves out.
pub fn sending_publish(id: &str, p: Parts<'_>) -> String {
    format!(
        "Client {} sending PUBLISH (d{}, q{}, r{}, m{}, '{}', ... ({} bytes))",
        shown(id),
        u8::from(p.dup),
        p.qos,
        u8::from(p.retain),
        p.packet_id,
        p.topic,
        p.payload.len()
    )
}

/// The DEBUG lines for a packet we are about to write: one for most packets, one
/// per filter for SUBSCRIBE and UNSUBSCRIBE.
pub fn sending(id: &str, packet: &Packet) -> Vec<String> {
    let id = shown(id);
    let one = |what: String| vec![format!("Client {id} sending {what}")];
    match packet {
        Packet::Connect(_) => one("CONNECT".into()),
        Packet::Publish(p) => vec![sending_publish(id, Parts::of(p))],
        Packet::PubAck(a) => one(format!("PUBACK (m{}, rc{})", a.packet_id, a.reason_code)),
        Packet::PubRec(a) => one(format!("PUBREC (m{}, rc{})", a.packet_id, a.reason_code)),
        Packet::PubRel(a) => one(format!("PUBREL (m{})", a.packet_id)),
        Packet::PubComp(a) => one(format!("PUBCOMP (m{})", a.packet_id)),
        Packet::Subscribe(s) => s
            .filters
            .iter()
            .map(|(filter, options)| {
                format!(
                    "Client {id} sending SUBSCRIBE (Mid: {}, Topic: {}, QoS: {}, Options: 0x{:02x})",
                    s.packet_id,
                    filter,
                    options & 0x03,
                    options & 0xfc
                )
            })
            .collect(),
        Packet::Unsubscribe(u) => u
            .filters
            .iter()
            .map(|filter| {
                format!(
                    "Client {id} sending UNSUBSCRIBE (Mid: {}, Topic: {})",
                    u.packet_id, filter
                )
            })
            .collect(),
        Packet::PingReq => one("PINGREQ".into()),
        Packet::Disconnect(_) => one("DISCONNECT".into()),
        Packet::Auth(_) => one("AUTH".into()),
        // A client never sends these; named plainly should one ever be queued.
        Packet::ConnAck(_)
        | Packet::SubAck(_)
        | Packet::UnsubAck(_)
        | Packet::PingResp => one(format!("packet type 0x{:02x}", packet.command())),
    }
}

/// The DEBUG line for a packet read from the broker. `id` is the client's id
/// after the packet was handled, so a CONNACK shows an assigned identifier.
pub fn received(id: &str, packet: &Packet) -> String {
    let id = shown(id);
    let what = match packet {
        Packet::ConnAck(c) => format!("CONNACK ({})", c.reason_code),
        Packet::Publish(p) => format!(
            "PUBLISH (d{}, q{}, r{}, m{}, '{}', ... ({} bytes))",
            u8::from(p.dup),
            p.qos,
            u8::from(p.retain),
            p.packet_id,
            p.topic,
            p.payload.len()
        ),
        Packet::PubAck(a) => format!("PUBACK (Mid: {}, RC:{})", a.packet_id, a.reason_code),
        Packet::PubComp(a) => format!("PUBCOMP (Mid: {}, RC:{})", a.packet_id, a.reason_code),
        Packet::PubRec(a) => format!("PUBREC (Mid: {})", a.packet_id),
        Packet::PubRel(a) => format!("PUBREL (Mid: {})", a.packet_id),
        Packet::SubAck(_) => "SUBACK".into(),
        Packet::UnsubAck(_) => "UNSUBACK".into(),
        Packet::PingReq => "PINGREQ".into(),
        Packet::PingResp => "PINGRESP".into(),
        Packet::Disconnect(d) => format!("DISCONNECT ({})", d.reason_code),
        // libmosquitto 2.0 shows no reason code here.
        Packet::Auth(_) => "AUTH".into(),
        Packet::Connect(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_) => {
            format!("packet type 0x{:02x}", packet.command())
        }
    };
    format!("Client {id} received {what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::packet::{Ack, Publish, Subscribe};

    #[test]
    fn publish_lines_match_libmosquitto() {
        let p = Packet::Publish(Publish {
            dup: false,
            qos: 2,
            retain: false,
            topic: "a/b".into(),
            packet_id: 1,
            payload: b"hello".to_vec(),
            properties: vec![],
        });
        assert_eq!(
            sending("pubx", &p),
            vec!["Client pubx sending PUBLISH (d0, q2, r0, m1, 'a/b', ... (5 bytes))"]
        );
        assert_eq!(
            received("", &p),
            "Client (null) received PUBLISH (d0, q2, r0, m1, 'a/b', ... (5 bytes))"
        );
    }

    #[test]
    fn ack_and_subscribe_lines_match_libmosquitto() {
        let ack = |packet_id| Ack {
            packet_id,
            reason_code: 0,
            properties: vec![],
        };
        assert_eq!(
            sending("s", &Packet::PubRec(ack(1))),
            vec!["Client s sending PUBREC (m1, rc0)"]
        );
        assert_eq!(
            received("s", &Packet::PubComp(ack(1))),
            "Client s received PUBCOMP (Mid: 1, RC:0)"
        );
        let sub = Packet::Subscribe(Subscribe {
            packet_id: 3,
            filters: vec![("a/#".into(), 2), ("b".into(), 0x04)],
            properties: vec![],
        });
        assert_eq!(
            sending("s", &sub),
            vec![
                "Client s sending SUBSCRIBE (Mid: 3, Topic: a/#, QoS: 2, Options: 0x00)",
                "Client s sending SUBSCRIBE (Mid: 3, Topic: b, QoS: 0, Options: 0x04)"
            ]
        );
    }
}
