//! The client side of an MQTT session as a sans-I/O state machine.
//!
//! The session never touches sockets, threads or clocks. The client layer feeds it
//! decoded packets, application requests and the current time, and takes back the
//! packets to write and the events to report:
//!
//! ```text
//! session.connect_packet(&config, now) -> CONNECT, written first
//! session.handle(packet, now)?         for each packet read
//! session.publish(..) / subscribe(..)  for each application request
//! session.tick(now)?                   when next_deadline() has passed
//! session.drain_outgoing(|out| ..)     packets to write, in order (a QoS 1 or 2
//!                                      PUBLISH lent, not copied; take_outgoing
//!                                      gives them all as owned packets)
//! session.note_written(&packet, now)   after each packet is fully written
//!   (or note_sent(Written::of(&packet), now), keeping only its kind)
//! session.take_events()                callbacks to call, in order
//! session.decoding_failed(error)       when bytes do not decode to a packet
//! session.connection_lost()            when the socket closes, for any reason
//! ```
//!
//! After an `Err` from `handle` or `tick`, or `decoding_failed`, the client feeds no
//! more packets, writes what `take_outgoing` still holds (for MQTT 5, a DISCONNECT
//! with the reason), closes the socket and calls `connection_lost`. The error it
//! then reports to the application is `reported_error(error)`: libmosquitto's code,
//! which for a malformed packet or a bad topic alias is `MOSQ_ERR_PROTOCOL`.
//! Reconnecting is `connect_packet` again: QoS 1 and 2 messages survive it and are
//! sent again once the CONNACK arrives.

#![deny(unsafe_code)]

mod alias;
mod config;
mod connection;
mod event;
mod id_map;
mod incoming;
mod inflight;
pub mod journal;
mod keepalive;
mod limits;
pub mod offline_queue;
mod outgoing;
mod packet_ids;
mod packet_size;
mod properties;
mod resubscribe;
pub mod subscriptions;
mod violation;

#[cfg(test)]
pub(crate) mod test_support;

use std::cell::Cell;
use std::time::Instant;

use alias::IncomingAliases;
use config::Settings;
use id_map::IdMap;
use inflight::{IncomingQos2, OutgoingQueue, Released};
use keepalive::{Keepalive, KeepaliveCheck};
use packet_ids::PacketIds;

pub use config::Config;
pub use event::Event;
pub use limits::BrokerLimits;
pub use outgoing::MAX_PAYLOAD;
pub use violation::{disconnect_reason_for, reported_error, violation_text};

/// A list a thread keeps for the sessions it works on, up to this many entries.
const SPARE_MAX: usize = 1024;

thread_local! {
    /// The outbox and event lists are lent by the thread for as long as they hold
    /// something: a session takes one on its first packet or event and the client
    /// gives it back after draining it (`recycle_outgoing`, `recycle_events`), so
    /// an idle session holds no list and a busy one allocates none per message.
    static SPARE_OUTBOX: Cell<Vec<Outgoing>> = const { Cell::new(Vec::new()) };
    static SPARE_EVENTS: Cell<Vec<Event>> = const { Cell::new(Vec::new()) };
}

/// Gives a drained outbox back to this thread.
fn recycle_outgoing(mut list: Vec<Outgoing>) {
    list.clear();
    if (1..=SPARE_MAX).contains(&list.capacity()) {
        SPARE_OUTBOX.set(list);
    }
}

/// Adds to an outbox, which borrows the thread's spare list when it has none.
fn push_outgoing(outbox: &mut Vec<Outgoing>, entry: Outgoing) {
    if outbox.capacity() == 0 {
        *outbox = SPARE_OUTBOX.take();
    }
    outbox.push(entry);
}

/// Gives a drained list from `take_events` back to this thread.
pub fn recycle_events(mut list: Vec<Event>) {
    list.clear();
    if (1..=SPARE_MAX).contains(&list.capacity()) {
        SPARE_EVENTS.set(list);
    }
}

use crate::error::{Error, Result};
use crate::lazy_queue::LazyQueue;
use crate::protocol::packet::{Packet, ProtocolVersion, Publish, ReasonOnly};

/// One packet in the outbox.
#[derive(Debug)]
enum Outgoing {
    Packet(Packet),
    /// The first sending of in-flight message `id`: it is written from the
    /// session's own copy (kept for resending), so it is never copied to be sent.
    Publish(u16),
}

