//! The client's side of persistence (`skeeter_persistence_set`): a store opened
//! before the first connect, what it restored handed to the session that connect
//! makes, and the session's changes recorded on the way to the wire.
//!
//! When things are written:
//! - an accepted QoS 1 or 2 publish (or a QoS 0 one the offline queue keeps) is
//!   written to the log before the publish call returns, so a full or failing
//!   disk refuses that publish (`MOSQ_ERR_ERRNO`, errno set, a log line) and the
//!   message is withdrawn: never sent, never reported;
//! - before packets are encoded for the socket (`pump`), every change since the
//!   last time is written and, if any needs it, synced once: a message goes on the
//!   wire only once it is durable, and everything one loop turn sends shares one
//!   `fdatasync` (group commit).
//!
//! A loop turn starts with that sync run with the lock released, and, when most
//! of the log is dead, its compaction too (`Client::lock_after_sync`), so that
//! publishers wait for neither.
//!
//! A failure at that second point (the disk filled between the two, a failed
//! `fdatasync`) holds the packets back: nothing goes on the wire before what it
//! depends on is durable. It is logged once; each loop turn tries again (after a
//! failed sync, by writing the log anew, see `persist::store`), and meanwhile
//! publishes fail with `MOSQ_ERR_ERRNO` and the sync's errno. Keepalive waits
//! too, so a disk that stays broken ends in the broker closing the connection.

use std::path::Path;

use super::dispatch::Work;
use super::log::{self, MOSQ_LOG_ERR, MOSQ_LOG_NOTICE};
use super::{Client, ClientState};
use crate::error::{Error, Result};
use crate::persist::{
    CompactTicket, Message, PersistError, Record, Restored, Store, StoredMessage, SyncTicket,
};
use crate::protocol::codec::Reader;
use crate::protocol::packet::{ProtocolVersion, Publish, CMD_PUBLISH};
use crate::protocol::property::{id, PropertyValue};
use crate::protocol::property_codec::{read_properties, write_properties};
use crate::session::journal::{Change, RestoredOut};
use crate::session::{Config, Session};

#[derive(Debug)]
pub struct Persistence {
    store: Store,
    /// What the log held when opened, until the first connect takes it.
    restored: Option<Restored>,
    /// Packets are held back because the log could not be made durable (and
    /// that was logged).
    holding: bool,
}

impl Client {
    /// `skeeter_persistence_set`: opens (or makes) `dir` as this client's store.
    /// Only before the first connect; `Inval` with a log line when the directory
    /// is locked by another client or cannot be used.
    pub fn set_persistence(&self, dir: &Path) -> Result<()> {
        let mut work = Work::new(self.logging());
        let result = {
            let mut state = self.lock();
            if state.session.is_some() {
                work.log(MOSQ_LOG_ERR, || {
                    "skeeter_persistence_set must come before the first connect".to_owned()
                });
                Err(Error::Inval)
            } else {
                // Dropped first: a directory set again is not locked by ourselves.
                state.resilience.persistence = None;
                match Store::open(dir) {
                    Ok((store, restored)) => {
                        state.resilience.persistence = Some(Box::new(Persistence {
                            store,
                            restored: Some(restored),
                            holding: false,
                        }));
                        Ok(())
                    }
                    Err(e) => {
                        let shown = dir.display().to_string();
                        work.log(MOSQ_LOG_ERR, || {
                            format!("Persistence directory {shown} cannot be used: {e}")
                        });
                        Err(Error::Inval)
                    }
                }
            }
        };
        self.dispatch(work);
        result
    }
}

