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
//! A failure at that second point (the disk filled between the two) is logged and
//! the packets still go: the connection is not held hostage to the disk, and the
//! record is tried again with the next sync.

use std::path::Path;

use super::dispatch::Work;
use super::log::{self, MOSQ_LOG_ERR, MOSQ_LOG_NOTICE};
use super::{Client, ClientState};
use crate::error::{Error, Result};
use crate::persist::{Message, PersistError, Record, Restored, Store, StoredMessage, SyncTicket};
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
    /// `pump` that follows syncs only what came meanwhile, if it needs it).
    pub fn lock_after_sync(&self, work: &mut Work) -> super::StateGuard<'_> {
        let mut state = self.lock();
        let Some(ticket) = state.persist_begin_sync(work) else {
            return state;
        };
        drop(state);
        let result = ticket.run();
        state = self.lock();
        match result {
            Ok(()) => {
                if let Some(persistence) = state.resilience.persistence.as_mut() {
                    persistence.store.end_sync(&ticket);
                }
            }
            Err(e) => work.log(MOSQ_LOG_ERR, || {
                format!("Persistence: cannot sync the log: {e}")
            }),
        }
        state
    }
}

impl ClientState {
    /// Records the session's changes and, when they need a sync, hands out the
    /// sync to run without the lock.
    fn persist_begin_sync(&mut self, work: &mut Work) -> Option<SyncTicket> {
        let (Some(persistence), Some(session)) =
            (self.resilience.persistence.as_mut(), self.session.as_mut())
        else {
            return None;
        };
        for change in session.take_changes() {
            if let Err(e) = append(&mut persistence.store, session, change) {
                work.log(MOSQ_LOG_ERR, || format!("Persistence: {e}"));
            }
        }
        match persistence.store.begin_sync() {
            Ok(ticket) => ticket,
            Err(e) => {
                work.log(MOSQ_LOG_ERR, || {
                    format!("Persistence: cannot write the log: {e}")
                });
                None
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
        match persistence.store.write() {
            Ok(()) => Ok(()),
            Err(e) => refuse(persistence, session, mid, mark, e, work),
        }
    }

    /// Before packets are encoded for the socket: every change recorded, and
    /// synced once if any needs it.
    pub fn persist_before_wire(&mut self, work: &mut Work) {
        let (Some(persistence), Some(session)) =
            (self.resilience.persistence.as_mut(), self.session.as_mut())
        else {
            return;
        };
        if !session.has_changes() && !persistence.store.wants_sync() {
            return;
        }
        for change in session.take_changes() {
            if let Err(e) = append(&mut persistence.store, session, change) {
                work.log(MOSQ_LOG_ERR, || format!("Persistence: {e}"));
            }
        }
        if let Err(e) = persistence.store.sync() {
            work.log(MOSQ_LOG_ERR, || {
                format!("Persistence: cannot write the log, sending without it: {e}")
            });
        }
        if let Some(e) = persistence.store.take_warning() {
            work.log(MOSQ_LOG_ERR, || {
                format!("Persistence: compaction failed, the log is unharmed: {e}")
            });
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
        let (_, restored) = Store::open(&dir).unwrap();
        let payloads: Vec<&[u8]> = restored
            .outgoing
            .iter()
            .map(|o| &o.message.payload[..])
            .collect();
        assert_eq!(payloads, [&b"kept"[..], b"after"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