/// A packet to write, as `drain_outgoing` hands it out.
#[derive(Debug)]
pub enum Outbound<'a> {
    Packet(Packet),
    /// A QoS 1 or 2 PUBLISH the session keeps until it is acknowledged.
    Publish(&'a Publish),
}

/// What the session needs to know of a packet once it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// A QoS 0 PUBLISH: its `on_publish` is due.
    Qos0Publish,
    Disconnect,
    Other,
}

impl Written {
    pub fn of(packet: &Packet) -> Written {
        match packet {
            Packet::Publish(p) if p.qos == 0 => Written::Qos0Publish,
            Packet::Disconnect(_) => Written::Disconnect,
            _ => Written::Other,
        }
    }
}

/// Where the network connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// No network connection.
    Down,
    /// CONNECT handed out, CONNACK not yet received.
    AwaitingConnAck,
    /// CONNACK accepted the connection.
    Up,
}

#[derive(Debug)]
pub struct Session {
    /// What the last `connect_packet` was given (or `new`, before it).
    settings: Settings,
    /// The CONNECT carried an empty client identifier.
    sent_empty_id: bool,
    /// The identifier an MQTT 5 broker assigned when we sent none; reused on
    /// reconnect so the session can resume.
    assigned_client_id: Option<Box<str>>,
    link: Link,
    /// Set by `disconnect`: keepalive stops, the client closes after writing.
    disconnecting: bool,
    limits: BrokerLimits,
    /// `None` while the link is down.
    keepalive: Option<Keepalive>,
    ids: PacketIds,
    outgoing: OutgoingQueue,
    incoming: IncomingQos2,
    aliases: IncomingAliases,
    /// SUBSCRIBE and UNSUBSCRIBE packets sent and not yet answered: packet
    /// identifier and number of filters, which the answer must match.
    awaiting_suback: IdMap<usize>,
    awaiting_unsuback: IdMap<usize>,
    /// The mids of QoS 0 PUBLISH packets handed out and not yet written, in order:
    /// their `Published` event fires when `note_written` sees them go.
    unwritten_qos0: LazyQueue<u16>,
    outbox: Vec<Outgoing>,
    events: Vec<Event>,
    /// The program's subscriptions, kept when re-subscribing is on (skeeter).
    subscriptions: Option<Box<subscriptions::SubscriptionRecord>>,
    /// The bound on what waits offline (skeeter); `None`: libmosquitto's rules.
    /// Boxed: few programs set one, and an idle session should stay small.
    offline: Option<Box<offline_queue::OfflineQueue>>,
    /// Changes for a store to record (skeeter's persistence); `None`: off.
    /// Boxed, as the offline queue: an idle session should stay small (8
    /// bytes where a `Vec` takes 24; the extra allocation is made only when on).
    #[allow(clippy::box_collection)]
    journal: Option<Box<Vec<journal::Change>>>,
}

impl Session {
    pub fn new(config: &Config) -> Self {
        Session {
            settings: Settings::of(config),
            sent_empty_id: false,
            assigned_client_id: None,
            link: Link::Down,
            disconnecting: false,
            limits: BrokerLimits::default(),
            keepalive: None,
            ids: PacketIds::default(),
            outgoing: OutgoingQueue::default(),
            incoming: IncomingQos2::default(),
            aliases: IncomingAliases::default(),
            awaiting_suback: IdMap::default(),
            awaiting_unsuback: IdMap::default(),
            unwritten_qos0: LazyQueue::new(),
            outbox: Vec::new(),
            events: Vec::new(),
            subscriptions: None,
            offline: None,
            journal: None,
        }
    }

    pub fn protocol(&self) -> ProtocolVersion {
        self.settings.protocol
    }

    /// The client identifier in use: `ours` (the `Config`'s), or the one the
    /// broker assigned.
    pub fn client_id<'a>(&'a self, ours: Option<&'a str>) -> &'a str {
        ours.filter(|id| !id.is_empty())
            .or(self.assigned_client_id.as_deref())
            .unwrap_or("")
    }

    pub fn link(&self) -> Link {
        self.link
    }

    pub fn is_connected(&self) -> bool {
        self.link == Link::Up
    }

    /// Whether `disconnect` was called on this connection: a close that follows is
    /// the one the application asked for (`on_disconnect` with 0).
    pub fn is_disconnecting(&self) -> bool {
        self.disconnecting
    }

    pub fn broker_limits(&self) -> &BrokerLimits {
        &self.limits
    }