impl Client {
    /// The main lock, for the loop's turn: first, with persistence, everything
    /// recorded so far is synced with the lock released, so that publishers go
    /// on queueing during the `fdatasync` and the next sync takes them all (the
    /// `pump` that follows syncs only what came meanwhile, if it needs it); and
    /// the log is compacted there too when most of it is dead.
    pub fn lock_after_sync(&self, work: &mut Work) -> super::StateGuard<'_> {
        let mut state = self.lock();
        let (sync, compaction) = state.persist_begin_unlocked(work);
        if sync.is_none() && compaction.is_none() {
            return state;
        }
        drop(state);
        let synced = sync.as_ref().map(SyncTicket::run);
        let compacted = compaction.as_ref().map(CompactTicket::run);
        state = self.lock();
        if let Some(persistence) = state.resilience.persistence.as_mut() {
            // The sync's end first: a compaction's end replaces the file.
            match (&sync, synced) {
                (Some(ticket), Some(Ok(()))) => persistence.store.end_sync(ticket),
                // The `pump` that follows holds the packets back and logs it.
                (Some(ticket), Some(Err(e))) => persistence.store.sync_failed(ticket, &e),
                _ => {}
            }
            if let (Some(ticket), Some(compacted)) = (&compaction, compacted) {
                // A failure is logged by the `pump` that follows.
                persistence.store.end_compact(ticket, compacted);
            }
        }
        state
    }
}

impl ClientState {
    /// Records the session's changes and hands out what to run without the
    /// lock: their sync, when they need one, and a compaction, when it is due.
    fn persist_begin_unlocked(
        &mut self,
        work: &mut Work,
    ) -> (Option<SyncTicket>, Option<CompactTicket>) {
        let (Some(persistence), Some(session)) =
            (self.resilience.persistence.as_mut(), self.session.as_mut())
        else {
            return (None, None);
        };
        for change in session.take_changes() {
            if let Err(e) = append(&mut persistence.store, session, change) {
                work.log(MOSQ_LOG_ERR, || format!("Persistence: {e}"));
            }
        }
        let sync = persistence.store.begin_sync();
        let compaction = persistence.store.begin_compact();
        match (sync, compaction) {
            (Ok(sync), Ok(compaction)) => (sync, compaction),
            (sync, compaction) => {
                if let Some(e) = sync.as_ref().err().or(compaction.as_ref().err()) {
                    work.log(MOSQ_LOG_ERR, || {
                        format!("Persistence: cannot write the log: {e}")
                    });
                }
                (sync.ok().flatten(), compaction.ok().flatten())
            }
        }
    }

    pub fn persists(&self) -> bool {
        self.resilience.persistence.is_some()
    }

    /// At the first connect, once the session exists: what the store kept goes
    /// back into it when it is this client's resumable session (same client id,
    /// no clean session, and for MQTT 5 a session expiry above 0); otherwise the
    /// store starts again for this client.
    pub fn start_persistence(
        persistence: &mut Option<Box<Persistence>>,
        session: &mut Session,
        config: &Config<'_>,
        work: &mut Work,
    ) {
        let Some(persistence) = persistence.as_mut() else {
            return;
        };
        session.set_journal(true);
        let Some(restored) = persistence.restored.take() else {
            return;
        };
        let client_id = session.client_id(config.client_id).to_owned();
        let resumable = !config.clean_start
            && !client_id.is_empty()
            && (!config.protocol.is_v5() || session_expiry(config) > 0);
        if resumable && restored.client_id.as_deref() == Some(client_id.as_str()) {
            let (outgoing, incoming) = (restored.outgoing.len(), restored.incoming.len());
            restore_into(session, restored, config.protocol);
            if outgoing + incoming > 0 {
                let shown = log::shown(&client_id).to_owned();
                work.log(MOSQ_LOG_NOTICE, || {
                    format!("Client {shown} restored {outgoing} outgoing and {incoming} incoming messages from its persistence directory")
                });
            }
        } else if let Err(e) = persistence.store.reset(&client_id) {
            work.log(MOSQ_LOG_ERR, || format!("Persistence directory: {e}"));
        }
    }

    /// After a publish the session accepted: its record (and every change
    /// before it) written. On failure the publish is withdrawn and fails.
    pub fn persist_accepted(&mut self, mid: u16, work: &mut Work) -> Result<()> {
        let (Some(persistence), Some(session)) =
            (self.resilience.persistence.as_mut(), self.session.as_mut())
        else {
            return Ok(());
        };
        let mut mark = None;
        for change in session.take_changes() {
            if let Change::Accepted { mid: m, qos0 } = change {
                if m == mid {
                    mark = Some((persistence.store.mark(), qos0));
                }
            }
            if let Err(e) = append(&mut persistence.store, session, change) {
                return refuse(persistence, session, mid, mark, e, work);
            }
        }
        if let Some(errno) = persistence.store.sync_failure() {
            // It could not be made durable before it is sent: better refused now.
            let e = PersistError::NotDurable(errno);
            return refuse(persistence, session, mid, mark, e, work);
        }
        match persistence.store.write() {
            Ok(()) => Ok(()),
            Err(e) => refuse(persistence, session, mid, mark, e, work),
        }
    }

