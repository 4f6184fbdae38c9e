//! Requests from the application: PUBLISH, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT.
//!
//! Each checks what the protocol and the broker's CONNACK allow, in the order
//! libmosquitto checks, then reserves an identifier and queues the packet. Topic
//! and filter syntax and UTF-8 are the client layer's to check (`protocol::topic`).
//!
//! When requests go out:
//! - QoS 0 PUBLISH, SUBSCRIBE and UNSUBSCRIBE need a connection (`Error::NoConn`
//!   without one) and go out at once, even before CONNACK, as in libmosquitto.
//! - QoS 1 and 2 PUBLISH are always accepted: they wait for the CONNACK (so that
//!   messages resent after a reconnect keep their place ahead of them) and for room
//!   in the send window. libmosquitto queues them too but returns `NoConn` while
//!   disconnected; the client layer may do the same with `Session::link`.

use super::journal::Change;
use super::packet_size;
use super::properties as ids;
use super::{Link, Session};
use crate::error::{Error, Result};
use crate::protocol::packet::{Packet, Publish, ReasonOnly, Subscribe, Unsubscribe};
use crate::protocol::property::Properties;

/// The largest payload a PUBLISH can carry (`MQTT_MAX_PAYLOAD`).
pub const MAX_PAYLOAD: usize = crate::protocol::codec::MAX_VARINT as usize;

impl Session {
    /// Queues a message and returns its mid (also for QoS 0, as the C API does).
    pub fn publish(
        &mut self,
        topic: String,
        payload: Vec<u8>,
        qos: u8,
        retain: bool,
        properties: Properties,
    ) -> Result<u16> {
        self.check_publish(&topic, payload.len(), qos, retain, &properties)?;
        if self.keeps_offline(qos) {
            self.make_offline_room(topic.len() + payload.len())?;
        }
        // A QoS 0 message kept offline (skeeter's) waits with the QoS 1 and 2
        // ones, in order, until the next CONNACK. Its mid is reserved while it
        // waits, so no QoS 1 or 2 message published meanwhile can share it.
        let kept_qos0 = qos == 0 && self.keeps_offline(0);
        let mid = match qos {
            0 if kept_qos0 => self.ids.allocate()?,
            0 => self.accept_qos0()?,
            _ => self.ids.allocate()?,
        };
        let publish = Publish {
            dup: false,
            qos,
            retain,
            topic,
            packet_id: mid,
            payload,
            properties,
        };
        if qos == 0 && !kept_qos0 {
            // The wire leaves a QoS 0 message's id out; the log shows it.
            self.send(Packet::Publish(publish));
            return Ok(mid);
        }
        self.outgoing.push(publish);
        self.note_change(Change::Accepted {
            mid,
            qos0: kept_qos0,
        });
        if self.link == Link::Up {
            self.release_outgoing();
        }
        Ok(mid)
    }

    /// Accepts a QoS 0 message that the caller encodes itself, straight from its
    /// own buffers, after everything `take_outgoing` hands out: the checks of
    /// `publish`, and the mid. Report it written with
    /// `note_sent(Written::Qos0Publish)`, as for one from `publish`.
    pub fn publish_qos0_direct(
        &mut self,
        topic: &str,
        payload_len: usize,
        retain: bool,
        properties: &Properties,
    ) -> Result<u16> {
        self.check_publish(topic, payload_len, 0, retain, properties)?;
        self.accept_qos0()
    }

    /// As `publish_qos0_direct`, for a caller that writes the message at once
    /// and reports it itself, when no QoS 0 message waits to be written before
    /// it: its mid is not queued. Then either `note_qos0_written_unqueued`, or,
    /// if it did not go out whole, `note_qos0_unwritten(mid)` before anything
    /// else is published, and it is reported once written like the others.
    pub fn publish_qos0_unqueued(
        &mut self,
        topic: &str,
        payload_len: usize,
        retain: bool,
        properties: &Properties,
    ) -> Result<u16> {
        debug_assert!(self.unwritten_qos0.is_empty());
        self.check_publish(topic, payload_len, 0, retain, properties)?;
        if self.link == Link::Down {
            return Err(Error::NoConn);
        }
        self.ids.allocate_unreserved()
    }

    /// A message from `publish_qos0_unqueued` waits to be written after all.
    pub fn note_qos0_unwritten(&mut self, mid: u16) {
        self.unwritten_qos0.push_back(mid);
    }