    /// The keepalive in force: ours, or the broker's Server Keep Alive.
    pub fn keepalive_seconds(&self) -> u16 {
        match &self.keepalive {
            Some(k) => k.interval().map_or(0, |d| d.as_secs() as u16),
            None => self.settings.keepalive,
        }
    }

    /// The largest packet we told the broker we accept (MQTT 5 Maximum Packet
    /// Size in our CONNECT), for the decoder to enforce.
    pub fn incoming_packet_limit(&self) -> Option<u32> {
        self.settings.packet_limit
    }

    /// QoS 1 and 2 messages sent and not yet acknowledged.
    pub fn in_flight_count(&self) -> usize {
        self.outgoing.in_flight_len()
    }

    /// Incoming QoS 2 messages held until their PUBREL.
    pub fn incoming_held_count(&self) -> usize {
        self.incoming.len()
    }

    /// QoS 1 and 2 messages waiting for room in the send window or a connection.
    pub fn waiting_count(&self) -> usize {
        self.outgoing.waiting_len()
    }

    /// Whether packets wait in the outbox (the client's "want write").
    pub fn has_outgoing(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// Hands each packet to write to `each`, in order, and empties the outbox.
    pub fn drain_outgoing(&mut self, mut each: impl FnMut(Outbound<'_>)) {
        let mut outbox = std::mem::take(&mut self.outbox);
        for entry in outbox.drain(..) {
            match entry {
                Outgoing::Packet(packet) => each(Outbound::Packet(packet)),
                // Not there if acknowledged before it was written (a broker
                // answering an identifier it was never sent): nothing to send.
                Outgoing::Publish(id) => {
                    if let Some(publish) = self.outgoing.in_flight_publish(id) {
                        each(Outbound::Publish(publish));
                    }
                }
            }
        }
        recycle_outgoing(outbox);
    }

    /// Hands out only the PINGREQs and DISCONNECTs waiting, leaving the rest in
    /// order: they change nothing a persistence log records, so they may go
    /// while the rest waits for the log (the keepalive and a disconnect then
    /// still work).
    pub fn drain_unrecorded(&mut self, mut each: impl FnMut(&Packet)) {
        self.outbox.retain(|entry| match entry {
            Outgoing::Packet(packet @ (Packet::PingReq | Packet::Disconnect(_))) => {
                each(packet);
                false
            }
            _ => true,
        });
    }

    /// Packets to write, in order, as owned packets (a copy of each QoS 1 or 2
    /// PUBLISH): for tests and tools; the client uses `drain_outgoing`.
    pub fn take_outgoing(&mut self) -> Vec<Packet> {
        let mut packets = Vec::new();
        self.drain_outgoing(|out| {
            packets.push(match out {
                Outbound::Packet(packet) => packet,
                Outbound::Publish(publish) => Packet::Publish(publish.clone()),
            })
        });
        packets
    }

    /// Whether events wait to be taken.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Events to report, in order.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Queues a packet to write, in a list lent by the thread (see `SPARE_OUTBOX`).
    fn send(&mut self, packet: Packet) {
        push_outgoing(&mut self.outbox, Outgoing::Packet(packet));
    }

    /// Records an event, in a list lent by the thread (see `SPARE_EVENTS`).
    fn event(&mut self, event: Event) {
        if self.events.capacity() == 0 {
            self.events = SPARE_EVENTS.take();
        }
        self.events.push(event);
    }

    /// A packet from `take_outgoing` is fully written: it counts as traffic for
    /// keepalive, and a QoS 0 PUBLISH is then done.
    pub fn note_written(&mut self, packet: &Packet, now: Instant) {
        self.note_sent(Written::of(packet), now);
    }

    /// As `note_written`, told only what `Written::of` the packet says, so the
    /// client need not keep packets (and their payloads) until they are written.
    pub fn note_sent(&mut self, written: Written, now: Instant) {
        if let Some(keepalive) = &mut self.keepalive {
            keepalive.note_sent(now);
        }
        if written == Written::Qos0Publish {
            if let Some(mid) = self.unwritten_qos0.pop_front() {
                self.event(Event::Published {
                    mid,
                    reason_code: 0,
                    properties: Vec::new(),
                });
            }
        }
    }

    /// A QoS 0 message from `publish_qos0_unqueued` went out whole: it counts
    /// as traffic for keepalive (its `on_publish` is the caller's to report).
    pub fn note_qos0_written_unqueued(&mut self, now: Instant) {
        if let Some(keepalive) = &mut self.keepalive {
            keepalive.note_sent(now);
        }
    }

    /// One decoded packet from the broker.
    pub fn handle(&mut self, packet: Packet, now: Instant) -> Result<()> {
        if let Some(keepalive) = &mut self.keepalive {
            keepalive.note_received(now);
        }
        let violation = match self.dispatch(packet) {
            Ok(()) => return Ok(()),
            Err(violation) => violation,
        };
        if let Some(reason_code) = violation.disconnect_reason {
            self.queue_disconnect_for_violation(reason_code);
        }
        Err(violation.error)
    }

    /// The decoder could not make a packet of what the broker sent: for MQTT 5,
    /// queues the DISCONNECT that says why. The connection is then closed as after
    /// an `Err` from `handle`.
    pub fn decoding_failed(&mut self, error: Error) {
        if let Some(reason_code) = violation::disconnect_reason_for(error) {
            self.queue_disconnect_for_violation(reason_code);
        }
    }

    fn queue_disconnect_for_violation(&mut self, reason_code: u8) {
        if self.settings.protocol.is_v5() && self.link != Link::Down {
            self.send(Packet::Disconnect(ReasonOnly {
                reason_code,
                properties: Vec::new(),
            }));
        }
    }

    /// Keepalive: queues a PINGREQ when due, or fails with `Error::Keepalive` when
    /// the broker stayed silent (also when no CONNACK came within the interval).
    pub fn tick(&mut self, now: Instant) -> Result<()> {
        if self.disconnecting {
            return Ok(());
        }
        let may_ping = self.link == Link::Up;
        let Some(keepalive) = &mut self.keepalive else {
            return Ok(());
        };
        match keepalive.check(now, may_ping) {
            KeepaliveCheck::Quiet => Ok(()),
            KeepaliveCheck::SendPing => {
                self.send(Packet::PingReq);
                Ok(())
            }
            KeepaliveCheck::TimedOut => Err(Error::Keepalive),
        }
    }

    /// When `tick` next needs to run; `None` when nothing is timed.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.disconnecting {
            return None;
        }
        self.keepalive.as_ref()?.deadline()
    }

