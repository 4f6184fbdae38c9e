//! Packets from the broker: one `handle_*` per packet type.
//!
//! Choices where the protocol leaves room, and libmosquitto's behaviour:
//! - Any packet but CONNACK before the CONNACK is a protocol error, and so is a
//!   second CONNACK, or a packet only a client sends (CONNECT, SUBSCRIBE, ...).
//! - PUBACK or PUBCOMP for an identifier we do not have in flight is ignored: after
//!   a reconnect without a resumed session a late answer is harmless. An answer
//!   of the wrong kind for a message we do have (PUBACK for QoS 2, PUBCOMP before
//!   PUBREC) is a protocol error.
//! - PUBREC for an unknown identifier and PUBREL for one we are not holding are
//!   still answered, so the broker can finish its side (MQTT 5 reason 0x92
//!   "Packet Identifier not found").
//! - An incoming QoS 2 message is held from its PUBLISH (answered with PUBREC) and
//!   delivered once, on its PUBREL (answered with PUBCOMP), as libmosquitto does.
//!   A repeated PUBLISH with the same identifier before PUBREL gets its PUBREC
//!   again; a PUBREL for a message we do not hold delivers nothing.
//! - A topic with a wildcard is refused where the codec decodes it
//!   (`protocol::packets::publish`), so every topic handled here, one resolved
//!   from a topic alias too, has none.
//! - SUBACK and UNSUBACK are reported even for an identifier we did not send, as
//!   libmosquitto does. For one we did send, a count of reason codes other than
//!   the number of filters is a protocol error (libmosquitto passes a short SUBACK
//!   on, and a callback that indexes `granted_qos` by its own filters reads past
//!   the array).

use super::event::Event;
use super::inflight::Awaiting;
use super::journal::Change;
use super::properties::{self as ids, int16};
use super::violation::Violation;
use super::{Link, Session};
use crate::protocol::packet::{Ack, Packet, Publish, ReasonOnly, SubAck, UnsubAck};

const PACKET_IDENTIFIER_NOT_FOUND: u8 = 0x92;

