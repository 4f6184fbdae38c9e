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
//!
//! Memory stays bounded: when more than `QUEUE_HIGH` bytes are queued for the
//! `loop_start` thread, or more than twice that wait for the socket counting the
//! batch the thread is writing (so requests can queue the next batch while one
//! is written), a request from another thread waits (without the lock) until
//! the thread has written all but `QUEUE_LOW` of the queue and at most
//! `QUEUE_HIGH + QUEUE_LOW` wait in all, the connection closes or the thread
//! stops. The call still succeeds, as libmosquitto's would; it just takes the
//! time the socket needs, like a blocking write. libmosquitto queues without
//! bound instead.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::contain::contain_without_cancellation_points;
use super::dispatch::{in_callback, in_loop_callback_of, note_queued_by_callback, Work};
use super::log::{self, MOSQ_LOG_ERR};
use super::thread_context::THREAD;
use super::{Client, ClientState};
use crate::error::{Error, Result};
use crate::protocol::packets::publish::Parts;
use crate::protocol::property::Properties;
use crate::session::{Link, Session};

/// The properties of a publish that has none.
static NO_PROPERTIES: Properties = Vec::new();

/// Queued output, in bytes, above which a publishing thread waits for the
/// `loop_start` thread to write (see the module notes).
pub const QUEUE_HIGH: usize = 1024 * 1024;
/// What may still be queued when the waiting thread goes on.
pub const QUEUE_LOW: usize = QUEUE_HIGH / 2;
/// The longest a waiting thread sleeps before looking again (a missed
/// notification costs at most this).
const RECHECK: Duration = Duration::from_millis(20);

