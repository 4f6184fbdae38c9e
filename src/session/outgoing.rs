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

use super::packet_size;
use super::properties as ids;
use super::{Link, Session};
use crate::error::{Error, Result};
use crate::protocol::packet::{Packet, Publish, ReasonOnly, Subscribe, Unsubscribe};
use crate::protocol::property::Properties;

/// The largest payload a PUBLISH can carry (`MQTT_MAX_PAYLOAD`).
pub const MAX_PAYLOAD: usize = 268_435_455;

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
        let protocol = self.config.protocol;
        if qos > 2 {
            return Err(Error::Inval);
        }
        if !protocol.is_v5() && !properties.is_empty() {
            return Err(Error::NotSupported);
        }
        // An empty topic is only allowed when an MQTT 5 Topic Alias names it.
        if topic.is_empty() && !(protocol.is_v5() && ids::contains(&properties, ids::TOPIC_ALIAS)) {
            return Err(Error::Inval);
        }
        if qos > self.limits.maximum_qos {
            return Err(Error::QosNotSupported);
        }
        if retain && !self.limits.retain_available {
            return Err(Error::RetainNotSupported);
        }
        if payload.len() > MAX_PAYLOAD {
            return Err(Error::PayloadSize);
        }
        self.check_size(packet_size::publish(
            protocol,
            &topic,
            payload.len(),
            qos,
            &properties,
        ))?;

        if qos == 0 {
            if self.link == Link::Down {
                return Err(Error::NoConn);
            }
            let mid = self.ids.allocate_unreserved()?;
            self.unwritten_qos0.push_back(mid);
            self.outbox.push(Packet::Publish(Publish {
                dup: false,
                qos,
                retain,
                topic,
                packet_id: 0,
                payload,
                properties,
            }));
            return Ok(mid);
        }

        let mid = self.ids.allocate()?;
        self.outgoing.push(Publish {
            dup: false,
            qos,
            retain,
            topic,
            packet_id: mid,
            payload,
            properties,
        });
        if self.link == Link::Up {
            self.release_outgoing();
        }
        Ok(mid)
    }

    /// `filters` pairs each filter with its options byte (QoS in bits 0-1, and the
    /// MQTT 5 subscription options above). Returns the mid of the SUBSCRIBE.
    pub fn subscribe(
        &mut self,
        mut filters: Vec<(String, u8)>,
        properties: Properties,
    ) -> Result<u16> {
        let protocol = self.config.protocol;
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
        self.check_size(packet_size::subscribe(protocol, &filters, &properties))?;
        let packet_id = self.ids.allocate()?;
        self.awaiting_suback.insert(packet_id);
        self.outbox.push(Packet::Subscribe(Subscribe {
            packet_id,
            filters,
            properties,
        }));
        Ok(packet_id)
    }

    /// Returns the mid of the UNSUBSCRIBE.
    pub fn unsubscribe(&mut self, filters: Vec<String>, properties: Properties) -> Result<u16> {
        let protocol = self.config.protocol;
        if self.link == Link::Down {
            return Err(Error::NoConn);
        }
        if filters.is_empty() || filters.iter().any(String::is_empty) {
            return Err(Error::Inval);
        }
        if !protocol.is_v5() && !properties.is_empty() {
            return Err(Error::NotSupported);
        }
        self.check_size(packet_size::unsubscribe(protocol, &filters, &properties))?;
        let packet_id = self.ids.allocate()?;
        self.awaiting_unsuback.insert(packet_id);
        self.outbox.push(Packet::Unsubscribe(Unsubscribe {
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
        if !self.config.protocol.is_v5() && !properties.is_empty() {
            return Err(Error::NotSupported);
        }
        self.disconnecting = true;
        self.outbox.push(Packet::Disconnect(ReasonOnly {
            reason_code,
            properties,
        }));
        Ok(())
    }

    fn check_size(&self, size: usize) -> Result<()> {
        match self.limits.maximum_packet_size {
            Some(maximum) if size > maximum as usize => Err(Error::OversizePacket),
            _ => Ok(()),
        }
    }
}