impl Session {
    pub(super) fn dispatch(&mut self, packet: Packet) -> Result<(), Violation> {
        match packet {
            Packet::ConnAck(connack) => self.handle_connack(connack),
            Packet::Publish(publish) => self.handle_publish(publish),
            Packet::PubAck(ack) => self.handle_puback(ack),
            Packet::PubRec(ack) => self.handle_pubrec(ack),
            Packet::PubRel(ack) => self.handle_pubrel(ack),
            Packet::PubComp(ack) => self.handle_pubcomp(ack),
            Packet::SubAck(suback) => self.handle_suback(suback),
            Packet::UnsubAck(unsuback) => self.handle_unsuback(unsuback),
            Packet::PingResp => self.handle_pingresp(),
            Packet::Disconnect(disconnect) => self.handle_disconnect(disconnect),
            Packet::Auth(auth) => self.handle_auth(auth),
            Packet::Connect(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::PingReq => Err(Violation::protocol()),
        }
    }

    fn require_up(&self) -> Result<(), Violation> {
        match self.link {
            Link::Up => Ok(()),
            _ => Err(Violation::protocol()),
        }
    }

    /// The reason code we put in an answer: success, or for MQTT 5 `not_found`.
    fn answer_reason(&self, found: bool) -> u8 {
        if found || !self.settings.protocol.is_v5() {
            0
        } else {
            PACKET_IDENTIFIER_NOT_FOUND
        }
    }

    /// The reason code of an answer we received; before MQTT 5 there is none.
    fn received_reason(&self, reason_code: u8) -> u8 {
        if self.settings.protocol.is_v5() {
            reason_code
        } else {
            0
        }
    }

    fn handle_publish(&mut self, mut publish: Publish) -> Result<(), Violation> {
        self.require_up()?;
        if publish.qos > 2 {
            return Err(Violation::malformed());
        }
        if publish.qos > 0 && publish.packet_id == 0 {
            return Err(Violation::protocol());
        }
        if self.settings.protocol.is_v5() {
            let alias = int16(&publish.properties, ids::TOPIC_ALIAS)?;
            publish.topic = self
                .aliases
                .resolve(alias, std::mem::take(&mut publish.topic))?;
        } else if publish.topic.is_empty() {
            return Err(Violation::protocol());
        }

        let packet_id = publish.packet_id;
        match publish.qos {
            0 => self.event(Event::Message(publish)),
            1 => {
                // QoS 1 is answered at once, so only the QoS 2 messages awaiting
                // PUBREL hold places in our receive window.
                self.check_receive_window()?;
                self.event(Event::Message(publish));
                self.send(Packet::PubAck(ack(packet_id, 0)));
            }
            _ => {
                if !self.incoming.contains(packet_id) {
                    self.check_receive_window()?;
                    self.incoming.hold(publish);
                    self.note_change(Change::IncomingHeld(packet_id));
                }
                self.send(Packet::PubRec(ack(packet_id, 0)));
            }
        }
        Ok(())
    }

    fn check_receive_window(&self) -> Result<(), Violation> {
        if self.settings.protocol.is_v5()
            && self.incoming.len() >= usize::from(self.receive_maximum())
        {
            return Err(Violation::receive_maximum_exceeded());
        }
        Ok(())
    }

    fn handle_puback(&mut self, puback: Ack) -> Result<(), Violation> {
        self.require_up()?;
        match self.outgoing.awaiting(puback.packet_id) {
            None => Ok(()),
            Some(Awaiting::PubAck) => {
                self.finish_outgoing(puback);
                Ok(())
            }
            Some(_) => Err(Violation::protocol()),
        }
    }

    fn handle_pubrec(&mut self, pubrec: Ack) -> Result<(), Violation> {
        self.require_up()?;
        let packet_id = pubrec.packet_id;
        match self.outgoing.awaiting(packet_id) {
            None => {
                let reason = self.answer_reason(false);
                self.send(Packet::PubRel(ack(packet_id, reason)));
                self.event(Event::UnknownPubRec { mid: packet_id });
            }
            Some(Awaiting::PubAck) => return Err(Violation::protocol()),
            Some(Awaiting::PubRec) if self.received_reason(pubrec.reason_code) >= 0x80 => {
                // The broker refused the message: it is done, with that reason.
                self.finish_outgoing(pubrec);
            }
            Some(Awaiting::PubRec) => {
                self.outgoing.mark_released(packet_id);
                self.note_change(Change::PubRecReceived(packet_id));
                self.send(Packet::PubRel(ack(packet_id, 0)));
            }
            Some(Awaiting::PubComp) => {
                // A repeated PUBREC: our PUBREL may have been lost.
                self.send(Packet::PubRel(ack(packet_id, 0)));
            }
        }
        Ok(())
    }

    fn handle_pubcomp(&mut self, pubcomp: Ack) -> Result<(), Violation> {
        self.require_up()?;
        match self.outgoing.awaiting(pubcomp.packet_id) {
            None => Ok(()),
            Some(Awaiting::PubComp) => {
                self.finish_outgoing(pubcomp);
                Ok(())
            }
            Some(_) => Err(Violation::protocol()),
        }
    }

    /// Our message is done: report it, free its identifier and its window place.
    fn finish_outgoing(&mut self, answer: Ack) {
        if self.outgoing.complete(answer.packet_id).is_none() {
            return;
        }
        self.ids.release(answer.packet_id);
        self.note_change(Change::Completed(answer.packet_id));
        self.event(Event::Published {
            mid: answer.packet_id,
            reason_code: self.received_reason(answer.reason_code),
            properties: answer.properties,
        });
        self.release_outgoing();
    }

    fn handle_pubrel(&mut self, pubrel: Ack) -> Result<(), Violation> {
        self.require_up()?;
        let released = self.incoming.release(pubrel.packet_id);
        let reason = self.answer_reason(released.is_some());
        self.send(Packet::PubComp(ack(pubrel.packet_id, reason)));
        if let Some(publish) = released {
            self.note_change(Change::IncomingReleased(pubrel.packet_id));
            self.event(Event::Message(publish));
        }
        Ok(())
    }

    fn handle_suback(&mut self, suback: SubAck) -> Result<(), Violation> {
        self.require_up()?;
        if let Some(filters) = self.awaiting_suback.remove(suback.packet_id) {
            self.ids.release(suback.packet_id);
            if let Some(record) = self.subscriptions.as_mut() {
                record.answered(suback.packet_id);
            }
            // One code per filter: a callback may index them by its own filters.
            if suback.reason_codes.len() != filters {
                return Err(Violation::protocol());
            }
        }
        self.event(Event::Subscribed {
            mid: suback.packet_id,
            granted_qos: suback.reason_codes.iter().map(|&c| i32::from(c)).collect(),
            properties: suback.properties,
        });
        Ok(())
    }

    fn handle_unsuback(&mut self, unsuback: UnsubAck) -> Result<(), Violation> {
        self.require_up()?;
        if let Some(filters) = self.awaiting_unsuback.remove(unsuback.packet_id) {
            self.ids.release(unsuback.packet_id);
            // MQTT 5 has one reason code per filter; earlier versions have none.
            if self.settings.protocol.is_v5() && unsuback.reason_codes.len() != filters {
                return Err(Violation::protocol());
            }
        }
        self.event(Event::Unsubscribed {
            mid: unsuback.packet_id,
            reason_codes: unsuback.reason_codes,
            properties: unsuback.properties,
        });
        Ok(())
    }

    fn handle_pingresp(&mut self) -> Result<(), Violation> {
        self.require_up()?;
        if let Some(keepalive) = &mut self.keepalive {
            keepalive.note_pong();
        }
        Ok(())
    }

    /// MQTT 5 only: the broker ends the connection and says why. The client
    /// closes the socket and reports this reason, not an error of its own.
    fn handle_disconnect(&mut self, disconnect: ReasonOnly) -> Result<(), Violation> {
        if !self.settings.protocol.is_v5() || self.link == Link::Down {
            return Err(Violation::protocol());
        }
        self.connection_lost();
        self.event(Event::Disconnected {
            reason_code: disconnect.reason_code,
            properties: disconnect.properties,
        });
        Ok(())
    }

    fn handle_auth(&mut self, auth: ReasonOnly) -> Result<(), Violation> {
        if !self.settings.protocol.is_v5() || self.link == Link::Down {
            return Err(Violation::protocol());
        }
        self.event(Event::Auth {
            reason_code: auth.reason_code,
            properties: auth.properties,
        });
        Ok(())
    }
}

fn ack(packet_id: u16, reason_code: u8) -> Ack {
    Ack {
        packet_id,
        reason_code,
        properties: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::event::Event;
    use super::super::properties as ids;
    use super::super::test_support::*;
    use super::super::{Config, Link, Session};
    use crate::error::Error;
    use crate::protocol::packet::{Packet, Publish, ReasonOnly};

    fn delivered(events: &[Event]) -> Vec<&Publish> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Message(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    /// The reason code of the DISCONNECT the session queued, if any.
    fn disconnect_reason(session: &mut Session) -> Option<u8> {
        session.take_outgoing().into_iter().find_map(|p| match p {
            Packet::Disconnect(ReasonOnly { reason_code, .. }) => Some(reason_code),
            _ => None,
        })
    }

    #[test]
    fn an_incoming_qos0_message_is_delivered_without_answer() {
        let mut session = connected(v311());
        receive(&mut session, Packet::Publish(message(0, 0, "a/b"))).unwrap();
        assert_eq!(delivered(&session.take_events())[0].topic, "a/b");
        assert!(session.take_outgoing().is_empty());
    }

    #[test]
    fn an_incoming_qos1_message_is_delivered_and_acknowledged() {
        let mut session = connected(v311());
        receive(&mut session, Packet::Publish(message(1, 7, "a"))).unwrap();
        assert_eq!(delivered(&session.take_events()).len(), 1);
        assert_eq!(summary(&session.take_outgoing()), vec!["ack 7"]);
    }

    #[test]
    fn incoming_qos2_publish_is_released_once() {
        let mut session = connected(v311());
        receive(&mut session, Packet::Publish(message(2, 9, "a"))).unwrap();
        assert!(session.take_events().is_empty());
        assert_eq!(summary(&session.take_outgoing()), vec!["rec 9"]);

        let mut again = message(2, 9, "a");
        again.dup = true;
        receive(&mut session, Packet::Publish(again)).unwrap();
        assert!(session.take_events().is_empty());
        assert_eq!(summary(&session.take_outgoing()), vec!["rec 9"]);

        receive(&mut session, Packet::PubRel(ack(9))).unwrap();
        assert_eq!(summary(&session.take_outgoing()), vec!["comp 9"]);
        let events = session.take_events();
        assert_eq!(delivered(&events)[0].topic, "a");
        assert_eq!(events.len(), 1);

        // A repeated PUBREL is answered but delivers nothing.
        receive(&mut session, Packet::PubRel(ack(9))).unwrap();
        assert_eq!(summary(&session.take_outgoing()), vec!["comp 9"]);
        assert!(session.take_events().is_empty());

        // The identifier is free again: a new message with it is new.
        receive(&mut session, Packet::Publish(message(2, 9, "b"))).unwrap();
        receive(&mut session, Packet::PubRel(ack(9))).unwrap();
        assert_eq!(delivered(&session.take_events())[0].topic, "b");
    }

    #[test]
    fn a_pubrel_for_an_unknown_identifier_is_answered_not_found_in_mqtt5() {
        let mut session = connected(v5());
        receive(&mut session, Packet::PubRel(ack(4))).unwrap();
        let out = session.take_outgoing();
        assert!(
            matches!(&out[..], [Packet::PubComp(a)] if a.packet_id == 4 && a.reason_code == 0x92)
        );
    }

    #[test]
    fn a_pubrel_for_an_unknown_identifier_gets_a_plain_pubcomp_in_mqtt311() {
        let mut session = connected(v311());
        receive(&mut session, Packet::PubRel(ack(4))).unwrap();
        let out = session.take_outgoing();
        assert!(matches!(&out[..], [Packet::PubComp(a)] if a.packet_id == 4 && a.reason_code == 0));
    }

    #[test]
    fn qos2_messages_beyond_our_receive_maximum_are_a_protocol_error() {
        let mut session = connected(Config {
            receive_maximum: 2,
            ..v5()
        });
        receive(&mut session, Packet::Publish(message(2, 1, "a"))).unwrap();
        receive(&mut session, Packet::Publish(message(2, 2, "a"))).unwrap();
        // A repeat of one we hold takes no new place.
        receive(&mut session, Packet::Publish(message(2, 2, "a"))).unwrap();
        session.take_outgoing();
        let third = receive(&mut session, Packet::Publish(message(2, 3, "a")));
        assert_eq!(third, Err(Error::Protocol));
        assert_eq!(disconnect_reason(&mut session), Some(0x93));
    }

    #[test]
    fn a_released_qos2_message_frees_its_receive_window_place() {
        let mut session = connected(Config {
            receive_maximum: 1,
            ..v5()
        });
        receive(&mut session, Packet::Publish(message(2, 1, "a"))).unwrap();
        receive(&mut session, Packet::PubRel(ack(1))).unwrap();
        assert!(receive(&mut session, Packet::Publish(message(2, 2, "a"))).is_ok());
        assert!(receive(&mut session, Packet::Publish(message(1, 3, "a"))).is_err());
    }

    #[test]
    fn the_receive_maximum_is_not_enforced_before_mqtt5() {
        let mut session = connected(Config {
            receive_maximum: 1,
            ..v311()
        });
        for id in 1..=5 {
            receive(&mut session, Packet::Publish(message(2, id, "a"))).unwrap();
        }
        assert_eq!(session.incoming.len(), 5);
    }

    fn alias_session(maximum: u16) -> Session {
        let config = Config {
            connect_properties: &[int16(ids::TOPIC_ALIAS_MAXIMUM, maximum)],
            ..v5()
        };
        connected(config)
    }

    fn aliased(topic: &str, alias: u16) -> Packet {
        let mut publish = message(0, 0, topic);
        publish.properties = vec![int16(ids::TOPIC_ALIAS, alias)];
        Packet::Publish(publish)
    }

    #[test]
    fn a_topic_alias_names_the_topic_of_later_messages() {
        let mut session = alias_session(5);
        receive(&mut session, aliased("sensors/1", 2)).unwrap();
        receive(&mut session, aliased("", 2)).unwrap();
        let events = session.take_events();
        let topics: Vec<&str> = delivered(&events)
            .iter()
            .map(|p| p.topic.as_str())
            .collect();
        assert_eq!(topics, vec!["sensors/1", "sensors/1"]);
    }

    #[test]
    fn a_topic_alias_above_our_maximum_is_invalid_and_disconnects_with_0x94() {
        let mut session = alias_session(5);
        assert_eq!(
            receive(&mut session, aliased("a", 6)),
            Err(Error::TopicAliasInvalid)
        );
        assert_eq!(disconnect_reason(&mut session), Some(0x94));
    }

    #[test]
    fn a_topic_alias_of_zero_is_invalid() {
        let mut session = alias_session(5);
        assert_eq!(
            receive(&mut session, aliased("a", 0)),
            Err(Error::TopicAliasInvalid)
        );
    }

    #[test]
    fn topic_aliases_are_forgotten_with_the_connection() {
        let mut session = alias_session(5);
        receive(&mut session, aliased("a", 1)).unwrap();
        let config = Config {
            connect_properties: &[int16(ids::TOPIC_ALIAS_MAXIMUM, 5)],
            ..v5()
        };
        reconnect(&mut session, &config, true);
        assert_eq!(receive(&mut session, aliased("", 1)), Err(Error::Protocol));
    }

    #[test]
    fn a_publish_before_connack_is_a_protocol_error() {
        let mut session = Session::new(&v311());
        session.connect_packet(&v311(), Instant::now());
        let result = receive(&mut session, Packet::Publish(message(0, 0, "a")));
        assert_eq!(result, Err(Error::Protocol));
    }

    #[test]
    fn a_second_connack_is_a_protocol_error() {
        let mut session = connected(v5());
        assert_eq!(
            receive(&mut session, connack(false, vec![])),
            Err(Error::Protocol)
        );
        assert_eq!(disconnect_reason(&mut session), Some(0x82));
    }

    #[test]
    fn packets_only_a_client_sends_are_protocol_errors() {
        let mut session = connected(v311());
        assert_eq!(receive(&mut session, Packet::PingReq), Err(Error::Protocol));
        let disconnect = Packet::Disconnect(ReasonOnly {
            reason_code: 0,
            properties: vec![],
        });
        // An MQTT 3.1.1 broker never sends DISCONNECT either.
        assert_eq!(receive(&mut session, disconnect), Err(Error::Protocol));
        // And before MQTT 5 no DISCONNECT goes back.
        assert_eq!(disconnect_reason(&mut session), None);
    }

    #[test]
    fn an_incoming_qos1_message_with_identifier_zero_is_a_protocol_error() {
        let mut session = connected(v311());
        let result = receive(&mut session, Packet::Publish(message(1, 0, "a")));
        assert_eq!(result, Err(Error::Protocol));
    }

    #[test]
    fn an_empty_topic_before_mqtt5_is_a_protocol_error() {
        let mut session = connected(v311());
        let result = receive(&mut session, Packet::Publish(message(0, 0, "")));
        assert_eq!(result, Err(Error::Protocol));
    }

    #[test]
    fn a_puback_for_an_unknown_identifier_is_ignored() {
        let mut session = connected(v311());
        assert_eq!(receive(&mut session, Packet::PubAck(ack(99))), Ok(()));
        assert_eq!(receive(&mut session, Packet::PubComp(ack(99))), Ok(()));
        assert!(session.take_events().is_empty());
    }

    #[test]
    fn an_answer_of_the_wrong_kind_is_a_protocol_error() {
        let mut session = connected(v311());
        let qos2 = publish(&mut session, 2);
        let qos1 = publish(&mut session, 1);
        assert_eq!(
            receive(&mut session, Packet::PubAck(ack(qos2))),
            Err(Error::Protocol)
        );
        assert_eq!(
            receive(&mut session, Packet::PubComp(ack(qos2))),
            Err(Error::Protocol)
        );
        assert_eq!(
            receive(&mut session, Packet::PubRec(ack(qos1))),
            Err(Error::Protocol)
        );
    }

    #[test]
    fn a_pubrec_for_an_unknown_identifier_still_gets_a_pubrel() {
        let mut session = connected(v5());
        receive(&mut session, Packet::PubRec(ack(12))).unwrap();
        let out = session.take_outgoing();
        assert!(
            matches!(&out[..], [Packet::PubRel(a)] if a.packet_id == 12 && a.reason_code == 0x92)
        );
        // The client logs it as a warning.
        assert_eq!(
            session.take_events(),
            vec![Event::UnknownPubRec { mid: 12 }]
        );
    }

    #[test]
    fn a_repeated_pubrec_sends_pubrel_again() {
        let mut session = connected(v311());
        let mid = publish(&mut session, 2);
        session.take_outgoing();
        receive(&mut session, Packet::PubRec(ack(mid))).unwrap();
        receive(&mut session, Packet::PubRec(ack(mid))).unwrap();
        assert_eq!(summary(&session.take_outgoing()), vec!["rel 1", "rel 1"]);
        assert!(session.take_events().is_empty());
    }

    #[test]
    fn a_broker_disconnect_in_mqtt5_is_reported_and_ends_the_link() {
        let mut session = connected(v5());
        let disconnect = ReasonOnly {
            reason_code: 0x8B,
            properties: vec![string(0x1F, "shutting down")],
        };
        receive(&mut session, Packet::Disconnect(disconnect.clone())).unwrap();
        let expected = Event::Disconnected {
            reason_code: 0x8B,
            properties: disconnect.properties,
        };
        assert_eq!(session.take_events(), vec![expected]);
        assert_eq!(session.link(), Link::Down);
    }

    #[test]
    fn a_suback_for_an_identifier_we_did_not_send_is_still_reported() {
        let mut session = connected(v311());
        let suback = crate::protocol::packet::SubAck {
            packet_id: 500,
            reason_codes: vec![0],
            properties: vec![],
        };
        receive(&mut session, Packet::SubAck(suback)).unwrap();
        assert_eq!(session.take_events().len(), 1);
    }

    fn suback(packet_id: u16, reason_codes: Vec<u8>) -> Packet {
        Packet::SubAck(crate::protocol::packet::SubAck {
            packet_id,
            reason_codes,
            properties: vec![],
        })
    }

    fn two_filters() -> Vec<(String, u8)> {
        vec![("a".into(), 1), ("b".into(), 1)]
    }

    #[test]
    fn a_suback_with_fewer_codes_than_filters_is_a_protocol_error() {
        let mut session = connected(v5());
        let mid = session.subscribe(two_filters(), vec![]).unwrap();
        session.take_outgoing();
        assert_eq!(
            receive(&mut session, suback(mid, vec![1])),
            Err(Error::Protocol)
        );
        assert!(session.take_events().is_empty());
        assert_eq!(disconnect_reason(&mut session), Some(0x82));
    }

    #[test]
    fn a_suback_with_more_codes_than_filters_is_a_protocol_error() {
        let mut session = connected(v311());
        let mid = session.subscribe(two_filters(), vec![]).unwrap();
        assert_eq!(
            receive(&mut session, suback(mid, vec![1, 1, 1])),
            Err(Error::Protocol)
        );
    }

    #[test]
    fn an_mqtt5_unsuback_needs_one_code_per_filter_and_an_mqtt311_one_none() {
        let unsuback = |packet_id, reason_codes| {
            Packet::UnsubAck(crate::protocol::packet::UnsubAck {
                packet_id,
                reason_codes,
                properties: vec![],
            })
        };
        let mut session = connected(v5());
        let mid = session
            .unsubscribe(vec!["a".into(), "b".into()], vec![])
            .unwrap();
        assert_eq!(
            receive(&mut session, unsuback(mid, vec![0])),
            Err(Error::Protocol)
        );
        let mut session = connected(v311());
        let mid = session
            .unsubscribe(vec!["a".into(), "b".into()], vec![])
            .unwrap();
        receive(&mut session, unsuback(mid, vec![])).unwrap();
        assert_eq!(session.take_events().len(), 1);
    }

    #[test]
    fn an_auth_packet_is_reported_in_mqtt5_and_refused_before() {
        let auth = ReasonOnly {
            reason_code: 0x18,
            properties: vec![],
        };
        let mut v5_session = connected(v5());
        receive(&mut v5_session, Packet::Auth(auth.clone())).unwrap();
        assert_eq!(v5_session.take_events().len(), 1);
        let mut v3_session = connected(v311());
        assert_eq!(
            receive(&mut v3_session, Packet::Auth(auth)),
            Err(Error::Protocol)
        );
    }

    #[test]
    fn a_property_of_the_wrong_type_is_a_malformed_packet() {
        let mut session = alias_session(5);
        let mut publish = message(0, 0, "a");
        publish.properties = vec![byte(ids::TOPIC_ALIAS, 1)];
        let result = receive(&mut session, Packet::Publish(publish));
        assert_eq!(result, Err(Error::MalformedPacket));
        assert_eq!(disconnect_reason(&mut session), Some(0x81));
    }
}
