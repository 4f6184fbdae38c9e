//! Moving packets between the session and the connection, under the client lock.
//!
//! Every path that touches the socket (the loops, a publish written at once,
//! connect, disconnect) goes through these few steps, so the rules live in one
//! place:
//! - `pump`: the session's outgoing packets are encoded into the write buffer;
//! - `write_out`: the buffer goes to the socket, and each packet fully written is
//!   reported to the session; a written DISCONNECT of ours closes the connection;
//! - `read_in`: every whole packet read is handed to the session;
//! - `fail`: after an error, what the session still has to say (an MQTT 5
//!   DISCONNECT with the reason) is written if the socket takes it, the socket is
//!   closed and `on_disconnect` gets the error;
//! - `collect_events`: the session's events become notices for the callbacks.

use std::time::Instant;

use super::connect_timeout;
use super::connection::{net_error, ReadFailure};
use super::dispatch::{Notice, Work};
use super::log::{self, MOSQ_LOG_ERR, MOSQ_LOG_NOTICE, MOSQ_LOG_WARNING};
use super::unlocked_write::{UnlockedWrite, UNLOCKED_WRITE_MIN};
use super::ClientState;
use crate::error::{Error, Result};
use crate::net::NetError;
use crate::protocol::packet::{ConnAck, Packet};
use crate::protocol::packets::publish::Parts;
use crate::session::{self, reported_error, violation_text, Event, Link, Outbound, Written};

/// Tells the session a packet went out; a DISCONNECT of ours closes the connection.
fn note_written(
    session: &mut session::Session,
    written: Written,
    now: Instant,
    closing: &mut bool,
) {
    session.note_sent(written, now);
    if written == Written::Disconnect && session.is_disconnecting() {
        *closing = true;
    }
}

impl ClientState {
    /// The client id as the log shows it.
    fn log_id(&self) -> String {
        let ours = self.options.client_id.as_deref();
        let id = match &self.session {
            Some(session) => session.client_id(ours),
            None => ours.unwrap_or_default(),
        };
        log::shown(id).to_owned()
    }

    /// Encodes the session's outgoing packets into the connection's write buffer.
    pub fn pump(&mut self, work: &mut Work) {
        // Durable before it is on the wire (skeeter's persistence): while it
        // cannot be, only what the log does not record goes.
        if !self.persist_before_wire(work) {
            return self.pump_unrecorded(work);
        }
        let (Some(session), Some(conn)) = (self.session.as_mut(), self.conn.as_mut()) else {
            return;
        };
        if !session.has_outgoing() {
            return;
        }
        // The log names the client; only copied when there is a log to write.
        let id = work.logging.then(|| {
            session
                .client_id(self.options.client_id.as_deref())
                .to_owned()
        });
        session.drain_outgoing(|out| {
            let encoded = match out {
                Outbound::Packet(packet) => {
                    if let Some(id) = &id {
                        for line in log::sending(id, &packet) {
                            work.debug(|| line);
                        }
                    }
                    conn.queue(&packet)
                }
                Outbound::Publish(publish) => {
                    if let Some(id) = &id {
                        let line = log::sending_publish(id, Parts::of(publish));
                        work.debug(|| line);
                    }
                    conn.queue_publish(publish)
                }
            };
            if let Err(e) = encoded {
                // The session checks sizes before queueing, so this is not expected.
                work.log(MOSQ_LOG_ERR, || format!("Error encoding packet: {e}"));
            }
        });
    }

    /// Encodes only the waiting PINGREQs and DISCONNECTs (see `pump`).
    fn pump_unrecorded(&mut self, work: &mut Work) {
        let (Some(session), Some(conn)) = (self.session.as_mut(), self.conn.as_mut()) else {
            return;
        };
        session.drain_unrecorded(|packet| {
            if let Err(e) = conn.queue(packet) {
                work.log(MOSQ_LOG_ERR, || format!("Error encoding packet: {e}"));
            }
        });
    }

    /// Writes what the socket takes now. The error is the socket's; the caller
    /// decides whether it ends the connection.
    pub fn write_out(&mut self, now: Instant, work: &mut Work) -> Result<()> {
        let (Some(session), Some(conn)) = (self.session.as_mut(), self.conn.as_mut()) else {
            return Ok(());
        };
        let mut closing = false;
        conn.flush(|written| note_written(session, written, now, &mut closing))
            .map_err(|e| net_failure(e, work))?;
        if closing {
            self.close(0, Vec::new(), work);
        }
        Ok(())
    }

    /// Takes a large batch of queued output to write without the lock (see
    /// `unlocked_write`).
    pub fn take_output(&mut self) -> Option<UnlockedWrite> {
        self.conn.as_mut()?.take_output(UNLOCKED_WRITE_MIN)
    }