    /// Before packets are encoded for the socket: every change recorded, and
    /// synced once if any needs it. False when it could not be: the packets,
    /// which may depend on it, must wait.
    pub fn persist_before_wire(&mut self, work: &mut Work) -> bool {
        let (Some(persistence), Some(session)) =
            (self.resilience.persistence.as_mut(), self.session.as_mut())
        else {
            return true;
        };
        if !session.has_changes() && !persistence.store.wants_sync() {
            return true;
        }
        for change in session.take_changes() {
            if let Err(e) = append(&mut persistence.store, session, change) {
                work.log(MOSQ_LOG_ERR, || format!("Persistence: {e}"));
            }
        }
        let synced = persistence.store.sync();
        if let Some(e) = persistence.store.take_warning() {
            work.log(MOSQ_LOG_ERR, || {
                format!("Persistence: compaction failed, the log is unharmed: {e}")
            });
        }
        match synced {
            Ok(()) => {
                if std::mem::take(&mut persistence.holding) {
                    work.log(MOSQ_LOG_NOTICE, || {
                        "Persistence: the log is durable again, the held packets go out".to_owned()
                    });
                }
                true
            }
            // Only completions wait to be written: nothing depends on them.
            Err(e) if !persistence.store.wants_sync() => {
                work.log(MOSQ_LOG_ERR, || {
                    format!("Persistence: cannot write the log, tried again later: {e}")
                });
                true
            }
            Err(e) => {
                if !std::mem::replace(&mut persistence.holding, true) {
                    work.log(MOSQ_LOG_ERR, || {
                        format!("Persistence: cannot make the log durable ({e}): only PINGREQ and DISCONNECT are sent, and publishes fail, until it can be")
                    });
                }
                false
            }
        }
    }
}

/// Fails a publish whose record could not be written.
fn refuse(
    persistence: &mut Persistence,
    session: &mut Session,
    mid: u16,
    mark: Option<(usize, bool)>,
    e: PersistError,
    work: &mut Work,
) -> Result<()> {
    let Some((mark, qos0)) = mark else {
        // Nothing of this publish was to be stored (the earlier records stay
        // buffered for the next try): it goes ahead.
        work.log(MOSQ_LOG_ERR, || format!("Persistence: {e}"));
        return Ok(());
    };
    persistence.store.forget_from(mark);
    session.withdraw(mid, qos0);
    work.log(MOSQ_LOG_ERR, || {
        format!("Persistence: message {mid} refused, it cannot be stored: {e}")
    });
    Err(match e.errno() {
        Some(errno) => Error::Errno(errno),
        None if matches!(e, PersistError::TooLarge) => Error::PayloadSize,
        None => Error::Unknown,
    })
}

/// The record of one change, appended to the store's buffer.
fn append(
    store: &mut Store,
    session: &Session,
    change: Change,
) -> std::result::Result<(), PersistError> {
    let mut properties = Vec::new();
    let record = match change {
        Change::Accepted { mid, qos0 } => match session.stored_outgoing(mid, qos0) {
            Some(publish) => Record::Published(message_of(publish, &mut properties)),
            None => return Ok(()),
        },
        Change::IncomingHeld(mid) => match session.held_incoming(mid) {
            Some(publish) => Record::IncomingHeld(message_of(publish, &mut properties)),
            None => return Ok(()),
        },
        Change::PubRecReceived(mid) => Record::PubRecReceived(mid),
        Change::Completed(mid) => Record::Completed(mid),
        Change::QueuedGone(mid) => Record::QueuedGone(mid),
        Change::IncomingReleased(mid) => Record::IncomingReleased(mid),
        Change::IncomingCleared => Record::IncomingCleared,
    };
    store.append(&record)
}

