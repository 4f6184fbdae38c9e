//! The bound on what waits while there is no connection (skeeter's
//! `skeeter_offline_queue_set`). libmosquitto keeps every QoS 1 and 2 message
//! published while offline, without limit, and refuses QoS 0 ones; with a
//! bound, at most so many messages (and topic and payload bytes) wait, counting
//! those still waiting from before the connection was lost, and QoS 0 messages
//! may be kept too. When a new message would pass the bound, either the oldest
//! waiting ones are dropped (each reported once, as an event, and counted) or
//! the new one is refused.

use super::event::Event;
use super::{Link, Session};
use crate::error::{Error, Result};
use crate::protocol::packet::Publish;

/// What happens to a message that would pass the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    DropOldest,
    RefuseNew,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflineBound {
    /// 0: no limit on the count.
    pub max_messages: usize,
    /// 0: no limit on the bytes.
    pub max_bytes: usize,
    pub when_full: WhenFull,
    /// QoS 0 messages published while offline wait too (else they are refused).
    pub keep_qos0: bool,
}

impl OfflineBound {
    /// Whether `count` messages of `bytes` in all, plus one of `size`, fit.
    pub fn fits(&self, count: usize, bytes: usize, size: usize) -> bool {
        let count_fits = self.max_messages == 0 || count < self.max_messages;
        let bytes_fit = self.max_bytes == 0 || bytes + size <= self.max_bytes;
        count_fits && bytes_fit
    }
}

/// The bound and what it has dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflineQueue {
    pub bound: OfflineBound,
    pub dropped: u64,
}

impl Session {
    /// Sets (or with `None` removes) the bound; the drop count is kept.
    pub fn set_offline_bound(&mut self, bound: Option<OfflineBound>) {
        let dropped = self.offline_dropped();
        self.offline = bound.map(|bound| Box::new(OfflineQueue { bound, dropped }));
    }

    /// Messages the bound has dropped.
    pub fn offline_dropped(&self) -> u64 {
        self.offline.as_ref().map_or(0, |q| q.dropped)
    }

    /// Whether a publish at `qos` while offline is kept by the bound: QoS 1
    /// and 2 always are (as libmosquitto keeps them), QoS 0 when asked.
    pub(super) fn keeps_offline(&self, qos: u8) -> bool {
        self.link == Link::Down
            && (qos > 0 || self.offline.as_ref().is_some_and(|q| q.bound.keep_qos0))
    }

    /// Makes room for a message of `size` bytes published while offline, as the
    /// bound says: dropping the oldest waiting messages, or `Error::NoMem`
    /// (skeeter.h's `SKEETER_ERR_QUEUE_FULL`).
    pub(super) fn make_offline_room(&mut self, size: usize) -> Result<()> {
        let Some(queue) = self.offline.as_deref().copied() else {
            return Ok(());
        };
        if self.link != Link::Down {
            return Ok(());
        }
        if !queue.bound.fits(0, 0, size) {
            // Larger than the whole bound: refused, and nothing dropped for it.
            return Err(Error::NoMem);
        }
        loop {
            let (count, bytes) = self.outgoing.waiting_totals();
            if queue.bound.fits(count, bytes, size) {
                return Ok(());
            }
            if queue.bound.when_full == WhenFull::RefuseNew {
                return Err(Error::NoMem);
            }
            let Some(oldest) = self.outgoing.drop_oldest_waiting() else {
                return Err(Error::NoMem);
            };
            self.dropped_offline(oldest);
        }
    }