    #[inline]
    fn check_publish(
        &self,
        topic: &str,
        payload_len: usize,
        qos: u8,
        retain: bool,
        properties: &Properties,
    ) -> Result<()> {
        let protocol = self.settings.protocol;
        if qos > 2 {
            return Err(Error::Inval);
        }
        if !protocol.is_v5() && !properties.is_empty() {
            return Err(Error::NotSupported);
        }
        // An empty topic is only allowed when an MQTT 5 Topic Alias names it.
        if topic.is_empty() && !(protocol.is_v5() && ids::contains(properties, ids::TOPIC_ALIAS)) {
            return Err(Error::Inval);
        }
        if qos > self.limits.maximum_qos {
            return Err(Error::QosNotSupported);
        }
        if retain && !self.limits.retain_available {
            return Err(Error::RetainNotSupported);
        }
        if payload_len > MAX_PAYLOAD {
            return Err(Error::PayloadSize);
        }
        self.check_size(|| packet_size::publish(protocol, topic, payload_len, qos, properties))
    }

    /// The mid of a QoS 0 message, which waits to be written.
    fn accept_qos0(&mut self) -> Result<u16> {
        if self.link == Link::Down {
            return Err(Error::NoConn);
        }
        let mid = self.ids.allocate_unreserved()?;
        self.unwritten_qos0.push_back(mid);
        Ok(mid)
    }

    /// `filters` pairs each filter with its options byte (QoS in bits 0-1, and the
    /// MQTT 5 subscription options above). Returns the mid of the SUBSCRIBE.
    pub fn subscribe(
        &mut self,
        mut filters: Vec<(String, u8)>,
        properties: Properties,
    ) -> Result<u16> {
        let protocol = self.settings.protocol;
        if self.link == Link::Down {
            return Err(Error::NoConn);
        }
        if filters.is_empty()
            || filters
                .iter()
                .any(|(f, options)| f.is_empty() || options & 0x03 == 3)
        {
            return Err(Error::Inval);
        }
        if !protocol.is_v5() {
            if !properties.is_empty() {
                return Err(Error::NotSupported);
            }
            // Before MQTT 5 the bits above the QoS are reserved and must be 0.
            for (_, options) in &mut filters {
                *options &= 0x03;
            }
        }
        self.check_size(|| packet_size::subscribe(protocol, &filters, &properties))?;
        let packet_id = self.ids.allocate()?;
        self.awaiting_suback.insert(packet_id, filters.len());
        if let Some(record) = self.subscriptions.as_mut() {
            record.subscribed(&filters, &properties, packet_id);
        }
        self.send(Packet::Subscribe(Subscribe {
            packet_id,
            filters,
            properties,
        }));
        Ok(packet_id)
    }

    /// Returns the mid of the UNSUBSCRIBE.
    pub fn unsubscribe(&mut self, filters: Vec<String>, properties: Properties) -> Result<u16> {
        let protocol = self.settings.protocol;
        if self.link == Link::Down {
            return Err(Error::NoConn);
        }
        if filters.is_empty() || filters.iter().any(String::is_empty) {
            return Err(Error::Inval);
        }
        if !protocol.is_v5() && !properties.is_empty() {
            return Err(Error::NotSupported);
        }
        self.check_size(|| packet_size::unsubscribe(protocol, &filters, &properties))?;
        let packet_id = self.ids.allocate()?;
        self.awaiting_unsuback.insert(packet_id, filters.len());
        if let Some(record) = self.subscriptions.as_mut() {
            record.unsubscribed(&filters);
        }
        self.send(Packet::Unsubscribe(Unsubscribe {
            packet_id,
            filters,
            properties,
        }));
        Ok(packet_id)
    }

    /// Queues DISCONNECT (the reason code is MQTT 5 only). The client closes the
    /// socket once it is written; keepalive stops meanwhile.
    pub fn disconnect(&mut self, reason_code: u8, properties: Properties) -> Result<()> {
        if self.link == Link::Down {
            return Err(Error::NoConn);
        }
        if !self.settings.protocol.is_v5() && !properties.is_empty() {
            return Err(Error::NotSupported);
        }
        self.disconnecting = true;
        self.send(Packet::Disconnect(ReasonOnly {
            reason_code,
            properties,
        }));
        Ok(())
    }