    /// The window of QoS 1 and 2 messages in flight towards the broker.
    fn send_window(&self) -> usize {
        let ours = match self.settings.send_maximum {
            0 => u16::MAX,
            n => n,
        };
        usize::from(ours.min(self.limits.receive_maximum))
    }

    /// Our Receive Maximum, as announced in CONNECT.
    fn receive_maximum(&self) -> u16 {
        self.settings.receive_maximum
    }

    /// Sends waiting QoS 1 and 2 messages while the window has room.
    fn release_outgoing(&mut self) {
        let window = self.send_window();
        let outbox = &mut self.outbox;
        let unwritten_qos0 = &mut self.unwritten_qos0;
        let ids = &mut self.ids;
        let journal = &mut self.journal;
        self.outgoing.release(window, |released| match released {
            Released::InFlight(id) => push_outgoing(outbox, Outgoing::Publish(id)),
            Released::Qos0(publish) => {
                // Written from here on as any QoS 0 message: its mid is free.
                ids.release(publish.packet_id);
                if let Some(journal) = journal.as_mut() {
                    journal.push(journal::Change::QueuedGone(publish.packet_id));
                }
                unwritten_qos0.push_back(publish.packet_id);
                push_outgoing(outbox, Outgoing::Packet(Packet::Publish(publish)));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::test_support::*;
    use super::*;

    #[test]
    fn only_pingreq_and_disconnect_are_drained_ahead_of_the_rest() {
        let now = Instant::now();
        let mut session = connected_with(v311(), vec![], now);
        session
            .publish("t".into(), b"held".to_vec(), 1, false, Vec::new())
            .unwrap();
        session.tick(now + secs(60)).unwrap();
        session.disconnect(0, Vec::new()).unwrap();
        let mut drained = Vec::new();
        session.drain_unrecorded(|packet| drained.push(packet.clone()));
        assert!(matches!(
            &drained[..],
            [Packet::PingReq, Packet::Disconnect(_)]
        ));
        let rest = session.take_outgoing();
        assert!(matches!(&rest[..], [Packet::Publish(p)] if p.payload == b"held"));
    }

    #[test]
    fn an_idle_connection_sends_pingreq_after_the_keepalive() {
        let now = Instant::now();
        let mut session = connected_with(v311(), vec![], now);
        assert_eq!(session.next_deadline(), Some(now + secs(60)));
        session.tick(now + secs(59)).unwrap();
        assert!(session.take_outgoing().is_empty());
        session.tick(now + secs(60)).unwrap();
        assert_eq!(session.take_outgoing(), vec![Packet::PingReq]);
    }

    #[test]
    fn an_unanswered_pingreq_is_a_keepalive_error() {
        let now = Instant::now();
        let mut session = connected_with(v311(), vec![], now);
        session.tick(now + secs(60)).unwrap();
        assert_eq!(session.next_deadline(), Some(now + secs(120)));
        assert_eq!(session.tick(now + secs(120)), Err(Error::Keepalive));
    }

    #[test]
    fn a_pingresp_lets_the_next_ping_go() {
        let now = Instant::now();
        let mut session = connected_with(v311(), vec![], now);
        session.tick(now + secs(60)).unwrap();
        session.take_outgoing();
        session.handle(Packet::PingResp, now + secs(61)).unwrap();
        session.tick(now + secs(120)).unwrap();
        assert_eq!(session.take_outgoing(), vec![Packet::PingReq]);
    }

    #[test]
    fn traffic_both_ways_postpones_the_ping() {
        let now = Instant::now();
        let mut session = connected_with(v311(), vec![], now);
        session.note_written(&Packet::PingReq, now + secs(30));
        session
            .handle(Packet::Publish(message(0, 0, "a")), now + secs(40))
            .unwrap();
        assert_eq!(session.next_deadline(), Some(now + secs(90)));
        session.tick(now + secs(89)).unwrap();
        assert!(session.take_outgoing().is_empty());
    }

    #[test]
    fn receiving_alone_does_not_postpone_the_ping() {
        let now = Instant::now();
        let mut session = connected_with(v311(), vec![], now);
        session
            .handle(Packet::Publish(message(0, 0, "a")), now + secs(50))
            .unwrap();
        session.tick(now + secs(60)).unwrap();
        assert_eq!(session.take_outgoing(), vec![Packet::PingReq]);
    }

    #[test]
    fn no_connack_within_the_keepalive_is_a_keepalive_error() {
        let now = Instant::now();
        let mut session = Session::new(&v311());
        session.connect_packet(&v311(), now);
        assert_eq!(session.tick(now + secs(60)), Err(Error::Keepalive));
    }

    #[test]
    fn keepalive_zero_means_no_deadline() {
        let now = Instant::now();
        let config = Config {
            keepalive: 0,
            ..v311()
        };
        let mut session = connected_with(config, vec![], now);
        assert_eq!(session.next_deadline(), None);
        assert_eq!(session.tick(now + secs(1_000_000)), Ok(()));
    }

    #[test]
    fn a_disconnected_session_has_no_deadline() {
        let mut session = connected(v311());
        session.connection_lost();
        assert_eq!(session.next_deadline(), None);
        assert_eq!(session.tick(Instant::now()), Ok(()));
    }

    #[test]
    fn a_new_session_is_down_and_uses_our_identifier() {
        let config = Config {
            client_id: Some("c1"),
            ..v311()
        };
        let mut session = Session::new(&config);
        assert_eq!(session.link(), Link::Down);
        assert_eq!(session.client_id(config.client_id), "c1");
        assert_eq!(session.keepalive_seconds(), 60);
        let Packet::Connect(connect) = session.connect_packet(&config, Instant::now()) else {
            panic!("not a CONNECT");
        };
        assert_eq!(connect.client_id, "c1");
    }

    #[test]
    fn a_decoding_failure_in_mqtt5_queues_a_disconnect_with_its_reason() {
        let mut session = connected(v5());
        session.decoding_failed(Error::OversizePacket);
        let out = session.take_outgoing();
        assert!(matches!(&out[..], [Packet::Disconnect(d)] if d.reason_code == 0x95));
        let mut v3_session = connected(v311());
        v3_session.decoding_failed(Error::MalformedPacket);
        assert!(v3_session.take_outgoing().is_empty());
    }

    #[test]
    fn our_maximum_packet_size_is_offered_to_the_decoder() {
        let config = Config {
            connect_properties: &[int32(0x27, 4096)],
            ..v5()
        };
        assert_eq!(Session::new(&config).incoming_packet_limit(), Some(4096));
        assert_eq!(Session::new(&v311()).incoming_packet_limit(), None);
    }
}
