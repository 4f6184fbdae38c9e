//! Re-subscribing after a reconnect that lost the session (skeeter's
//! `skeeter_resubscribe_set`): the recorded subscriptions (see `subscriptions`)
//! are sent again ahead of everything queued, and answered as the program's own
//! (their SUBACKs raise `on_subscribe`).

use super::{packet_size, Outgoing, Session};
use crate::protocol::packet::{Packet, Subscribe};

impl Session {
    /// Turns keeping the record of subscriptions on (from the next subscribe
    /// on) or off (forgetting it).
    pub fn set_resubscribe(&mut self, on: bool) {
        match (on, self.subscriptions.is_some()) {
            (true, false) => self.subscriptions = Some(Box::default()),
            (false, true) => self.subscriptions = None,
            _ => {}
        }
    }

    /// How many filters the record holds (0 when re-subscribing is off).
    pub fn recorded_subscriptions(&self) -> usize {
        self.subscriptions.as_ref().map_or(0, |r| r.len())
    }

    /// After a CONNACK: the recorded subscriptions go first in the outbox, in
    /// as few SUBSCRIBEs as the broker's packet size allows; all of them
    /// without a session, and with one those whose SUBSCRIBE was lost before
    /// its SUBACK (the broker may never have read it).
    pub(super) fn resubscribe(&mut self, session_present: bool) {
        let Some(record) = self.subscriptions.as_mut() else {
            return;
        };
        let protocol = self.settings.protocol;
        let maximum = self
            .limits
            .maximum_packet_size
            .map_or(usize::MAX, |m| m as usize);
        let renewals = record.renewals(session_present, |filters, properties| {
            packet_size::subscribe(protocol, filters, properties) <= maximum
        });
        let mut packets = Vec::with_capacity(renewals.len());
        for (filters, properties) in renewals {
            // Without a free packet identifier the rest cannot be sent.
            let Ok(packet_id) = self.ids.allocate() else {
                break;
            };
            self.awaiting_suback.insert(packet_id, filters.len());
            record.sent_in(&filters, packet_id);
            packets.push(Outgoing::Packet(Packet::Subscribe(Subscribe {
                packet_id,
                filters,
                properties,
            })));
        }
        self.outbox.splice(0..0, packets);
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::Event;
    use super::super::test_support::*;
    use super::super::Session;
    use crate::protocol::packet::{Packet, SubAck};

    fn subscribed(config: crate::session::Config<'static>, filters: &[&str]) -> Session {
        let mut session = connected(config);
        session.set_resubscribe(true);
        let filters: Vec<(String, u8)> = filters.iter().map(|f| (f.to_string(), 1)).collect();
        let count = filters.len();
        let mid = session.subscribe(filters, Vec::new()).unwrap();
        session.take_outgoing();
        let suback = Packet::SubAck(SubAck {
            packet_id: mid,
            reason_codes: vec![1; count],
            properties: Vec::new(),
        });
        receive(&mut session, suback).unwrap();
        session.take_events();
        session
    }

    fn subscribes(packets: &[Packet]) -> Vec<Vec<String>> {
        packets
            .iter()
            .filter_map(|p| match p {
                Packet::Subscribe(s) => Some(s.filters.iter().map(|(f, _)| f.clone()).collect()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_reconnect_without_a_session_sends_the_subscriptions_before_queued_messages() {
        let config = v311();
        let mut session = subscribed(config, &["a", "b"]);
        let mid = publish(&mut session, 1);
        let sent = reconnect(&mut session, &config, false);
        assert!(matches!(&sent[0], Packet::Subscribe(_)), "{sent:?}");
        assert_eq!(subscribes(&sent), [["a", "b"]]);
        assert_eq!(summary(&sent[1..]), [format!("dup {mid}")]);
    }

    #[test]
    fn a_reconnect_that_kept_the_session_sends_none() {
        let config = v311();
        let mut session = subscribed(config, &["a"]);
        assert!(subscribes(&reconnect(&mut session, &config, true)).is_empty());
    }

    fn suback(packet_id: u16) -> Packet {
        Packet::SubAck(SubAck {
            packet_id,
            reason_codes: vec![1],
            properties: Vec::new(),
        })
    }

    #[test]
    fn a_subscribe_lost_before_its_suback_goes_again_when_the_session_was_kept() {
        let config = v311();
        let mut session = connected(config);
        session.set_resubscribe(true);
        let acked = session
            .subscribe(vec![("acked".into(), 1)], Vec::new())
            .unwrap();
        session
            .subscribe(vec![("lost".into(), 1)], Vec::new())
            .unwrap();
        session.take_outgoing();
        receive(&mut session, suback(acked)).unwrap();
        let sent = reconnect(&mut session, &config, true);
        assert_eq!(subscribes(&sent), [["lost"]]);
        // Answered this time: the next reconnect with a session sends nothing.
        let Packet::Subscribe(again) = &sent[0] else {
            panic!("{sent:?}");
        };
        receive(&mut session, suback(again.packet_id)).unwrap();
        assert!(subscribes(&reconnect(&mut session, &config, true)).is_empty());
    }

    #[test]
    fn without_re_subscribe_a_subscribe_lost_before_its_suback_stays_lost() {
        // libmosquitto's behaviour: nothing is sent again.
        let config = v311();
        let mut session = connected(config);
        session
            .subscribe(vec![("lost".into(), 1)], Vec::new())
            .unwrap();
        session.take_outgoing();
        assert!(subscribes(&reconnect(&mut session, &config, true)).is_empty());
    }

    #[test]
    fn without_re_subscribe_on_nothing_is_recorded_or_sent() {
        let config = v311();
        let mut session = connected(config);
        session
            .subscribe(vec![("a".into(), 0)], Vec::new())
            .unwrap();
        session.take_outgoing();
        assert_eq!(session.recorded_subscriptions(), 0);
        assert!(subscribes(&reconnect(&mut session, &config, false)).is_empty());
    }

    #[test]
    fn the_suback_of_a_renewal_is_reported_as_the_programs_own() {
        let config = v311();
        let mut session = subscribed(config, &["a"]);
        let sent = reconnect(&mut session, &config, false);
        let Packet::Subscribe(renewal) = &sent[0] else {
            panic!("{sent:?}");
        };
        session.take_events();
        let suback = Packet::SubAck(SubAck {
            packet_id: renewal.packet_id,
            reason_codes: vec![1],
            properties: Vec::new(),
        });
        receive(&mut session, suback).unwrap();
        assert!(matches!(
            session.take_events()[..],
            [Event::Subscribed { mid, .. }] if mid == renewal.packet_id
        ));
    }

    #[test]
    fn the_brokers_maximum_packet_size_splits_the_renewal() {
        let config = v5();
        let mut session = subscribed(config, &["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"]);
        session.connection_lost();
        session.connect_packet(&config, std::time::Instant::now());
        // Room for two 10-byte filters: 2 + 10 + 1 each, packet id, properties, header.
        let limit = vec![int32(crate::session::properties::MAXIMUM_PACKET_SIZE, 31)];
        receive(&mut session, connack(false, limit)).unwrap();
        let sent = session.take_outgoing();
        assert_eq!(
            subscribes(&sent).iter().map(Vec::len).collect::<Vec<_>>(),
            [2, 1]
        );
    }
}