    /// `size` is only worked out when the broker set a maximum.
    fn check_size(&self, size: impl FnOnce() -> usize) -> Result<()> {
        match self.limits.maximum_packet_size {
            Some(maximum) if size() > maximum as usize => Err(Error::OversizePacket),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::event::Event;
    use super::super::properties as ids;
    use super::super::test_support::*;
    use super::super::{Outbound, Session};
    use crate::error::Error;
    use crate::protocol::packet::{Packet, SubAck, UnsubAck};

    #[test]
    fn a_qos0_publish_goes_out_at_once_carrying_its_mid_and_is_reported_once_written() {
        let mut session = connected(v311());
        let mid = publish(&mut session, 0);
        let out = session.take_outgoing();
        // The mid is for the log; the encoder leaves a QoS 0 packet id out.
        assert!(matches!(&out[..], [Packet::Publish(p)] if p.qos == 0 && p.packet_id == mid));
        assert!(session.take_events().is_empty());
        session.note_written(&out[0], Instant::now());
        assert_eq!(session.take_events(), vec![published(mid, 0)]);
    }

    #[test]
    fn a_qos0_publish_without_a_connection_is_refused() {
        let mut session = Session::new(&v311());
        let result = session.publish("t".into(), vec![], 0, false, vec![]);
        assert_eq!(result, Err(Error::NoConn));
    }

    #[test]
    fn a_qos1_publish_is_done_on_puback() {
        let mut session = connected(v311());
        let mid = publish(&mut session, 1);
        assert_eq!(
            summary(&session.take_outgoing()),
            vec![format!("pub {mid}")]
        );
        receive(&mut session, Packet::PubAck(ack(mid))).unwrap();
        assert_eq!(session.take_events(), vec![published(mid, 0)]);
        assert!(!session.ids.is_in_use(mid));
        assert_eq!(session.in_flight_count(), 0);
    }

    #[test]
    fn a_qos1_publish_is_lent_to_the_writer_not_copied() {
        let mut session = connected(v311());
        let mid = publish(&mut session, 1);
        let mut lent = Vec::new();
        session.drain_outgoing(|out| match out {
            Outbound::Publish(p) => lent.push((p.packet_id, p.payload.clone())),
            Outbound::Packet(other) => panic!("unexpected {other:?}"),
        });
        assert_eq!(lent, vec![(mid, b"payload".to_vec())]);
        assert!(!session.has_outgoing());
    }

    #[test]
    fn a_message_acknowledged_before_it_is_written_is_not_sent() {
        let mut config = v311();
        config.send_maximum = 1;
        let mut session = connected(config);
        let first = publish(&mut session, 1);
        session.take_outgoing();
        let second = publish(&mut session, 1);
        // The PUBACK frees the window, the second message goes in flight and a
        // (misbehaving) broker acknowledges it before it was written.
        receive(&mut session, Packet::PubAck(ack(first))).unwrap();
        receive(&mut session, Packet::PubAck(ack(second))).unwrap();
        assert!(session.take_outgoing().is_empty());
    }

    #[test]
    fn a_qos2_publish_sends_pubrel_on_pubrec_and_is_done_on_pubcomp() {
        let mut session = connected(v311());
        let mid = publish(&mut session, 2);
        session.take_outgoing();
        receive(&mut session, Packet::PubRec(ack(mid))).unwrap();
        assert_eq!(
            summary(&session.take_outgoing()),
            vec![format!("rel {mid}")]
        );
        assert!(session.take_events().is_empty());
        receive(&mut session, Packet::PubComp(ack(mid))).unwrap();
        assert_eq!(session.take_events(), vec![published(mid, 0)]);
        assert_eq!(session.in_flight_count(), 0);
    }

    #[test]
    fn a_pubrec_with_an_error_reason_ends_a_qos2_publish_early() {
        let mut session = connected(v5());
        let mid = publish(&mut session, 2);
        session.take_outgoing();
        receive(&mut session, Packet::PubRec(ack_with(mid, 0x87))).unwrap();
        assert!(session.take_outgoing().is_empty());
        assert_eq!(session.take_events(), vec![published(mid, 0x87)]);
    }

    #[test]
    fn a_puback_reason_code_is_reported_in_mqtt5_only() {
        let mut v5_session = connected(v5());
        let mid = publish(&mut v5_session, 1);
        receive(&mut v5_session, Packet::PubAck(ack_with(mid, 0x10))).unwrap();
        assert_eq!(v5_session.take_events(), vec![published(mid, 0x10)]);

        let mut v3_session = connected(v311());
        let mid = publish(&mut v3_session, 1);
        receive(&mut v3_session, Packet::PubAck(ack_with(mid, 0x10))).unwrap();
        assert_eq!(v3_session.take_events(), vec![published(mid, 0)]);
    }

    #[test]
    fn messages_beyond_the_send_maximum_wait_until_acks_free_the_window() {
        let mut session = connected(Config {
            send_maximum: 2,
            ..v311()
        });
        let mids: Vec<u16> = (0..3).map(|_| publish(&mut session, 1)).collect();
        assert_eq!(summary(&session.take_outgoing()), vec!["pub 1", "pub 2"]);
        assert_eq!(session.waiting_count(), 1);
        receive(&mut session, Packet::PubAck(ack(mids[0]))).unwrap();
        assert_eq!(summary(&session.take_outgoing()), vec!["pub 3"]);
        assert_eq!(session.waiting_count(), 0);
    }

    #[test]
    fn the_broker_receive_maximum_narrows_the_send_window() {
        let props = vec![int16(ids::RECEIVE_MAXIMUM, 1)];
        let mut session = connected_with(v5(), props, Instant::now());
        publish(&mut session, 2);
        publish(&mut session, 1);
        assert_eq!(summary(&session.take_outgoing()), vec!["pub 1"]);
        receive(&mut session, Packet::PubRec(ack(1))).unwrap();
        // Still in flight until PUBCOMP: the window stays full.
        assert_eq!(summary(&session.take_outgoing()), vec!["rel 1"]);
        receive(&mut session, Packet::PubComp(ack(1))).unwrap();
        assert_eq!(summary(&session.take_outgoing()), vec!["pub 2"]);
    }

    #[test]
    fn a_send_maximum_of_zero_means_no_limit_of_our_own() {
        let mut session = connected(Config {
            send_maximum: 0,
            ..v311()
        });
        for _ in 0..100 {
            publish(&mut session, 1);
        }
        assert_eq!(session.take_outgoing().len(), 100);
    }

    #[test]
    fn a_qos1_publish_while_disconnected_goes_out_after_connack() {
        let mut session = Session::new(&v311());
        let mid = publish(&mut session, 1);
        assert!(session.take_outgoing().is_empty());
        let now = Instant::now();
        session.connect_packet(&v311(), now);
        assert!(session.take_outgoing().is_empty());
        receive(&mut session, connack(false, vec![])).unwrap();
        assert_eq!(
            summary(&session.take_outgoing()),
            vec![format!("pub {mid}")]
        );
    }

    #[test]
    fn qos0_and_subscribe_go_out_before_connack_but_qos1_waits_for_it() {
        let mut session = Session::new(&v311());
        session.connect_packet(&v311(), Instant::now());
        publish(&mut session, 1);
        publish(&mut session, 0);
        session.subscribe(vec![("a/#".into(), 1)], vec![]).unwrap();
        let out = session.take_outgoing();
        assert!(matches!(&out[..], [Packet::Publish(p), Packet::Subscribe(_)] if p.qos == 0));
        receive(&mut session, connack(false, vec![])).unwrap();
        assert_eq!(summary(&session.take_outgoing()), vec!["pub 1"]);
    }

    #[test]
    fn the_broker_maximum_qos_refuses_higher_qos() {
        let props = vec![byte(ids::MAXIMUM_QOS, 1)];
        let mut session = connected_with(v5(), props, Instant::now());
        let result = session.publish("t".into(), vec![], 2, false, vec![]);
        assert_eq!(result, Err(Error::QosNotSupported));
        assert!(session
            .publish("t".into(), vec![], 1, false, vec![])
            .is_ok());
    }

    #[test]
    fn retained_messages_are_refused_when_the_broker_has_no_retain() {
        let props = vec![byte(ids::RETAIN_AVAILABLE, 0)];
        let mut session = connected_with(v5(), props, Instant::now());
        let result = session.publish("t".into(), vec![], 0, true, vec![]);
        assert_eq!(result, Err(Error::RetainNotSupported));
        assert!(session
            .publish("t".into(), vec![], 0, false, vec![])
            .is_ok());
    }

    #[test]
    fn a_publish_above_the_broker_maximum_packet_size_is_refused() {
        let props = vec![int32(ids::MAXIMUM_PACKET_SIZE, 20)];
        let mut session = connected_with(v5(), props, Instant::now());
        // 2 fixed header + 3 topic + 2 id + 1 property length = 8; 12 bytes fit.
        let fits = session.publish("t".into(), vec![0; 12], 1, false, vec![]);
        assert!(fits.is_ok());
        let too_big = session.publish("t".into(), vec![0; 13], 1, false, vec![]);
        assert_eq!(too_big, Err(Error::OversizePacket));
        let sub = session.subscribe(vec![("a".repeat(20), 0)], vec![]);
        assert_eq!(sub, Err(Error::OversizePacket));
    }

    #[test]
    fn properties_before_mqtt5_are_not_supported() {
        let mut session = connected(v311());
        let props = vec![byte(0x01, 1)];
        let result = session.publish("t".into(), vec![], 0, false, props.clone());
        assert_eq!(result, Err(Error::NotSupported));
        let result = session.subscribe(vec![("t".into(), 0)], props);
        assert_eq!(result, Err(Error::NotSupported));
    }

    #[test]
    fn an_empty_topic_needs_an_mqtt5_topic_alias() {
        let mut session = connected(v5());
        let result = session.publish(String::new(), vec![], 0, false, vec![]);
        assert_eq!(result, Err(Error::Inval));
        let alias = vec![int16(ids::TOPIC_ALIAS, 1)];
        assert!(session
            .publish(String::new(), vec![], 0, false, alias)
            .is_ok());
    }

    #[test]
    fn qos_above_2_is_invalid() {
        let mut session = connected(v311());
        let result = session.publish("t".into(), vec![], 3, false, vec![]);
        assert_eq!(result, Err(Error::Inval));
    }

    #[test]
    fn subscribe_is_answered_with_the_granted_qos() {
        let mut session = connected(v311());
        let filters = vec![("a/+".into(), 1), ("b/#".into(), 2)];
        let mid = session.subscribe(filters.clone(), vec![]).unwrap();
        let out = session.take_outgoing();
        assert!(
            matches!(&out[..], [Packet::Subscribe(s)] if s.packet_id == mid && s.filters == filters)
        );
        let suback = SubAck {
            packet_id: mid,
            reason_codes: vec![1, 0x80],
            properties: vec![],
        };
        receive(&mut session, Packet::SubAck(suback)).unwrap();
        let expected = Event::Subscribed {
            mid,
            granted_qos: vec![1, 128],
            properties: vec![],
        };
        assert_eq!(session.take_events(), vec![expected]);
        assert!(!session.ids.is_in_use(mid));
    }

    #[test]
    fn subscribe_and_unsubscribe_need_a_connection() {
        let mut session = Session::new(&v311());
        let sub = session.subscribe(vec![("a".into(), 0)], vec![]);
        assert_eq!(sub, Err(Error::NoConn));
        let unsub = session.unsubscribe(vec!["a".into()], vec![]);
        assert_eq!(unsub, Err(Error::NoConn));
        assert_eq!(session.disconnect(0, vec![]), Err(Error::NoConn));
    }

    #[test]
    fn mqtt311_subscribe_clears_the_mqtt5_option_bits() {
        let mut session = connected(v311());
        session.subscribe(vec![("a".into(), 0x2D)], vec![]).unwrap();
        let out = session.take_outgoing();
        assert!(matches!(&out[..], [Packet::Subscribe(s)] if s.filters[0].1 == 1));
    }

    #[test]
    fn unsubscribe_is_answered_with_its_reason_codes() {
        let mut session = connected(v5());
        let mid = session.unsubscribe(vec!["a".into()], vec![]).unwrap();
        assert_eq!(session.take_outgoing().len(), 1);
        let unsuback = UnsubAck {
            packet_id: mid,
            reason_codes: vec![0x11],
            properties: vec![],
        };
        receive(&mut session, Packet::UnsubAck(unsuback)).unwrap();
        let expected = Event::Unsubscribed {
            mid,
            reason_codes: vec![0x11],
            properties: vec![],
        };
        assert_eq!(session.take_events(), vec![expected]);
    }

    #[test]
    fn disconnect_queues_disconnect_and_stops_keepalive() {
        let now = Instant::now();
        let mut session = connected_with(v5(), vec![], now);
        session.disconnect(0x04, vec![]).unwrap();
        let out = session.take_outgoing();
        assert!(matches!(&out[..], [Packet::Disconnect(d)] if d.reason_code == 0x04));
        assert!(session.is_disconnecting());
        assert_eq!(session.next_deadline(), None);
        assert_eq!(session.tick(now + secs(1000)), Ok(()));
    }

    #[test]
    fn mids_are_shared_by_publish_and_subscribe_and_skip_those_in_flight() {
        let mut session = connected(v311());
        assert_eq!(publish(&mut session, 1), 1);
        assert_eq!(session.subscribe(vec![("a".into(), 0)], vec![]).unwrap(), 2);
        assert_eq!(publish(&mut session, 0), 3);
        session.ids.set_last(u16::MAX);
        // 1 and 2 still wait for their answers.
        assert_eq!(publish(&mut session, 2), 3);
    }

    use super::super::Config;
}