/// For a request from another thread to a client on the shared loop, or to a
/// `loop_start` thread's client with nothing queued: writes what is queued
/// now, under the lock, as the loop itself would, and says whether the loop
/// must still be woken: for what the socket did not take, a failure (its wait
/// reports the socket too), or events whose callbacks must run on the loop's
/// thread (a QoS 0 `on_publish`). It saves the loop a wake-up per request.
/// Nothing is logged here (a failure is the loop's to find and report) and a
/// DISCONNECT never goes this way, so no callback runs on this thread.
fn write_at_once(state: &mut ClientState, work: &mut Work) -> bool {
    let mut quiet = Work::new(false);
    let written = state.write_out(Instant::now(), &mut quiet);
    // Not expected: nothing here raises notices without logging.
    work.notices.append(&mut quiet.notices);
    let pending = match state.conn.as_mut() {
        Some(conn) if !conn.wants_write() => {
            // All written: the buffers become this thread's spare, for its
            // next request to any client, as the pool thread gives them back
            // after its own writes (see `Output::release_buffers`).
            conn.release_write_buffers();
            false
        }
        Some(_) => true,
        None => false,
    };
    written.is_err() || pending || state.session.as_ref().is_some_and(|s| s.has_events())
}

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
    /// Publishes a copy of `topic` and `payload`. A QoS 0 message is encoded
    /// straight into the write buffer under the lock, never copied into a
    /// message of its own; a QoS 1 or 2 one is kept until acknowledged.
    pub fn publish(
        &self,
        topic: &str,
        payload: &[u8],
        qos: u8,
        retain: bool,
        properties: Properties,
    ) -> Result<Accepted> {
        let (result, work) = self.publish_collecting(topic, payload, qos, retain, properties);
        if let Some(work) = work {
            self.dispatch(work);
        }
        result
    }

    /// As `publish`, handing back the callbacks it raised (a QoS 0 message
    /// written at once: its `on_publish`) for the caller to dispatch once out of
    /// its panic catch, rather than through `contain`'s thread-local list.
    pub fn publish_collecting(
        &self,
        topic: &str,
        payload: &[u8],
        qos: u8,
        retain: bool,
        properties: Properties,
    ) -> (Result<Accepted>, Option<Work>) {
        if qos == 0 && !self.thread_running.load(Ordering::Acquire) && !in_callback() {
            if let Some((result, published)) =
                self.publish_qos0_at_once(topic, payload, retain, &properties)
            {
                let mut work = Work::new(false);
                work.published = published;
                return (result, Some(work));
            }
        }
        self.request_collecting(|state, work| {
            let qos = state.allowed_qos(qos, work);
            if qos == 0 && state.conn.is_some() {
                // What the session queued before goes out first.
                state.pump(work);
                let id = state.options.client_id.as_deref();
                let (Some(session), Some(conn)) = (state.session.as_mut(), state.conn.as_mut())
                else {
                    return Err(Error::NoConn);
                };
                let mid = session.publish_qos0_direct(topic, payload.len(), retain, &properties)?;
                let parts = Parts {
                    dup: false,
                    qos: 0,
                    retain,
                    topic,
                    packet_id: mid,
                    properties: &properties,
                    payload,
                };
                if work.logging {
                    let line = log::sending_publish(session.client_id(id), parts);
                    work.debug(|| line);
                }
                if let Err(e) = conn.queue_qos0(parts) {
                    // The session checks sizes first, so this is not expected.
                    work.log(MOSQ_LOG_ERR, || format!("Error encoding packet: {e}"));
                }
                return Ok(Accepted {
                    mid,
                    connected: true,
                });
            }
            let session = state.session.as_mut().ok_or(Error::NoConn)?;
            let mid =
                session.publish(topic.to_owned(), payload.to_vec(), qos, retain, properties)?;
            let connected = session.link() != Link::Down;
            state.persist_accepted(mid, work)?;
            work.defer_pump = state.persists();
            Ok(Accepted { mid, connected })
        })
    }

    /// A QoS 0 publish without properties, called from the program's own code
    /// (not from a callback, not from inside the library) in loop mode, as
    /// `publish_qos0_at_once` writes it, its `on_publish` called before this
    /// returns. `args` gives the topic and payload, or `None` when they need
    /// the full checks. `None`, having done nothing, when this is not the case:
    /// then `publish_collecting` as usual.
    ///
    /// Cheaper than that way in two things: the thread's context is looked up
    /// once, for both the checks and the callback, and cancellation is not held
    /// off, since nothing here is a cancellation point (the lock is a futex
    /// system call, the socket's send a system call of its own: see
    /// `net::socket`), so a pending cancel still acts only once we returned.
    pub fn publish_qos0_from_program<'a>(
        &self,
        args: impl FnOnce() -> Option<(&'a str, &'a [u8])>,
        retain: bool,
    ) -> Option<Result<Accepted>> {
        if self.thread_running.load(Ordering::Acquire) {
            return None;
        }
        let outcome = THREAD.try_with(|t| {
            if !t.is_idle() {
                return None;
            }
            let done = contain_without_cancellation_points(t, || {
                let (topic, payload) = args()?;
                self.publish_qos0_at_once(topic, payload, retain, &NO_PROPERTIES)
            });
            match done {
                Err(e) => Some(Err(e)),
                Ok(None) => None,
                Ok(Some((result, published))) => {
                    if let Some(mid) = published {
                        // Outside the catch: a callback's unwind must pass.
                        self.published_qos0_in(t, mid);
                    }
                    Some(result)
                }
            }
        });
        // After the thread's context was destroyed (a program's exit
        // handlers): the usual way, which copes.
        outcome.ok().flatten()
    }

    /// The common case of a QoS 0 publish written at once, as `request` would
    /// write it, with less on the way: no log callback, and nothing queued,
    /// unwritten or unreported before it, so the message is its only packet
    /// and its `on_publish` its only callback (its mid handed back, not a
    /// session event turned into a notice). `None`, having done nothing, when
    /// that is not the case. Meets no cancellation point (see
    /// `publish_qos0_from_program`).
    fn publish_qos0_at_once(
        &self,
        topic: &str,
        payload: &[u8],
        retain: bool,
        properties: &Properties,
    ) -> Option<(Result<Accepted>, Option<u16>)> {
        if self.usable().is_err() || self.logging() {
            return None;
        }
        let mut state = self.lock();
        let state = &mut *state;
        let (Some(session), Some(conn)) = (state.session.as_mut(), state.conn.as_mut()) else {
            return None;
        };
        if state.options.threaded
            || conn.wants_write()
            || session.has_outgoing()
            || session.has_events()
        {
            return None;
        }
        let mid = match session.publish_qos0_unqueued(topic, payload.len(), retain, properties) {
            Ok(mid) => mid,
            Err(e) => return Some((Err(e), None)),
        };
        let parts = Parts {
            dup: false,
            qos: 0,
            retain,
            topic,
            packet_id: mid,
            properties,
            payload,
        };
        let mut published = None;
        match conn.send_qos0_now(parts) {
            Ok(true) => {
                session.note_qos0_written_unqueued(Instant::now());
                published = Some(mid);
            }
            // Reported once the loop has written the rest.
            Ok(false) => session.note_qos0_unwritten(mid),
            // The session checks sizes first, so this is not expected (and
            // would only be logged, and there is no log callback).
            Err(_) => {}
        }
        let accepted = Accepted {
            mid,
            connected: true,
        };
        Some((Ok(accepted), published))
    }

    /// `filters` pairs each filter with its options byte (QoS in bits 0-1).
    pub fn subscribe(&self, mut filters: Vec<(String, u8)>, properties: Properties) -> Result<u16> {
        self.request(|state, work| {
            for (_, options) in &mut filters {
                let qos = state.allowed_qos(*options & 0x03, work);
                *options = (*options & !0x03) | qos;
            }
            session_of(state)?.subscribe(filters, properties)
        })
    }

    pub fn unsubscribe(&self, filters: Vec<String>, properties: Properties) -> Result<u16> {
        self.request(|state, _| session_of(state)?.unsubscribe(filters, properties))
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
    pub(super) fn request<T>(
        &self,
        make: impl FnOnce(&mut ClientState, &mut Work) -> Result<T>,
    ) -> Result<T> {
        let (result, work) = self.request_collecting(make);
        if let Some(work) = work {
            self.dispatch(work);
        }
        result
    }

    /// `request`, handing back the callbacks raised instead of dispatching them
    /// (`None` when the client is not usable and nothing was done).
    fn request_collecting<T>(
        &self,
        make: impl FnOnce(&mut ClientState, &mut Work) -> Result<T>,
    ) -> (Result<T>, Option<Work>) {
        if let Err(e) = self.usable() {
            return (Err(e), None);
        }
        let mut work = Work::new(self.logging());
        // Requests come from exports, whose guard contains them.
        let (result, wake) = {
            let mut state = self.lock();
            let serial = state.conn.as_ref().map(|c| c.serial());
            let direct = !state.options.threaded
                && !self.thread_running.load(Ordering::Acquire)
                && !in_callback();
            // A request another thread's loop would write (never a DISCONNECT,
            // whose close would run callbacks here).
            let for_loop = !direct && !in_callback() && !state.disconnect_requested;
            // On the shared loop, writes only ever happen under the lock, so
            // another thread's request writes at once too, saving its pool
            // thread a wake-up (see `write_at_once`).
            let for_pool = for_loop && self.on_pool.load(Ordering::Relaxed);
            // To a loop_start thread's client, the first request after the
            // thread's last pass writes at once if nothing is queued (no
            // unlocked write can be under way then); the next ones queue for
            // the thread, which writes a flood in batches.
            let for_thread = for_loop
                && !for_pool
                && self.thread_running.load(Ordering::Acquire)
                && !state.wrote_since_loop;
            // Whether the loop may be asleep with nothing to write (`make` may
            // queue output itself).
            let was_idle = state.conn.as_ref().is_some_and(|c| !c.wants_write())
                && !state.session.as_ref().is_some_and(|s| s.has_outgoing());
            let result = make(&mut state, &mut work);
            let mut wake = false;
            // With persistence, the loop encodes what publishes queued (the
            // loop_start thread at once, or the program's next mosquitto_loop), so
            // all of one turn's messages share one sync (group commit).
            let deferred = work.defer_pump;
            if result.is_ok() && state.conn.is_some() {
                if !deferred {
                    state.pump(&mut work);
                }
                if direct && deferred {
                    state.collect_events(&mut work);
                    // A loop_forever on another thread may be asleep in poll.
                    wake = was_idle;
                } else if direct {
                    // A failure here is the loop's to find and report.
                    let _ = state.write_out(Instant::now(), &mut work);
                    state.collect_events(&mut work);
                } else if for_pool && state.conn.as_ref().is_some_and(|c| !c.is_connecting()) {
                    wake = write_at_once(&mut state, &mut work);
                } else if for_thread
                    && was_idle
                    && !deferred
                    && state
                        .conn
                        .as_ref()
                        .is_some_and(|c| !c.is_connecting() && !c.is_handshaking())
                {
                    state.wrote_since_loop = true;
                    wake = write_at_once(&mut state, &mut work);
                } else {
                    let from_loop_callback = in_loop_callback_of(self);
                    if from_loop_callback {
                        // The loop writes it before its call returns.
                        note_queued_by_callback();
                    }
                    let queued = state.conn.as_ref().is_some_and(|c| c.wants_write())
                        || (deferred && state.session.as_ref().is_some_and(|s| s.has_outgoing()));
                    wake = was_idle && queued && !from_loop_callback;
                    if self.must_wait_for_room(&state) {
                        if wake {
                            self.wake();
                            wake = false;
                        }
                        self.wait_for_room(&mut state);
                    }
                }
            }
            // The request ended the connection (a DISCONNECT written, a failed
            // write): closing the socket does not end a wait on it elsewhere.
            let closed = serial.is_some() && state.conn.as_ref().map(|c| c.serial()) != serial;
            (result, wake || closed)
        };
        if wake {
            self.wake();
        }
        (result, Some(work))
    }

    /// Whether this request should wait for the loop thread to write: too much
    /// is queued, a `loop_start` thread runs and this is not it (a callback runs
    /// on it; waiting there would wait for ourselves).
    fn must_wait_for_room(&self, state: &ClientState) -> bool {
        state
            .conn
            .as_ref()
            .is_some_and(|c| c.queued_bytes() > QUEUE_HIGH || c.waiting_bytes() > 2 * QUEUE_HIGH)
            && self.thread_running.load(Ordering::Acquire)
            && !in_callback()
    }

    /// Waits, with the lock released, until the loop thread has written all but
    /// `QUEUE_LOW` bytes, the connection is gone or the thread stops.
    fn wait_for_room(&self, state: &mut super::StateGuard<'_>) {
        self.room_waiters.fetch_add(1, Ordering::AcqRel);
        while state.conn.as_ref().is_some_and(|c| {
            c.queued_bytes() > QUEUE_LOW || c.waiting_bytes() > QUEUE_HIGH + QUEUE_LOW
        }) && self.thread_running.load(Ordering::Acquire)
            && !self.stop.load(Ordering::Acquire)
        {
            self.room.wait_for(&mut state.inner, RECHECK);
        }
        self.room_waiters.fetch_sub(1, Ordering::AcqRel);
    }

    /// Called by the loop after writing: wakes requests waiting for room.
    pub(super) fn notify_room(&self) {
        if self.room_waiters.load(Ordering::Acquire) > 0 {
            self.room.notify_all();
        }
    }
}
