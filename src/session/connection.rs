//! One network connection's life: CONNECT, the CONNACK answer, and what happens to
//! the session's messages when the connection is lost and made again.
//!
//! Across reconnects, as libmosquitto does, outgoing QoS 1 and 2 messages are kept
//! whether or not the broker resumes the session, and sent again after CONNACK in
//! their original order: PUBLISH for those not yet past PUBREC, PUBREL for the
//! others, each PUBLISH with DUP set, as libmosquitto sends them. Incoming QoS 2 messages held for their PUBREL are
//! kept when the session is resumed and dropped when it is not: a new session
//! never sends those PUBRELs (libmosquitto keeps them, to no purpose).

use std::time::Instant;

use super::alias::IncomingAliases;
use super::config::{Config, Settings};
use super::event::Event;
use super::inflight::Resend;
use super::keepalive::Keepalive;
use super::limits::BrokerLimits;
use super::properties::{self as ids, int16, string};
use super::violation::Violation;
use super::{recycle_outgoing, Link, Session};
use crate::error::Error;
use crate::protocol::packet::{Ack, ConnAck, Connect, Packet};
use crate::protocol::property::{Property, PropertyValue};

impl Session {
    /// Starts a connection (first or again) with `config`, the client's current
    /// settings: returns the CONNECT to write before anything from `take_outgoing`.
    pub fn connect_packet(&mut self, config: &Config, now: Instant) -> Packet {
        self.reset_connection();
        self.settings = Settings::of(config);
        self.link = Link::AwaitingConnAck;
        if let Some(record) = self.subscriptions.as_mut() {
            record.connection_started();
        }
        self.keepalive = Some(Keepalive::new(config.keepalive, now));
        let alias_maximum = if config.protocol.is_v5() {
            int16(config.connect_properties, ids::TOPIC_ALIAS_MAXIMUM)
                .ok()
                .flatten()
                .unwrap_or(0)
        } else {
            0
        };
        self.aliases = IncomingAliases::new(alias_maximum);
        let client_id = self.client_id(config.client_id).to_owned();
        self.sent_empty_id = client_id.is_empty();
        Packet::Connect(Box::new(Connect {
            protocol: config.protocol,
            clean_start: config.clean_start,
            keep_alive: config.keepalive,
            client_id,
            will: config.will.cloned(),
            username: config.username.map(str::to_owned),
            password: config.password.map(<[u8]>::to_vec),
            properties: connect_properties(config),
        }))
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
        recycle_outgoing(std::mem::take(&mut self.outbox));
        // QoS 0 messages not written are lost with the connection, unreported,
        // and so are SUBSCRIBE and UNSUBSCRIBE requests without their answer.
        self.unwritten_qos0.clear();
        for (id, _) in self
            .awaiting_suback
            .take_all()
            .chain(self.awaiting_unsuback.take_all())
        {
            self.ids.release(id);
        }
    }

