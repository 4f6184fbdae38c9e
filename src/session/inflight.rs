//! The QoS 1 and 2 messages between us and the broker.
//!
//! Outgoing: messages wait in `waiting` until the send window (the smaller of our
//! send maximum and the broker's Receive Maximum) has room, then sit `in_flight`
//! until acknowledged. Both lists keep publish order, which is also the order
//! of retransmission after a reconnect (MQTT 5, 4.6).
//!
//! Incoming: the QoS 2 messages we answered with PUBREC and whose PUBREL has not
//! come yet. Their count is what the broker has in flight towards us, bounded by
//! our Receive Maximum.

use super::id_map::IdMap;
use crate::lazy_queue::LazyQueue;
use crate::protocol::packet::Publish;

/// The answer an in-flight message waits for, named after its packet.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaiting {
    PubAck,
    PubRec,
    PubComp,
}

#[derive(Debug, Clone)]
pub struct InFlight {
    pub publish: Publish,
    pub awaiting: Awaiting,
}

/// What to send again for one in-flight message after a reconnect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resend {
    Publish(Publish),
    PubRel(u16),
}

/// A message `release` hands out to be sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Released {
    /// Now in flight: its packet id.
    InFlight(u16),
    /// A QoS 0 message kept while offline, sent as it is.
    Qos0(Publish),
}

/// Both lists hold no memory until a client first publishes with QoS 1 or 2.
#[derive(Debug, Default)]
pub struct OutgoingQueue {
    in_flight: LazyQueue<InFlight>,
    waiting: LazyQueue<Publish>,
}

impl OutgoingQueue {
    pub fn push(&mut self, publish: Publish) {
        self.waiting.push_back(publish);
    }

    /// Moves waiting messages in flight while the window has room, and hands
    /// each one's packet id to `sent`, in order, to be sent. A QoS 0 message
    /// kept by the offline queue (skeeter's) takes no room: it is handed over
    /// whole, as the next in order.
    pub fn release(&mut self, window: usize, mut sent: impl FnMut(Released)) {
        loop {
            if self.waiting.front().is_some_and(|p| p.qos == 0) {
                if let Some(publish) = self.waiting.pop_front() {
                    sent(Released::Qos0(publish));
                }
                continue;
            }
            if self.in_flight.len() >= window {
                break;
            }
            let Some(publish) = self.waiting.pop_front() else {
                break;
            };
            let awaiting = if publish.qos == 1 {
                Awaiting::PubAck
            } else {
                Awaiting::PubRec
            };
            sent(Released::InFlight(publish.packet_id));
            self.in_flight.push_back(InFlight { publish, awaiting });
        }
    }

    /// The waiting messages' count and their topic and payload bytes.
    pub fn waiting_totals(&self) -> (usize, usize) {
        let bytes = self
            .waiting
            .iter()
            .map(|p| p.topic.len() + p.payload.len())
            .sum();
        (self.waiting.len(), bytes)
    }

    /// Takes the oldest waiting message away (the offline queue's bound).
    pub fn drop_oldest_waiting(&mut self) -> Option<Publish> {
        self.waiting.pop_front()
    }

    /// In-flight message `id`. Looked for from the back: a message is looked up
    /// here just after `release` put it there.
    pub fn in_flight_publish(&self, id: u16) -> Option<&Publish> {
        self.in_flight
            .iter()
            .rev()
            .find(|m| m.publish.packet_id == id)
            .map(|m| &m.publish)
    }

    pub fn awaiting(&self, id: u16) -> Option<Awaiting> {
        let i = self.position(id)?;
        self.in_flight.get(i).map(|m| m.awaiting)
    }

    /// PUBREC received: only PUBREL and PUBCOMP remain, so the payload is no longer
    /// needed and its memory goes back now rather than at PUBCOMP.
    pub fn mark_released(&mut self, id: u16) {
        if let Some(message) = self.position(id).and_then(|i| self.in_flight.get_mut(i)) {
            message.awaiting = Awaiting::PubComp;
            message.publish.payload = Vec::new();
            message.publish.properties = Vec::new();
        }
    }

    /// Removes an acknowledged message.
    pub fn complete(&mut self, id: u16) -> Option<InFlight> {
        let i = self.position(id)?;
        self.in_flight.remove(i)
    }

    /// After a reconnect: what to send again, in order. Messages past PUBREC get
    /// their PUBREL again; the others are published again while the (possibly
    /// smaller) new window has room, and go back to waiting beyond it.
    pub fn prepare_resend(&mut self, window: usize) -> Vec<Resend> {
        let mut resend = Vec::new();
        let mut kept = LazyQueue::new();
        let mut demoted = Vec::new();
        for message in self.in_flight.drain() {
            if message.awaiting == Awaiting::PubComp {
                resend.push(Resend::PubRel(message.publish.packet_id));
                kept.push_back(message);
            } else if kept.len() < window {
                resend.push(Resend::Publish(message.publish.clone()));
                kept.push_back(message);
            } else {
                demoted.push(message.publish);
            }
        }
        self.in_flight = kept;
        for publish in demoted.into_iter().rev() {
            self.waiting.push_front(publish);
        }
        resend
    }

    /// The waiting or in-flight message `mid` (a queued QoS 0 one if `qos0`).
    pub fn find(&self, mid: u16, qos0: bool) -> Option<&Publish> {
        let wanted = |p: &&Publish| p.packet_id == mid && (p.qos == 0) == qos0;
        let in_flight = self.in_flight.iter().rev().map(|m| &m.publish);
        self.waiting.iter().rev().chain(in_flight).find(wanted)
    }

