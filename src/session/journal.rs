//! What changed in the session's unfinished state, for a store to record
//! (skeeter's persistence, `crate::persist`). The session only lists changes, in
//! order; the client turns them into records and makes them durable before the
//! packets they precede are written. Off (no list, no cost) unless asked for.
//!
//! Also the two ways back in: `restore` (the state a store kept, before the first
//! CONNECT) and `withdraw` (a publish the store could not record is undone, so the
//! program is told it failed and nothing unrecorded is sent).

use super::inflight::Awaiting;
use super::Session;
use crate::protocol::packet::Publish;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// An outgoing message was accepted: QoS 1 or 2, or (`qos0`) a QoS 0 one
    /// the offline queue keeps. `Session::stored_outgoing` has it.
    Accepted { mid: u16, qos0: bool },
    /// PUBREC came for outgoing QoS 2 message `mid`.
    PubRecReceived(u16),
    /// Outgoing QoS 1 or 2 message `mid` is done (answered, refused or dropped).
    Completed(u16),
    /// The offline queue's QoS 0 message `mid` was sent or dropped.
    QueuedGone(u16),
    /// An incoming QoS 2 message is held; `Session::held_incoming` has it.
    IncomingHeld(u16),
    /// Incoming QoS 2 message `mid` was released by its PUBREL.
    IncomingReleased(u16),
    /// A CONNACK without a session: no incoming message is held.
    IncomingCleared,
}

/// An outgoing message to put back, with whether its PUBREC had come.
#[derive(Debug, Clone)]
pub struct RestoredOut {
    pub publish: Publish,
    pub released: bool,
}

impl Session {
    /// Starts (or stops) listing changes.
    pub fn set_journal(&mut self, on: bool) {
        self.journal = on.then(|| Box::new(Vec::new()));
    }

    /// Whether changes wait to be taken.
    pub fn has_changes(&self) -> bool {
        self.journal.as_ref().is_some_and(|j| !j.is_empty())
    }

    /// The changes since the last call, in order.
    pub fn take_changes(&mut self) -> Vec<Change> {
        match self.journal.as_mut() {
            Some(journal) => std::mem::take(&mut **journal),
            None => Vec::new(),
        }
    }

    pub(super) fn note_change(&mut self, change: Change) {
        if let Some(journal) = self.journal.as_mut() {
            journal.push(change);
        }
    }

    /// The outgoing message an `Accepted` change names, if still there.
    pub fn stored_outgoing(&self, mid: u16, qos0: bool) -> Option<&Publish> {
        self.outgoing.find(mid, qos0)
    }

    /// The incoming message an `IncomingHeld` change names, if still held.
    pub fn held_incoming(&self, mid: u16) -> Option<&Publish> {
        self.incoming.get(mid)
    }

    /// Puts back what a store kept: outgoing QoS 1 and 2 messages in flight with
    /// their own ids (sent again, DUP set, after the next CONNACK), queued QoS 0
    /// ones waiting, incoming QoS 2 ones held for their PUBREL.
    pub fn restore(&mut self, outgoing: Vec<RestoredOut>, incoming: Vec<Publish>) {
        for RestoredOut { publish, released } in outgoing {
            if publish.qos == 0 {
                self.outgoing.push(publish);
                continue;
            }
            self.ids.reserve(publish.packet_id);
            let awaiting = match (publish.qos, released) {
                (1, _) => Awaiting::PubAck,
                (_, false) => Awaiting::PubRec,
                (_, true) => Awaiting::PubComp,
            };
            self.outgoing.restore_in_flight(publish, awaiting);
        }
        for publish in incoming {
            self.incoming.hold(publish);
        }
    }

