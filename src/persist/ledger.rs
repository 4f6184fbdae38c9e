//! Which records of the log still matter, by where they are.
//!
//! A message's records stay live until the record that ends it: an outgoing
//! message's `Published` (and `PubRecReceived`) until `Completed`, a queued QoS 0
//! message's until `QueuedGone`, an incoming one's until `IncomingReleased` or
//! `IncomingCleared`. The ending record itself is dead at once (replayed without
//! its message it changes nothing). The ledger keeps only places, never payloads;
//! compaction copies the live places, in order, to a new file.

use std::collections::HashMap;

use super::record::Record;

/// Where a record's frame is in the log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub offset: u64,
    pub len: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Client,
    Out(u16),
    Queued(u16),
    In(u16),
}

#[derive(Debug, Default)]
pub struct Ledger {
    live: HashMap<Key, Vec<Span>>,
    live_bytes: u64,
}

impl Ledger {
    /// Takes in the record found at `span`, the next one in the log.
    pub fn apply(&mut self, record: &Record<'_>, span: Span) {
        match *record {
            Record::Client(_) => self.start(Key::Client, span),
            Record::Published(m) if m.qos == 0 => self.start(Key::Queued(m.mid), span),
            Record::Published(m) => self.start(Key::Out(m.mid), span),
            Record::PubRecReceived(mid) => self.add(Key::Out(mid), span),
            Record::Completed(mid) => self.end(Key::Out(mid)),
            Record::QueuedGone(mid) => self.end(Key::Queued(mid)),
            Record::IncomingHeld(m) => self.start(Key::In(m.mid), span),
            Record::IncomingReleased(mid) => self.end(Key::In(mid)),
            Record::IncomingCleared => {
                let held: Vec<Key> = self
                    .live
                    .keys()
                    .filter(|k| matches!(k, Key::In(_)))
                    .copied()
                    .collect();
                for key in held {
                    self.end(key);
                }
            }
        }
    }

    /// Bytes of the log that are still live.
    pub fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    /// Every live span, in log order.
    pub fn live_spans(&self) -> Vec<Span> {
        let mut spans: Vec<Span> = self.live.values().flatten().copied().collect();
        spans.sort_unstable();
        spans
    }

    /// After compaction: each live span moved from its old offset to `moved`'s.
    pub fn relocate(&mut self, moved: &HashMap<u64, u64>) {
        for spans in self.live.values_mut() {
            for span in spans {
                if let Some(&offset) = moved.get(&span.offset) {
                    span.offset = offset;
                }
            }
        }
    }

    /// A new thing begins (replacing one with the same key, if any).
    fn start(&mut self, key: Key, span: Span) {
        self.end(key);
        self.live_bytes += span.len;
        self.live.insert(key, vec![span]);
    }

    /// More about a live thing; about a dead one, nothing to keep.
    fn add(&mut self, key: Key, span: Span) {
        if let Some(spans) = self.live.get_mut(&key) {
            spans.push(span);
            self.live_bytes += span.len;
        }
    }

    fn end(&mut self, key: Key) {
        if let Some(spans) = self.live.remove(&key) {
            self.live_bytes -= spans.iter().map(|s| s.len).sum::<u64>();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::Message;
    use super::*;

    fn message(mid: u16, qos: u8) -> Message<'static> {
        Message {
            mid,
            qos,
            retain: false,
            topic: "t",
            properties: &[],
            payload: b"p",
        }
    }

    fn ledger_of(records: &[Record<'_>]) -> Ledger {
        let mut ledger = Ledger::default();
        for (i, record) in records.iter().enumerate() {
            let span = Span {
                offset: i as u64 * 10,
                len: 10,
            };
            ledger.apply(record, span);
        }
        ledger
    }

    fn offsets(ledger: &Ledger) -> Vec<u64> {
        ledger.live_spans().iter().map(|s| s.offset).collect()
    }

    #[test]
    fn a_completed_message_and_its_completion_are_dead() {
        let ledger = ledger_of(&[
            Record::Client("c"),
            Record::Published(message(1, 1)),
            Record::Published(message(2, 2)),
            Record::PubRecReceived(2),
            Record::Completed(1),
        ]);
        assert_eq!(offsets(&ledger), [0, 20, 30]);
        assert_eq!(ledger.live_bytes(), 30);
    }

    #[test]
    fn a_pubrec_for_a_message_not_in_the_log_keeps_nothing() {
        let ledger = ledger_of(&[Record::PubRecReceived(5), Record::Completed(5)]);
        assert!(ledger.live_spans().is_empty());
        assert_eq!(ledger.live_bytes(), 0);
    }

    #[test]
    fn queued_qos0_and_outgoing_messages_with_one_mid_are_told_apart() {
        let ledger = ledger_of(&[
            Record::Published(message(3, 0)),
            Record::Published(message(3, 1)),
            Record::QueuedGone(3),
        ]);
        assert_eq!(offsets(&ledger), [10]);
    }

    #[test]
    fn incoming_messages_end_when_released_or_cleared() {
        let ledger = ledger_of(&[
            Record::IncomingHeld(message(1, 2)),
            Record::IncomingHeld(message(2, 2)),
            Record::IncomingReleased(1),
            Record::IncomingHeld(message(3, 2)),
        ]);
        assert_eq!(offsets(&ledger), [10, 30]);
        let cleared = ledger_of(&[
            Record::Client("c"),
            Record::IncomingHeld(message(1, 2)),
            Record::IncomingCleared,
        ]);
        assert_eq!(offsets(&cleared), [0]);
    }

    #[test]
    fn a_reused_mid_replaces_the_old_message_and_a_new_client_record_the_old_one() {
        let ledger = ledger_of(&[
            Record::Client("a"),
            Record::Published(message(1, 1)),
            Record::Published(message(1, 1)),
            Record::Client("a"),
        ]);
        assert_eq!(offsets(&ledger), [20, 30]);
        assert_eq!(ledger.live_bytes(), 20);
    }
}