    pub(super) fn handle_connack(&mut self, connack: ConnAck) -> Result<(), Violation> {
        if self.link != Link::AwaitingConnAck {
            return Err(Violation::protocol());
        }
        if connack.reason_code != 0 {
            self.event(Event::ConnectRefused {
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

        let is_v5 = self.settings.protocol.is_v5();
        if is_v5 {
            self.limits = BrokerLimits::from_connack(&connack.properties)?;
            if let Some(assigned) = string(&connack.properties, ids::ASSIGNED_CLIENT_IDENTIFIER)? {
                // Only an empty identifier may be assigned one.
                if !self.sent_empty_id {
                    return Err(Violation::protocol());
                }
                self.assigned_client_id = Some(assigned.into());
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
        if !connack.session_present && self.incoming.len() > 0 {
            self.incoming.clear();
            self.note_change(super::journal::Change::IncomingCleared);
        }
        self.event(Event::Connected {
            session_present: connack.session_present,
            properties: connack.properties,
        });
        self.resubscribe(connack.session_present);
        self.resend_in_flight();
        self.release_outgoing();
        Ok(())
    }

    /// Messages in flight go again, marked as re-deliveries (DUP), whether or not
    /// the broker kept the session, as libmosquitto sends them (MQTT 3.1.1
    /// §3.3.1.1: DUP marks a re-delivery attempt).
    fn resend_in_flight(&mut self) {
        let window = self.send_window();
        for resend in self.outgoing.prepare_resend(window) {
            let packet = match resend {
                Resend::Publish(mut publish) => {
                    publish.dup = true;
                    Packet::Publish(publish)
                }
                Resend::PubRel(packet_id) => Packet::PubRel(Ack {
                    packet_id,
                    reason_code: 0,
                    properties: Vec::new(),
                }),
            };
            self.send(packet);
        }
    }
}

/// Ours plus a Receive Maximum when the application gave none, as libmosquitto
/// announces its receive window (default 20).
fn connect_properties(config: &Config) -> Vec<Property> {
    if !config.protocol.is_v5() {
        return Vec::new();
    }
    let mut properties = config.connect_properties.to_vec();
    if !ids::contains(&properties, ids::RECEIVE_MAXIMUM) {
        properties.push(Property {
            id: ids::RECEIVE_MAXIMUM,
            value: PropertyValue::Int16(config.receive_maximum),
        });
    }
    properties
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::event::Event;
    use super::super::properties as ids;
    use super::super::test_support::*;
    use super::super::{Config, Link, Session};
    use crate::error::Error;
    use crate::protocol::packet::{ConnAck, Connect, Packet, Will};

    fn connect_of(session: &mut Session, config: &Config) -> Connect {
        match session.connect_packet(config, Instant::now()) {
            Packet::Connect(connect) => *connect,
            other => panic!("expected CONNECT, got {other:?}"),
        }
    }

    fn refused(reason_code: u8) -> Packet {
        Packet::ConnAck(ConnAck {
            session_present: false,
            reason_code,
            properties: vec![],
        })
    }

    #[test]
    fn connect_carries_what_the_client_chose() {
        let will = Will {
            topic: "status".into(),
            payload: b"gone".to_vec(),
            qos: 1,
            retain: true,
            properties: vec![],
        };
        let config = Config {
            client_id: Some("me"),
            clean_start: false,
            keepalive: 30,
            username: Some("user"),
            password: Some(b"secret"),
            will: Some(&will),
            ..v311()
        };
        let mut session = Session::new(&config);
        let connect = connect_of(&mut session, &config);
        assert_eq!(connect.client_id, "me");
        assert!(!connect.clean_start);
        assert_eq!(connect.keep_alive, 30);
        assert_eq!(connect.username.as_deref(), Some("user"));
        assert_eq!(connect.password.as_deref(), Some(&b"secret"[..]));
        assert_eq!(connect.will, Some(will));
        assert!(connect.properties.is_empty());
        assert_eq!(session.link(), Link::AwaitingConnAck);
    }

    #[test]
    fn mqtt5_connect_announces_our_receive_maximum() {
        let mut session = Session::new(&v5());
        let connect = connect_of(&mut session, &v5());
        assert_eq!(connect.properties, vec![int16(ids::RECEIVE_MAXIMUM, 20)]);
    }

    #[test]
    fn a_receive_maximum_in_the_connect_properties_wins() {
        let props = vec![int32(0x11, 3600), int16(ids::RECEIVE_MAXIMUM, 3)];
        let config = Config {
            connect_properties: &props,
            ..v5()
        };
        let mut session = Session::new(&config);
        assert_eq!(connect_of(&mut session, &config).properties, props);
        assert_eq!(session.receive_maximum(), 3);
    }

    #[test]
    fn a_connack_reports_connected_with_session_present() {
        let mut session = Session::new(&v311());
        session.connect_packet(&v311(), Instant::now());
        receive(&mut session, connack(true, vec![])).unwrap();
        let expected = Event::Connected {
            session_present: true,
            properties: vec![],
        };
        assert_eq!(session.take_events(), vec![expected]);
        assert!(session.is_connected());
    }

    #[test]
    fn an_mqtt311_refusal_is_conn_refused_and_sends_nothing() {
        let mut session = Session::new(&v311());
        session.connect_packet(&v311(), Instant::now());
        assert_eq!(receive(&mut session, refused(5)), Err(Error::ConnRefused));
        let expected = Event::ConnectRefused {
            reason_code: 5,
            properties: vec![],
        };
        assert_eq!(session.take_events(), vec![expected]);
        assert!(session.take_outgoing().is_empty());
    }

    #[test]
    fn an_mqtt5_refusal_is_a_protocol_error_and_sends_no_disconnect() {
        let mut session = Session::new(&v5());
        session.connect_packet(&v5(), Instant::now());
        assert_eq!(receive(&mut session, refused(0x87)), Err(Error::Protocol));
        assert!(session.take_outgoing().is_empty());
        assert!(!session.is_connected());
    }

    #[test]
    fn an_assigned_client_identifier_is_adopted_and_reused_on_reconnect() {
        let props = vec![string(ids::ASSIGNED_CLIENT_IDENTIFIER, "auto-1234")];
        let mut session = connected_with(v5(), props, Instant::now());
        assert_eq!(session.client_id(None), "auto-1234");
        session.connection_lost();
        assert_eq!(connect_of(&mut session, &v5()).client_id, "auto-1234");
    }

    #[test]
    fn an_assigned_identifier_when_we_sent_one_is_a_protocol_error() {
        let config = Config {
            client_id: Some("mine"),
            ..v5()
        };
        let mut session = Session::new(&config);
        session.connect_packet(&config, Instant::now());
        let props = vec![string(ids::ASSIGNED_CLIENT_IDENTIFIER, "other")];
        assert_eq!(
            receive(&mut session, connack(false, props)),
            Err(Error::Protocol)
        );
    }

    #[test]
    fn the_server_keep_alive_replaces_ours() {
        let now = Instant::now();
        let props = vec![int16(ids::SERVER_KEEP_ALIVE, 5)];
        let session = connected_with(v5(), props, now);
        assert_eq!(session.keepalive_seconds(), 5);
        assert_eq!(session.next_deadline(), Some(now + secs(5)));
    }

    #[test]
    fn forbidden_connack_values_are_protocol_errors() {
        let mut session = Session::new(&v5());
        session.connect_packet(&v5(), Instant::now());
        let props = vec![byte(ids::MAXIMUM_QOS, 2)];
        assert_eq!(
            receive(&mut session, connack(false, props)),
            Err(Error::Protocol)
        );
    }

    /// Three messages: 1 (QoS 1, unanswered), 2 (QoS 2, past PUBREC), 3 (QoS 2,
    /// unanswered), then the connection drops.
    fn session_with_three_in_flight(config: Config) -> Session {
        let mut session = connected(config);
        publish(&mut session, 1);
        publish(&mut session, 2);
        publish(&mut session, 2);
        receive(&mut session, Packet::PubRec(ack(2))).unwrap();
        session.take_outgoing();
        session.connection_lost();
        session
    }

    #[test]
    fn a_resumed_session_resends_publish_with_dup_and_pubrel_in_order() {
        let mut session = session_with_three_in_flight(v311());
        let out = reconnect(&mut session, &v311(), true);
        assert_eq!(summary(&out), vec!["dup 1", "rel 2", "dup 3"]);
    }

    #[test]
    fn without_a_resumed_session_messages_in_flight_are_sent_again_with_dup() {
        let mut session = session_with_three_in_flight(v311());
        let out = reconnect(&mut session, &v311(), false);
        assert_eq!(summary(&out), vec!["dup 1", "rel 2", "dup 3"]);
    }

    #[test]
    fn resent_messages_go_ahead_of_ones_published_while_reconnecting() {
        let mut session = session_with_three_in_flight(v311());
        session.connect_packet(&v311(), Instant::now());
        publish(&mut session, 1);
        receive(&mut session, connack(true, vec![])).unwrap();
        let out = session.take_outgoing();
        assert_eq!(summary(&out), vec!["dup 1", "rel 2", "dup 3", "pub 4"]);
    }

    #[test]
    fn a_smaller_window_after_reconnect_holds_back_the_rest() {
        let mut session = session_with_three_in_flight(v5());
        session.connect_packet(&v5(), Instant::now());
        let props = vec![int16(ids::RECEIVE_MAXIMUM, 1)];
        receive(&mut session, connack(true, props)).unwrap();
        // Message 1 fills the window; 2 is past PUBREC and keeps its place.
        assert_eq!(summary(&session.take_outgoing()), vec!["dup 1", "rel 2"]);
        assert_eq!(session.waiting_count(), 1);
        receive(&mut session, Packet::PubAck(ack(1))).unwrap();
        receive(&mut session, Packet::PubComp(ack(2))).unwrap();
        assert_eq!(summary(&session.take_outgoing()), vec!["pub 3"]);
    }

    #[test]
    fn a_held_qos2_message_is_released_after_a_resumed_session() {
        let mut session = connected(v311());
        receive(&mut session, Packet::Publish(message(2, 5, "a"))).unwrap();
        reconnect(&mut session, &v311(), true);
        session.take_events();
        receive(&mut session, Packet::PubRel(ack(5))).unwrap();
        assert!(matches!(&session.take_events()[..], [Event::Message(p)] if p.packet_id == 5));
    }

    #[test]
    fn held_qos2_messages_are_dropped_when_the_session_is_not_resumed() {
        let mut session = connected(v311());
        receive(&mut session, Packet::Publish(message(2, 5, "a"))).unwrap();
        reconnect(&mut session, &v311(), false);
        session.take_events();
        receive(&mut session, Packet::PubRel(ack(5))).unwrap();
        assert!(session.take_events().is_empty());
    }

    #[test]
    fn a_subscribe_lost_with_the_connection_frees_its_identifier() {
        let mut session = connected(v311());
        let mid = session.subscribe(vec![("a".into(), 0)], vec![]).unwrap();
        assert!(session.ids.is_in_use(mid));
        session.connection_lost();
        assert!(!session.ids.is_in_use(mid));
    }

    #[test]
    fn a_qos0_message_lost_with_the_connection_is_never_reported() {
        let mut session = connected(v311());
        publish(&mut session, 0);
        session.connection_lost();
        reconnect(&mut session, &v311(), false);
        let pingreq = Packet::PingReq;
        session.note_written(&pingreq, Instant::now());
        assert!(session
            .take_events()
            .iter()
            .all(|e| !matches!(e, Event::Published { .. })));
    }

    #[test]
    fn connection_lost_can_be_called_twice() {
        let mut session = connected(v311());
        session.connection_lost();
        session.connection_lost();
        assert_eq!(session.link(), Link::Down);
    }
}
