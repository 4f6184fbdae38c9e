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
//! - An incoming QoS 2 message is delivered once, on its PUBLISH (as libmosquitto
//!   2.1 does; 2.0 waited for PUBREL). A repeated PUBLISH with the same identifier
//!   before PUBREL gets its PUBREC again but is not delivered again.
//! - SUBACK and UNSUBACK are reported even for an identifier we did not send, as
//!   libmosquitto does.

use super::event::Event;
use super::inflight::OutgoingState;
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
        if found || !self.config.protocol.is_v5() {
            0
        } else {
            PACKET_IDENTIFIER_NOT_FOUND
        }
    }

    /// The reason code of an answer we received; before MQTT 5 there is none.
    fn received_reason(&self, reason_code: u8) -> u8 {
        if self.config.protocol.is_v5() {
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
        if self.config.protocol.is_v5() {
            let alias = int16(&publish.properties, ids::TOPIC_ALIAS)?;
            publish.topic = self
                .aliases
                .resolve(alias, std::mem::take(&mut publish.topic))?;
        } else if publish.topic.is_empty() {
            return Err(Violation::protocol());
        }

        let packet_id = publish.packet_id;
        match publish.qos {
            0 => self.events.push(Event::Message(publish)),
            1 => {
                // QoS 1 is answered at once, so only the QoS 2 messages awaiting
                // PUBREL hold places in our receive window.
                self.check_receive_window()?;
                self.events.push(Event::Message(publish));
                self.outbox.push(Packet::PubAck(ack(packet_id, 0)));
            }
            _ => {
                if !self.incoming.contains(packet_id) {
                    self.check_receive_window()?;
                    self.incoming.insert(packet_id);
                    self.events.push(Event::Message(publish));
                }
                self.outbox.push(Packet::PubRec(ack(packet_id, 0)));
            }
        }
        Ok(())
    }

    fn check_receive_window(&self) -> Result<(), Violation> {
        if self.config.protocol.is_v5()
            && self.incoming.len() >= usize::from(self.receive_maximum())
        {
            return Err(Violation::receive_maximum_exceeded());
        }
        Ok(())
    }

    fn handle_puback(&mut self, puback: Ack) -> Result<(), Violation> {
        self.require_up()?;
        match self.outgoing.state_of(puback.packet_id) {
            None => Ok(()),
            Some(OutgoingState::AwaitingPubAck) => {
                self.finish_outgoing(puback);
                Ok(())
            }
            Some(_) => Err(Violation::protocol()),
        }
    }

    fn handle_pubrec(&mut self, pubrec: Ack) -> Result<(), Violation> {
        self.require_up()?;
        let packet_id = pubrec.packet_id;
        match self.outgoing.state_of(packet_id) {
            None => {
                let reason = self.answer_reason(false);
                self.outbox.push(Packet::PubRel(ack(packet_id, reason)));
            }
            Some(OutgoingState::AwaitingPubAck) => return Err(Violation::protocol()),
            Some(OutgoingState::AwaitingPubRec)
                if self.received_reason(pubrec.reason_code) >= 0x80 =>
            {
                // The broker refused the message: it is done, with that reason.
                self.finish_outgoing(pubrec);
            }
            Some(OutgoingState::AwaitingPubRec) => {
                self.outgoing.mark_released(packet_id);
                self.outbox.push(Packet::PubRel(ack(packet_id, 0)));
            }
            Some(OutgoingState::AwaitingPubComp) => {
                // A repeated PUBREC: our PUBREL may have been lost.
                self.outbox.push(Packet::PubRel(ack(packet_id, 0)));
            }
        }
        Ok(())
    }

    fn handle_pubcomp(&mut self, pubcomp: Ack) -> Result<(), Violation> {
        self.require_up()?;
        match self.outgoing.state_of(pubcomp.packet_id) {
            None => Ok(()),
            Some(OutgoingState::AwaitingPubComp) => {
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
        self.events.push(Event::Published {
            mid: answer.packet_id,
            reason_code: self.received_reason(answer.reason_code),
            properties: answer.properties,
        });
        self.release_outgoing();
    }

    fn handle_pubrel(&mut self, pubrel: Ack) -> Result<(), Violation> {
        self.require_up()?;
        let found = self.incoming.release(pubrel.packet_id);
        let reason = self.answer_reason(found);
        self.outbox
            .push(Packet::PubComp(ack(pubrel.packet_id, reason)));
        Ok(())
    }

    fn handle_suback(&mut self, suback: SubAck) -> Result<(), Violation> {
        self.require_up()?;
        if self.awaiting_suback.remove(&suback.packet_id) {
            self.ids.release(suback.packet_id);
        }
        self.events.push(Event::Subscribed {
            mid: suback.packet_id,
            granted_qos: suback.reason_codes.iter().map(|&c| i32::from(c)).collect(),
            properties: suback.properties,
        });
        Ok(())
    }

    fn handle_unsuback(&mut self, unsuback: UnsubAck) -> Result<(), Violation> {
        self.require_up()?;
        if self.awaiting_unsuback.remove(&unsuback.packet_id) {
            self.ids.release(unsuback.packet_id);
        }
        self.events.push(Event::Unsubscribed {
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
        if !self.config.protocol.is_v5() || self.link == Link::Down {
            return Err(Violation::protocol());
        }
        self.connection_lost();
        self.events.push(Event::Disconnected {
            reason_code: disconnect.reason_code,
            properties: disconnect.properties,
        });
        Ok(())
    }

    fn handle_auth(&mut self, auth: ReasonOnly) -> Result<(), Violation> {
        if !self.config.protocol.is_v5() || self.link == Link::Down {
            return Err(Violation::protocol());
        }
        self.events.push(Event::Auth {
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