    /// Ends an unlocked write: what was written is reported as `write_out`
    /// reports it, and `sent`'s failure ends the connection. A batch from a
    /// connection that has since been closed is dropped.
    pub fn finish_output(
        &mut self,
        batch: UnlockedWrite,
        sent: std::result::Result<(), NetError>,
        now: Instant,
        work: &mut Work,
    ) -> Result<()> {
        let (Some(session), Some(conn)) = (self.session.as_mut(), self.conn.as_mut()) else {
            return Ok(());
        };
        if !conn.owns(&batch) {
            return Ok(());
        }
        let mut closing = false;
        conn.finish_output(batch, |written| {
            note_written(session, written, now, &mut closing);
        });
        if let Err(e) = sent {
            let error = net_failure(e, work);
            return self.fail(error, work);
        }
        if closing {
            self.close(0, Vec::new(), work);
        }
        Ok(())
    }

    /// Writes what the socket takes now; a failure ends the connection.
    pub fn write_or_fail(&mut self, now: Instant, work: &mut Work) -> Result<()> {
        match self.write_out(now, work) {
            Ok(()) => Ok(()),
            Err(e) => self.fail(e, work),
        }
    }

    /// Reads and handles every whole packet the socket has.
    pub fn read_in(&mut self, now: Instant, work: &mut Work) -> Result<()> {
        let (Some(session), Some(conn)) = (self.session.as_mut(), self.conn.as_mut()) else {
            return Ok(());
        };
        let id = self.options.client_id.as_deref();
        let mut handling_error = None;
        let mut refused = None;
        let read = conn.read_packets(|packet| {
            let connack_code = match &packet {
                Packet::ConnAck(c) => Some(c.reason_code),
                other => {
                    if work.logging {
                        let line = log::received(session.client_id(id), other);
                        work.debug(|| line);
                    }
                    None
                }
            };
            let result = session.handle(packet, now);
            if let Some(reason_code) = connack_code {
                // Logged after handling, so an assigned client id shows.
                if work.logging {
                    let connack = Packet::ConnAck(ConnAck {
                        session_present: false,
                        reason_code,
                        properties: Vec::new(),
                    });
                    let line = log::received(session.client_id(id), &connack);
                    work.debug(|| line);
                }
            }
            match result {
                Ok(()) => session.link() != Link::Down,
                // A refusal: read no further, and end it after on_connect.
                Err(e) if connack_code.is_some_and(|code| code != 0) => {
                    refused = Some(e);
                    false
                }
                Err(e) => {
                    handling_error = Some(e);
                    false
                }
            }
        });
        for line in conn.take_transport_warnings() {
            work.log(MOSQ_LOG_WARNING, || line);
        }
        if let Ok(packets) = read {
            self.pace.note_read(packets);
        }
        if refused.is_some() {
            work.refused = refused;
            return Ok(());
        }
        let error = match (read, handling_error) {
            (_, Some(e)) => e,
            (Err(ReadFailure::Decode(e)), None) => {
                if let Some(session) = self.session.as_mut() {
                    session.decoding_failed(e);
                }
                e
            }
            (Err(ReadFailure::Io(e)), None) => net_failure(e, work),
            (Ok(_), None) => return Ok(()),
        };
        self.fail(error, work)
    }

    /// Keepalive: a PINGREQ when due, or the end of a silent connection; and
    /// the end of an attempt past its connect timeout (skeeter's).
    pub fn tick(&mut self, now: Instant, work: &mut Work) -> Result<()> {
        let connected = self.session.as_ref().is_some_and(|s| s.is_connected());
        if let Err(e) = connect_timeout::check(self.resilience.connect_deadline, connected, now) {
            self.resilience.connect_deadline = None;
            return self.fail(e, work);
        }
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        match session.tick(now) {
            Ok(()) => Ok(()),
            Err(e) => self.fail(e, work),
        }
    }

    /// Ends the connection after `error`. Returns `Err(error)`, or `Ok` when the
    /// program had asked to disconnect (the close is then the one it wanted and
    /// is reported as 0, as libmosquitto does). A failed TLS handshake is not
    /// reported to `on_disconnect`, as in libmosquitto: the loop call returns it.
    pub fn fail(&mut self, error: Error, work: &mut Work) -> Result<()> {
        self.end(error, work, true)
    }

    /// Ends a connection the broker refused, once `on_connect` has run: as
    /// `fail`, without a log line (`on_connect` reported the refusal).
    pub fn end_refused(&mut self, error: Error, work: &mut Work) -> Result<()> {
        self.end(error, work, false)
    }