/// A message as a record holds it; `properties` receives their encoding.
fn message_of<'a>(publish: &'a Publish, properties: &'a mut Vec<u8>) -> Message<'a> {
    if !publish.properties.is_empty() {
        // The session checked them when it accepted the message.
        let _ = write_properties(properties, &publish.properties);
    }
    Message {
        mid: publish.packet_id,
        qos: publish.qos,
        retain: publish.retain,
        topic: &publish.topic,
        properties,
        payload: &publish.payload,
    }
}

fn publish_of(message: StoredMessage, protocol: ProtocolVersion) -> Publish {
    let properties = if message.properties.is_empty() || !protocol.is_v5() {
        Vec::new()
    } else {
        read_properties(&mut Reader::new(&message.properties), CMD_PUBLISH).unwrap_or_default()
    };
    Publish {
        dup: false,
        qos: message.qos,
        retain: message.retain,
        topic: message.topic,
        packet_id: message.mid,
        payload: message.payload,
        properties,
    }
}

fn restore_into(session: &mut Session, restored: Restored, protocol: ProtocolVersion) {
    let outgoing = restored
        .outgoing
        .into_iter()
        .map(|out| RestoredOut {
            publish: publish_of(out.message, protocol),
            released: out.released,
        })
        .collect();
    let incoming = restored
        .incoming
        .into_iter()
        .map(|m| publish_of(m, protocol))
        .collect();
    session.restore(outgoing, incoming);
}

