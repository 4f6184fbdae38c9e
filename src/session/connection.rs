//! One network connection's life: CONNECT, the CONNACK answer, and what happens to
//! the session's messages when the connection is lost and made again.
//!
//! Across reconnects, as libmosquitto does, outgoing QoS 1 and 2 messages are kept
//! whether or not the broker resumes the session, and sent again after CONNACK in
//! their original order: PUBLISH for those not yet past PUBREC, PUBREL for the
//! others. DUP is set only when the broker resumed the session (session present),
//! since to a fresh session they are first deliveries (MQTT 3.1.1, 3.3.1.1);
//! libmosquitto sets it always. Incoming QoS 2 state is kept when the session is
//! resumed and discarded when it is not: a new session never sends those PUBRELs.

use std::time::Instant;

use super::alias::IncomingAliases;
use super::event::Event;
use super::inflight::Resend;
use super::keepalive::Keepalive;
use super::limits::BrokerLimits;
use super::properties::{self as ids, int16, string};
use super::violation::Violation;
use super::{Link, Session};
use crate::error::Error;
use crate::protocol::packet::{Ack, ConnAck, Connect, Packet};
use crate::protocol::property::{Property, PropertyValue};

impl Session {
    /// Starts a connection (first or again): returns the CONNECT to write before
    /// anything from `take_outgoing`.
    pub fn connect_packet(&mut self, now: Instant) -> Packet {
        self.reset_connection();
        self.link = Link::AwaitingConnAck;
        self.keepalive = Some(Keepalive::new(self.config.keepalive, now));
        let alias_maximum = if self.config.protocol.is_v5() {
            int16(&self.config.connect_properties, ids::TOPIC_ALIAS_MAXIMUM)
                .ok()
                .flatten()
                .unwrap_or(0)
        } else {
            0
        };
        self.aliases = IncomingAliases::new(alias_maximum);
        Packet::Connect(Connect {
            protocol: self.config.protocol,
            clean_start: self.config.clean_start,
            keep_alive: self.config.keepalive,
            client_id: self.client_id().to_owned(),
            will: self.config.will.clone(),
            username: self.config.username.clone(),
            password: self.config.password.clone(),
            properties: self.connect_properties(),
        })
    }

    /// The socket closed, whatever the reason. Safe to call more than once.
    pub fn connection_lost(&mut self) {
        self.reset_connection();
    }

    /// Forgets what belonged to the network connection only; messages stay.
    fn reset_connection(&mut self) {
        self.link = Link::Down;
        self.disconnecting = false;
        self.keepalive = None;
        self.outbox.clear();
        // QoS 0 messages not written are lost with the connection, unreported,
        // and so are SUBSCRIBE and UNSUBSCRIBE requests without their answer.
        self.unwritten_qos0.clear();
        for id in self
            .awaiting_suback
            .drain()
            .chain(self.awaiting_unsuback.drain())
        {
            self.ids.release(id);
        }
    }

    /// Ours plus a Receive Maximum when the application gave none, as libmosquitto
    /// announces its receive window (default 20).
    fn connect_properties(&self) -> Vec<Property> {
        if !self.config.protocol.is_v5() {
            return Vec::new();
        }
        let mut properties = self.config.connect_properties.clone();
        if !ids::contains(&properties, ids::RECEIVE_MAXIMUM) {
            properties.push(Property {
                id: ids::RECEIVE_MAXIMUM,
                value: PropertyValue::Int16(self.config.receive_maximum),
            });
        }
        properties
    }

    pub(super) fn handle_connack(&mut self, connack: ConnAck) -> Result<(), Violation> {
        if self.link != Link::AwaitingConnAck {
            return Err(Violation::protocol());
        }
        if connack.reason_code != 0 {
            self.events.push(Event::ConnectRefused {
                reason_code: connack.reason_code,
                properties: connack.properties,
            });
            // The 3.1.1 refusals let loop_forever try again; any other code,
            // MQTT 5 ones included, stops it, as in libmosquitto.
            let error = match connack.reason_code {
                1..=5 => Error::ConnRefused,
                _ => Error::Protocol,
            };
            return Err(Violation::silent(error));
        }

        let is_v5 = self.config.protocol.is_v5();
        if is_v5 {
            self.limits = BrokerLimits::from_connack(&connack.properties)?;
            if let Some(assigned) = string(&connack.properties, ids::ASSIGNED_CLIENT_IDENTIFIER)? {
                // Only an empty identifier may be assigned one.
                if !self.client_id().is_empty() {
                    return Err(Violation::protocol());
                }
                self.assigned_client_id = Some(assigned.to_owned());
            }
            if let Some(seconds) = int16(&connack.properties, ids::SERVER_KEEP_ALIVE)? {
                if let Some(keepalive) = &mut self.keepalive {
                    keepalive.set_interval(seconds);
                }
            }
        } else {
            self.limits = BrokerLimits::default();
        }

        self.link = Link::Up;
        if !connack.session_present {
            self.incoming.clear();
        }
        self.events.push(Event::Connected {
            session_present: connack.session_present,
            properties: connack.properties,
        });
        self.resend_in_flight(connack.session_present);
        self.release_outgoing();
        Ok(())
    }

    fn resend_in_flight(&mut self, session_present: bool) {
        let window = self.send_window();
        for resend in self.outgoing.prepare_resend(window) {
            let packet = match resend {
                Resend::Publish(mut publish) => {
                    publish.dup = session_present;
                    Packet::Publish(publish)
                }
                Resend::PubRel(packet_id) => Packet::PubRel(Ack {
                    packet_id,
                    reason_code: 0,
                    properties: Vec::new(),
                }),
            };
            self.outbox.push(packet);
        }
    }
}