    fn end(&mut self, error: Error, work: &mut Work, log: bool) -> Result<()> {
        if self.conn.is_none() {
            return Err(error);
        }
        if error == Error::Tls && self.conn.as_ref().is_some_and(|c| c.is_handshaking()) {
            // The TLS handshake failed (its reason is logged): as libmosquitto
            // does, close without on_disconnect, since no connection was made.
            if let Some(mut conn) = self.conn.take() {
                conn.shutdown();
            }
            if let Some(session) = self.session.as_mut() {
                session.connection_lost();
            }
            return Err(error);
        }
        // Best effort: an MQTT 5 DISCONNECT saying why, if the socket takes it now.
        self.pump(work);
        if let (Some(conn), Some(session)) = (self.conn.as_mut(), self.session.as_mut()) {
            let _ = conn.flush(|w| session.note_sent(w, Instant::now()));
        }
        if log {
            self.log_failure(error, work);
        }
        let reported = reported_error(error);
        let rc = if self.disconnect_requested {
            0
        } else {
            reported.code()
        };
        self.close(rc, Vec::new(), work);
        if rc == 0 {
            Ok(())
        } else {
            Err(reported)
        }
    }

    /// The log line saying why the connection ends; none for a lost connection, a
    /// socket error or a refusal, which on_disconnect and on_connect report.
    fn log_failure(&self, error: Error, work: &mut Work) {
        let id = self.log_id();
        match error {
            Error::ConnLost | Error::Errno(_) | Error::ConnRefused => {}
            Error::Keepalive => {
                let seconds = self.session.as_ref().map_or(0, |s| s.keepalive_seconds());
                work.log(MOSQ_LOG_ERR, || {
                    format!(
                        "Client {id} had no answer from the broker within the keepalive ({seconds} s), closing its connection"
                    )
                });
            }
            _ => {
                let reported = reported_error(error);
                work.log(MOSQ_LOG_ERR, || match violation_text(error) {
                    Some(what) => {
                        format!("Client {id} received {what}, closing its connection: {reported}")
                    }
                    None => format!("Client {id} closing its connection: {error}"),
                });
            }
        }
    }

    /// Closes the socket and records `on_disconnect(rc)` after the session's
    /// pending events.
    pub fn close(
        &mut self,
        rc: i32,
        properties: Vec<crate::protocol::property::Property>,
        work: &mut Work,
    ) {
        self.collect_events(work);
        if let Some(mut conn) = self.conn.take() {
            conn.shutdown();
        }
        if let Some(session) = self.session.as_mut() {
            session.connection_lost();
        }
        work.push(Notice::Disconnect { rc, properties });
    }

    /// Turns the session's events into notices. A DISCONNECT from the broker
    /// closes the socket and is reported with the broker's reason only.
    pub fn collect_events(&mut self, work: &mut Work) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        if !session.has_events() {
            return;
        }
        let ours = self.options.client_id.as_deref();
        let mut events = session.take_events();
        let mut connected = false;
        for event in events.drain(..) {
            match event {
                Event::Disconnected {
                    reason_code,
                    properties,
                } => {
                    if let Some(mut conn) = self.conn.take() {
                        conn.shutdown();
                    }
                    work.push(Notice::Disconnect {
                        rc: i32::from(reason_code),
                        properties,
                    });
                }
                Event::UnknownPubRec { mid } => {
                    let id = log::shown(session.client_id(ours));
                    work.log(MOSQ_LOG_WARNING, || {
                        format!("Client {id} received PUBREC for an unknown packet identifier {mid}, answered with PUBREL")
                    });
                }
                Event::OfflineDropped { mid, topic } => {
                    let id = log::shown(session.client_id(ours));
                    work.log(MOSQ_LOG_WARNING, || {
                        format!("Client {id} dropped message {mid} to {topic:?}: the offline queue was full (skeeter_offline_queue_set)")
                    });
                }
                Event::Auth { reason_code, .. } => {
                    let id = log::shown(session.client_id(ours));
                    work.log(MOSQ_LOG_NOTICE, || {
                        format!("Client {id} received AUTH ({reason_code}): extended authentication is not supported")
                    });
                }
                other => {
                    if matches!(other, Event::Connected { .. }) {
                        connected = true;
                    }
                    work.push(Notice::Event(other));
                }
            }
        }
        session::recycle_events(events);
        if connected {
            self.note_connected(std::time::SystemTime::now());
        }
    }
}

/// The `MOSQ_ERR_*` for a transport failure. A TLS, proxy or WebSocket failure's reason
/// (unknown issuer, host name mismatch, a refused proxy login) goes to the log
/// at `MOSQ_LOG_ERR` first, where libmosquitto logs OpenSSL's error queue.
pub fn net_failure(e: NetError, work: &mut Work) -> Error {
    if matches!(
        e,
        NetError::Tls(_) | NetError::Proxy(_) | NetError::WebSocket(_)
    ) {
        work.log(MOSQ_LOG_ERR, || e.to_string());
    }
    net_error(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Options;

    #[test]
    fn a_client_without_an_id_is_shown_as_null_in_failure_lines_too() {
        let anonymous = ClientState::new(Options::new(None, true).unwrap());
        assert_eq!(anonymous.log_id(), "(null)");
        let named = ClientState::new(Options::new(Some(b"c1"), true).unwrap());
        assert_eq!(named.log_id(), "c1");
    }
}