/// The MQTT 5 Session Expiry Interval the CONNECT asks for (0 when none).
fn session_expiry(config: &Config<'_>) -> u32 {
    config
        .connect_properties
        .iter()
        .find(|p| p.id == id::SESSION_EXPIRY_INTERVAL)
        .and_then(|p| match p.value {
            PropertyValue::Int32(v) => Some(v),
            _ => None,
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Options;

    /// A client state with a fresh store and a session made as the first
    /// connect makes it.
    fn persisting(dir: &Path) -> ClientState {
        let mut state = ClientState::new(Options::new(Some(b"c"), false).unwrap());
        let (store, restored) = Store::open(dir).unwrap();
        state.resilience.persistence = Some(Box::new(Persistence {
            store,
            restored: Some(restored),
            holding: false,
        }));
        let config = Config {
            client_id: Some("c"),
            clean_start: false,
            ..Config::default()
        };
        let mut session = Session::new(&config);
        let mut work = Work::new(false);
        ClientState::start_persistence(
            &mut state.resilience.persistence,
            &mut session,
            &config,
            &mut work,
        );
        state.session = Some(session);
        state
    }

    fn publish(state: &mut ClientState, payload: &[u8]) -> Result<u16> {
        let session = state.session.as_mut().unwrap();
        let mid = session.publish("t".into(), payload.to_vec(), 1, false, Vec::new())?;
        state.persist_accepted(mid, &mut Work::new(false))?;
        Ok(mid)
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "skeeter-client-persist-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn store_of(state: &mut ClientState) -> &mut Store {
        &mut state.resilience.persistence.as_mut().unwrap().store
    }

    /// `persisting`, past its CONNACK, with a socket to a local listener for
    /// `pump` to write to (the listener's end is returned, unread).
    fn persisting_connected(dir: &Path) -> (ClientState, std::net::TcpStream) {
        use crate::net::socket::Endpoint;
        use crate::net::{Transport, TransportPlan};
        use crate::protocol::packet::{ConnAck, Packet};
        use std::time::Instant;

        let mut state = persisting(dir);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let to = Endpoint {
            host: "127.0.0.1",
            port: listener.local_addr().unwrap().port(),
            bind_address: None,
        };
        let (transport, _) = Transport::connect(to, &TransportPlan::default(), true).unwrap();
        let (peer, _) = listener.accept().unwrap();
        state.conn = Some(super::super::Connection::new(
            transport,
            false,
            ProtocolVersion::V311,
            0,
        ));
        let config = Config {
            client_id: Some("c"),
            clean_start: false,
            ..Config::default()
        };
        let session = state.session.as_mut().unwrap();
        session.connect_packet(&config, Instant::now());
        let connack = Packet::ConnAck(ConnAck {
            session_present: false,
            reason_code: 0,
            properties: Vec::new(),
        });
        session.handle(connack, Instant::now()).unwrap();
        session.take_events();
        (state, peer)
    }

    fn logged(work: &Work, text: &str) -> bool {
        work.notices
            .iter()
            .any(|n| matches!(n, super::super::dispatch::Notice::Log { line, .. } if line.contains(text)))
    }

    #[test]
    fn a_failed_sync_holds_back_the_packets_after_it_and_fails_publishes_until_one_succeeds() {
        let dir = scratch("sync-fails");
        let (mut state, _peer) = persisting_connected(&dir);
        publish(&mut state, b"held").unwrap();
        store_of(&mut state).fail_syncs(Some(libc::EIO));
        let mut work = Work::new(true);
        state.pump(&mut work);
        assert!(
            !state.conn.as_ref().unwrap().wants_write(),
            "nothing un-durable goes to the socket"
        );
        assert!(state.session.as_ref().unwrap().has_outgoing());
        assert!(logged(&work, "cannot make the log durable"));
        assert_eq!(
            publish(&mut state, b"refused"),
            Err(Error::Errno(libc::EIO))
        );
        // Still failing at the next turn: still held, and logged only once.
        let mut work = Work::new(true);
        state.pump(&mut work);
        assert!(!state.conn.as_ref().unwrap().wants_write());
        assert!(!logged(&work, "cannot make the log durable"));
        // The disk is back: the log is written anew, and the message goes.
        store_of(&mut state).fail_syncs(None);
        let mut work = Work::new(true);
        state.pump(&mut work);
        assert!(state.conn.as_ref().unwrap().wants_write());
        assert!(!state.session.as_ref().unwrap().has_outgoing());
        assert!(logged(&work, "durable again"));
        drop(state);
        assert_eq!(stored_payloads(&dir), [&b"held"[..]]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_sync_still_lets_the_keepalive_and_a_disconnect_go() {
        use crate::session::Written;
        let dir = scratch("sync-fails-ping");
        let (mut state, _peer) = persisting_connected(&dir);
        publish(&mut state, b"held").unwrap();
        store_of(&mut state).fail_syncs(Some(libc::EIO));
        let session = state.session.as_mut().unwrap();
        let later = std::time::Instant::now() + std::time::Duration::from_secs(3600);
        session.tick(later).unwrap();
        session.disconnect(0, Vec::new()).unwrap();
        state.pump(&mut Work::new(true));
        let conn = state.conn.as_mut().unwrap();
        let mut written = Vec::new();
        conn.flush(|w| written.push(w)).unwrap();
        assert_eq!(written, [Written::Other, Written::Disconnect]);
        // The message stays for the log and the next connection.
        assert!(state.session.as_ref().unwrap().has_outgoing());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The payloads of the outgoing messages a new open of `dir` restores.
    fn stored_payloads(dir: &std::path::Path) -> Vec<Vec<u8>> {
        let (_, restored) = Store::open(dir).unwrap();
        restored
            .outgoing
            .iter()
            .map(|o| o.message.payload.to_vec())
            .collect()
    }

    #[test]
    fn a_publish_the_disk_cannot_take_fails_with_its_errno_and_is_never_sent() {
        let dir = scratch("full");
        let mut state = persisting(&dir);
        publish(&mut state, b"kept").unwrap();
        let store = &mut state.resilience.persistence.as_mut().unwrap().store;
        store.fail_writes(Some(libc::ENOSPC));
        assert_eq!(
            publish(&mut state, b"refused"),
            Err(Error::Errno(libc::ENOSPC))
        );
        let session = state.session.as_ref().unwrap();
        assert_eq!(session.waiting_count() + session.in_flight_count(), 1);
        // Room again: the next publish is stored, and the refused one never was.
        let store = &mut state.resilience.persistence.as_mut().unwrap().store;
        store.fail_writes(None);
        publish(&mut state, b"after").unwrap();
        drop(state);
        assert_eq!(stored_payloads(&dir), [&b"kept"[..], b"after"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