    fn dropped_offline(&mut self, publish: Publish) {
        // Every waiting message holds its mid, QoS 0 ones included.
        self.ids.release(publish.packet_id);
        if publish.qos > 0 {
            self.note_change(super::journal::Change::Completed(publish.packet_id));
        } else {
            self.note_change(super::journal::Change::QueuedGone(publish.packet_id));
        }
        if let Some(queue) = self.offline.as_mut() {
            queue.dropped += 1;
        }
        self.event(Event::OfflineDropped {
            mid: publish.packet_id,
            topic: publish.topic,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::test_support::*;

    fn bound(
        max_messages: usize,
        max_bytes: usize,
        when_full: WhenFull,
        keep_qos0: bool,
    ) -> OfflineBound {
        OfflineBound {
            max_messages,
            max_bytes,
            when_full,
            keep_qos0,
        }
    }

    /// A session that was connected and lost its connection, with `bound`.
    fn offline(bound: Option<OfflineBound>) -> Session {
        let mut session = connected(v311());
        session.set_offline_bound(bound);
        session.connection_lost();
        session
    }

    fn publish_at(session: &mut Session, qos: u8, payload: &[u8]) -> Result<u16> {
        session.publish("t".into(), payload.to_vec(), qos, false, Vec::new())
    }

    #[test]
    fn the_bound_counts_messages_and_bytes_and_0_means_no_limit() {
        let b = bound(2, 10, WhenFull::RefuseNew, false);
        assert!(b.fits(1, 5, 5));
        assert!(!b.fits(2, 0, 1), "a third message");
        assert!(!b.fits(1, 5, 6), "eleven bytes");
        assert!(bound(0, 0, WhenFull::RefuseNew, false).fits(1_000_000, 1 << 40, 1));
    }

    #[test]
    fn without_a_bound_offline_messages_are_kept_as_libmosquitto_keeps_them() {
        let mut session = offline(None);
        for _ in 0..100 {
            publish_at(&mut session, 1, b"x").unwrap();
        }
        assert_eq!(session.waiting_count(), 100);
        assert_eq!(publish_at(&mut session, 0, b"x"), Err(Error::NoConn));
    }

    #[test]
    fn refuse_new_refuses_the_message_that_would_pass_the_bound() {
        let mut session = offline(Some(bound(2, 0, WhenFull::RefuseNew, false)));
        publish_at(&mut session, 1, b"a").unwrap();
        publish_at(&mut session, 2, b"b").unwrap();
        assert_eq!(publish_at(&mut session, 1, b"c"), Err(Error::NoMem));
        assert_eq!((session.waiting_count(), session.offline_dropped()), (2, 0));
    }

    #[test]
    fn drop_oldest_drops_and_reports_each_dropped_message_once() {
        let mut session = offline(Some(bound(2, 0, WhenFull::DropOldest, false)));
        let first = publish_at(&mut session, 1, b"a").unwrap();
        publish_at(&mut session, 1, b"b").unwrap();
        publish_at(&mut session, 1, b"c").unwrap();
        assert_eq!((session.waiting_count(), session.offline_dropped()), (2, 1));
        assert_eq!(
            session.take_events(),
            [Event::OfflineDropped {
                mid: first,
                topic: "t".into()
            }]
        );
    }

    #[test]
    fn a_byte_bound_drops_as_many_as_it_takes() {
        // Each message is "t" and 4 bytes of payload: 5 bytes.
        let mut session = offline(Some(bound(0, 12, WhenFull::DropOldest, false)));
        publish_at(&mut session, 1, b"aaaa").unwrap();
        publish_at(&mut session, 1, b"bbbb").unwrap();
        publish_at(&mut session, 1, b"cccccccccc").unwrap();
        assert_eq!((session.waiting_count(), session.offline_dropped()), (1, 2));
        assert_eq!(publish_at(&mut session, 1, &[b'x'; 20]), Err(Error::NoMem));
        assert_eq!(
            session.waiting_count(),
            1,
            "nothing dropped for a message too large"
        );
    }

    #[test]
    fn a_qos_0_message_kept_offline_holds_its_mid_until_it_is_sent() {
        let config = v311();
        let mut session = connected(config);
        session.set_offline_bound(Some(bound(10, 0, WhenFull::DropOldest, true)));
        session.connection_lost();
        let q0 = publish_at(&mut session, 0, b"zero").unwrap();
        // The identifiers come round to it while it waits: a QoS 1 message
        // published now must not get the same mid.
        session.ids.set_last(q0 - 1);
        let q1 = publish_at(&mut session, 1, b"one").unwrap();
        assert_ne!(q1, q0, "a QoS 1 message shares the waiting QoS 0 one's mid");
        // Sent after the CONNACK: its mid is free again.
        reconnect(&mut session, &config, false);
        assert!(!session.ids.is_in_use(q0));
    }

    #[test]
    fn a_kept_qos_0_message_that_the_bound_drops_frees_its_mid() {
        let mut session = offline(Some(bound(1, 0, WhenFull::DropOldest, true)));
        let dropped = publish_at(&mut session, 0, b"a").unwrap();
        publish_at(&mut session, 0, b"b").unwrap();
        assert_eq!(session.offline_dropped(), 1);
        assert!(!session.ids.is_in_use(dropped));
    }

    #[test]
    fn qos_0_messages_wait_when_asked_and_go_after_the_connack_in_order() {
        let config = v311();
        let mut session = connected(config);
        session.set_offline_bound(Some(bound(10, 0, WhenFull::DropOldest, true)));
        session.connection_lost();
        let q1 = publish_at(&mut session, 1, b"one").unwrap();
        let q0 = publish_at(&mut session, 0, b"zero").unwrap();
        let sent = reconnect(&mut session, &config, false);
        let kinds: Vec<(u8, u16)> = sent
            .iter()
            .map(|p| match p {
                crate::protocol::packet::Packet::Publish(p) => (p.qos, p.packet_id),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(kinds, [(1, q1), (0, q0)]);
        // The QoS 0 one is reported once written, as any QoS 0 message.
        session.note_sent(crate::session::Written::Other, std::time::Instant::now());
        session.note_sent(
            crate::session::Written::Qos0Publish,
            std::time::Instant::now(),
        );
        assert!(session
            .take_events()
            .iter()
            .any(|e| matches!(e, Event::Published { mid, .. } if *mid == q0)));
    }
}