    /// Undoes the publish of `mid` (just accepted, not yet written).
    pub fn withdraw(&mut self, mid: u16, qos0: bool) {
        if self.outgoing.remove(mid, qos0) && !qos0 {
            self.ids.release(mid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::protocol::packet::Packet;

    fn journaled() -> Session {
        let mut session = connected(v311());
        session.set_journal(true);
        session
    }

    #[test]
    fn without_a_journal_nothing_is_listed() {
        let mut session = connected(v311());
        publish(&mut session, 1);
        assert!(!session.has_changes());
        assert!(session.take_changes().is_empty());
    }

    #[test]
    fn a_qos1_message_is_listed_when_accepted_and_when_acknowledged() {
        let mut session = journaled();
        let mid = publish(&mut session, 1);
        assert_eq!(
            session.take_changes(),
            [Change::Accepted { mid, qos0: false }]
        );
        assert_eq!(session.stored_outgoing(mid, false).map(|p| p.qos), Some(1));
        receive(&mut session, Packet::PubAck(ack(mid))).unwrap();
        assert_eq!(session.take_changes(), [Change::Completed(mid)]);
    }

    #[test]
    fn a_qos2_message_lists_its_pubrec_before_its_pubrel_is_sent() {
        let mut session = journaled();
        let mid = publish(&mut session, 2);
        session.take_changes();
        receive(&mut session, Packet::PubRec(ack(mid))).unwrap();
        assert_eq!(session.take_changes(), [Change::PubRecReceived(mid)]);
        receive(&mut session, Packet::PubComp(ack(mid))).unwrap();
        assert_eq!(session.take_changes(), [Change::Completed(mid)]);
    }

    #[test]
    fn an_incoming_qos2_message_is_listed_when_held_and_when_released() {
        let mut session = journaled();
        receive(&mut session, Packet::Publish(message(2, 9, "a"))).unwrap();
        receive(&mut session, Packet::Publish(message(2, 9, "a"))).unwrap();
        assert_eq!(session.take_changes(), [Change::IncomingHeld(9)]);
        assert_eq!(session.held_incoming(9).map(|p| p.packet_id), Some(9));
        receive(&mut session, Packet::PubRel(ack(9))).unwrap();
        assert_eq!(session.take_changes(), [Change::IncomingReleased(9)]);
    }

    #[test]
    fn a_connack_without_a_session_clears_what_was_held() {
        let config = v311();
        let mut session = journaled();
        receive(&mut session, Packet::Publish(message(2, 9, "a"))).unwrap();
        session.connection_lost();
        session.take_changes();
        reconnect(&mut session, &config, false);
        assert_eq!(session.take_changes(), [Change::IncomingCleared]);
    }

    #[test]
    fn restored_messages_go_again_with_their_ids_and_dup_set_after_connack() {
        let config = v311();
        let mut session = Session::new(&config);
        let mut qos2 = message(2, 700, "b");
        qos2.payload = b"gone".to_vec();
        session.restore(
            vec![
                RestoredOut {
                    publish: message(1, 500, "a"),
                    released: false,
                },
                RestoredOut {
                    publish: qos2,
                    released: true,
                },
            ],
            vec![message(2, 9, "in")],
        );
        let sent = reconnect(&mut session, &config, true);
        assert!(matches!(&sent[0], Packet::Publish(p) if p.packet_id == 500 && p.dup));
        assert_eq!(summary(&sent[1..]), ["rel 700"]);
        // The held incoming message is delivered on its PUBREL, once.
        receive(&mut session, Packet::PubRel(ack(9))).unwrap();
        let delivered = session
            .take_events()
            .into_iter()
            .filter(|e| matches!(e, crate::session::Event::Message(_)))
            .count();
        assert_eq!(delivered, 1);
        // A new message does not take a restored id.
        let mid = publish(&mut session, 1);
        assert!(mid != 500 && mid != 700);
    }

    #[test]
    fn a_withdrawn_message_is_not_sent_and_frees_its_id() {
        let mut session = journaled();
        let mid = publish(&mut session, 1);
        session.withdraw(mid, false);
        assert!(session.take_outgoing().is_empty());
        assert_eq!(session.in_flight_count(), 0);
        assert!(!session.ids.is_in_use(mid));
    }

    #[test]
    fn a_queued_qos0_message_is_listed_as_gone_once_sent() {
        let config = v311();
        let mut session = journaled();
        let bound = crate::session::offline_queue::OfflineBound {
            max_messages: 10,
            max_bytes: 0,
            when_full: crate::session::offline_queue::WhenFull::DropOldest,
            keep_qos0: true,
        };
        session.set_offline_bound(Some(bound));
        session.connection_lost();
        let mid = publish(&mut session, 0);
        assert_eq!(
            session.take_changes(),
            [Change::Accepted { mid, qos0: true }]
        );
        reconnect(&mut session, &config, true);
        assert_eq!(session.take_changes(), [Change::QueuedGone(mid)]);
    }
}