    /// Removes the waiting or in-flight message `mid`; whether it was there.
    pub fn remove(&mut self, mid: u16, qos0: bool) -> bool {
        let wanted = |p: &Publish| p.packet_id == mid && (p.qos == 0) == qos0;
        let waiting = self.waiting.iter().position(wanted);
        if let Some(i) = waiting {
            return self.waiting.remove(i).is_some();
        }
        let in_flight = self.in_flight.iter().position(|m| wanted(&m.publish));
        in_flight.is_some_and(|i| self.in_flight.remove(i).is_some())
    }

    /// Puts a message a store kept back in flight, waiting for `awaiting`.
    pub fn restore_in_flight(&mut self, mut publish: Publish, awaiting: Awaiting) {
        if awaiting == Awaiting::PubComp {
            publish.payload = Vec::new();
            publish.properties = Vec::new();
        }
        self.in_flight.push_back(InFlight { publish, awaiting });
    }

    pub fn in_flight_len(&self) -> usize {
        self.in_flight.len()
    }

    pub fn waiting_len(&self) -> usize {
        self.waiting.len()
    }

    fn position(&self, id: u16) -> Option<usize> {
        // Acknowledgements mostly arrive in order, so the front is the likely place.
        self.in_flight
            .iter()
            .position(|m| m.publish.packet_id == id)
    }
}

#[derive(Debug, Default)]
pub struct IncomingQos2 {
    awaiting_pubrel: IdMap<Publish>,
}

impl IncomingQos2 {
    pub fn contains(&self, id: u16) -> bool {
        self.awaiting_pubrel.contains(id)
    }

    /// Holds a message until its PUBREL. A repeat of one already held changes
    /// nothing: it is the same message sent again.
    pub fn hold(&mut self, publish: Publish) {
        self.awaiting_pubrel.insert_new(publish.packet_id, publish);
    }

    /// The message `id` released by PUBREL, if we held it.
    pub fn release(&mut self, id: u16) -> Option<Publish> {
        self.awaiting_pubrel.remove(id)
    }

    pub fn get(&self, id: u16) -> Option<&Publish> {
        self.awaiting_pubrel.get(id)
    }

    pub fn len(&self) -> usize {
        self.awaiting_pubrel.len()
    }

    pub fn clear(&mut self) {
        self.awaiting_pubrel.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u16, qos: u8) -> Publish {
        Publish {
            dup: false,
            qos,
            retain: false,
            topic: "t".into(),
            packet_id: id,
            payload: b"payload".to_vec(),
            properties: Vec::new(),
        }
    }

    fn release(queue: &mut OutgoingQueue, window: usize) -> Vec<u16> {
        let mut ids = Vec::new();
        queue.release(window, |released| match released {
            Released::InFlight(id) => ids.push(id),
            Released::Qos0(publish) => ids.push(1000 + publish.packet_id),
        });
        ids
    }

    #[test]
    fn a_kept_qos_0_message_goes_in_its_turn_and_takes_no_room_in_the_window() {
        let mut queue = OutgoingQueue::default();
        queue.push(message(1, 1));
        queue.push(message(2, 0));
        queue.push(message(3, 1));
        queue.push(message(4, 0));
        // Window 1: message 1 goes, then the QoS 0 one behind it; 3 waits, and
        // so does 4, which comes after it.
        assert_eq!(release(&mut queue, 1), vec![1, 1002]);
        assert_eq!(
            queue.waiting_totals(),
            (2, 2 * ("t".len() + b"payload".len()))
        );
        queue.complete(1);
        assert_eq!(release(&mut queue, 1), vec![3, 1004]);
    }

    #[test]
    fn the_oldest_waiting_message_can_be_dropped() {
        let mut queue = OutgoingQueue::default();
        queue.push(message(1, 1));
        queue.push(message(2, 2));
        assert_eq!(queue.drop_oldest_waiting().map(|p| p.packet_id), Some(1));
        assert_eq!(queue.waiting_len(), 1);
    }

    #[test]
    fn release_stops_at_the_window() {
        let mut queue = OutgoingQueue::default();
        for id in 1..=3 {
            queue.push(message(id, 1));
        }
        assert_eq!(release(&mut queue, 2), vec![1, 2]);
        assert_eq!(queue.waiting_len(), 1);
        assert!(release(&mut queue, 2).is_empty());
        queue.complete(1);
        assert_eq!(release(&mut queue, 2), vec![3]);
        assert_eq!(queue.in_flight_publish(3), Some(&message(3, 1)));
        assert_eq!(queue.in_flight_publish(1), None);
    }

    #[test]
    fn a_released_qos2_message_drops_its_payload() {
        let mut queue = OutgoingQueue::default();
        queue.push(message(5, 2));
        release(&mut queue, 10);
        queue.mark_released(5);
        assert_eq!(queue.awaiting(5), Some(Awaiting::PubComp));
        assert!(queue.complete(5).unwrap().publish.payload.is_empty());
    }

    #[test]
    fn resend_keeps_order_and_demotes_beyond_a_smaller_window() {
        let mut queue = OutgoingQueue::default();
        for id in 1..=4 {
            queue.push(message(id, 2));
        }
        release(&mut queue, 10);
        queue.mark_released(3);
        let resend = queue.prepare_resend(2);
        assert_eq!(
            resend,
            vec![
                Resend::Publish(message(1, 2)),
                Resend::Publish(message(2, 2)),
                Resend::PubRel(3),
            ]
        );
        assert_eq!(queue.in_flight_len(), 3);
        assert_eq!(queue.waiting_len(), 1);
    }
}
