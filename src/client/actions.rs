//! Requests from the program: publish, subscribe, unsubscribe (and the
//! plumbing disconnect shares with them).
//!
//! The session checks and queues the packet. How it then reaches the socket:
//! - with a `loop_start` thread (or `threaded_set`, or from inside a callback),
//!   it is encoded into the write buffer and the loop is woken only if that
//!   buffer was empty, so a burst of publishes costs no system call each;
//! - otherwise, as libmosquitto does, it is written at once (non-blocking; what
//!   the socket does not take goes out in the loop), so a program that
//!   publishes and disconnects without looping still sends. Callbacks this
//!   raises (a QoS 0 `on_publish`) then run before the call returns.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::dispatch::{in_callback, Work};
use super::{Client, ClientState};
use crate::error::{Error, Result};
use crate::protocol::property::Properties;
use crate::session::{Link, Session};

/// The session, which exists once a connect was made.
pub(super) fn session_of(state: &mut ClientState) -> Result<&mut Session> {
    state.session.as_mut().ok_or(Error::NoConn)
}

/// A message the session accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub mid: u16,
    /// False when there is no connection: a QoS 1 or 2 message then waits for
    /// the next one, and the C call still says `MOSQ_ERR_NO_CONN`, as
    /// libmosquitto's does.
    pub connected: bool,
}

impl Client {
    pub fn publish(
        &self,
        topic: String,
        payload: Vec<u8>,
        qos: u8,
        retain: bool,
        properties: Properties,
    ) -> Result<Accepted> {
        self.request(|state| {
            let session = state.session.as_mut().ok_or(Error::NoConn)?;
            let mid = session.publish(topic, payload, qos, retain, properties)?;
            let connected = session.link() != Link::Down;
            if qos == 0 {
                state.qos0_mids.push_back(mid);
            }
            Ok(Accepted { mid, connected })
        })
    }

    /// `filters` pairs each filter with its options byte (QoS in bits 0-1).
    pub fn subscribe(&self, filters: Vec<(String, u8)>, properties: Properties) -> Result<u16> {
        self.request(|state| session_of(state)?.subscribe(filters, properties))
    }

    pub fn unsubscribe(&self, filters: Vec<String>, properties: Properties) -> Result<u16> {
        self.request(|state| session_of(state)?.unsubscribe(filters, properties))
    }

    /// The session's protocol (or the configured one before any connect).
    pub fn protocol_is_v5(&self) -> bool {
        self.lock().options.protocol.is_v5()
    }

    /// Whether there is no socket (for the checks that come before others).
    pub fn is_disconnected(&self) -> bool {
        self.lock().conn.is_none()
    }

    /// Runs `make` on the session, then sends what it queued (see the module
    /// notes) and runs the callbacks that raised.
    pub(super) fn request<T>(&self, make: impl FnOnce(&mut ClientState) -> Result<T>) -> Result<T> {
        let mut work = Work::new(self.logging());
        let (result, wake) = {
            let mut state = self.lock();
            let direct = !state.options.threaded
                && !self.thread_running.load(Ordering::Acquire)
                && !in_callback();
            let result = make(&mut state);
            let mut wake = false;
            if result.is_ok() {
                if let Some(conn) = state.conn.as_ref() {
                    let was_idle = !conn.wants_write();
                    state.pump(&mut work);
                    if direct {
                        // A failure here is the loop's to find and report.
                        let _ = state.write_out(Instant::now(), &mut work);
                        state.collect_events(&mut work);
                    } else {
                        wake = was_idle && state.conn.as_ref().is_some_and(|c| c.wants_write());
                    }
                }
            }
            (result, wake)
        };
        if wake {
            self.wakeup.signal();
        }
        self.dispatch(work);
        result
    }
}
