//! Calling the program's callbacks for what happened, with no lock held.
//!
//! Work done under the client lock records `Notice`s; once the lock is
//! released they are handed to `Client::dispatch`, which calls every set
//! variant of each event (e.g. `on_connect`, `on_connect_with_flags` and
//! `on_connect_v5`), in that order, as libmosquitto does. A callback may
//! therefore call any client function.

use std::cell::Cell;

use super::callbacks::CallbackSlots;
use super::input;
use super::log::MOSQ_LOG_DEBUG;
use super::thread_context::{ThreadContext, THREAD};
use super::Client;
use crate::error::Error;
use crate::protocol::property::Properties;
use crate::protocol::spare::SpareBuffers;
use crate::session::Event;

/// Something to tell the program.
#[derive(Debug)]
pub enum Notice {
    Event(Event),
    /// The connection ended: `on_disconnect(rc)`, 0 after `mosquitto_disconnect`.
    Disconnect {
        rc: i32,
        properties: Properties,
    },
    Log {
        level: i32,
        line: String,
    },
}

/// The notices gathered by one piece of work, and whether log lines are wanted.
#[derive(Debug)]
pub struct Work {
    /// Borrowed from the thread's spare list at the first `push`.
    pub notices: Vec<Notice>,
    pub logging: bool,
    /// The broker refused the connection (this error): it is ended once
    /// `on_connect` has run, so the program may still disconnect cleanly there.
    pub refused: Option<Error>,
    /// The mid of a QoS 0 message a publish wrote at once with nothing queued
    /// or pending before it (`Client::publish_collecting`): its `on_publish`
    /// comes after the notices, as its `Published` event would have.
    pub published: Option<u16>,
    /// A persisted publish: its packets wait for the loop's next `pump`, so the
    /// publishes between two loop turns share one sync (skeeter's persistence).
    pub defer_pump: bool,
}

/// A spare notice list kept by this thread up to this many entries, so that
/// work done per message allocates no list.
const SPARE_NOTICES_MAX: usize = 1024;

thread_local! {
    static SPARE_NOTICES: Cell<Vec<Notice>> = const { Cell::new(Vec::new()) };
}

impl Work {
    pub fn new(logging: bool) -> Self {
        Work {
            notices: Vec::new(),
            logging,
            refused: None,
            published: None,
            defer_pump: false,
        }
    }

    /// Adds a notice, borrowing this thread's spare list for the first.
    #[inline]
    pub fn push(&mut self, notice: Notice) {
        if self.notices.capacity() == 0 {
            self.borrow_spare();
        }
        self.notices.push(notice);
    }

    #[cold]
    fn borrow_spare(&mut self) {
        self.notices = SPARE_NOTICES.take();
    }

    /// Gives the (emptied) notice list back to this thread for the next `Work`.
    fn recycle(mut self) {
        if self.notices.capacity() == 0 {
            return;
        }
        self.notices.clear();
        if self.notices.capacity() <= SPARE_NOTICES_MAX {
            SPARE_NOTICES.set(self.notices);
        }
    }

    /// Records a log line; `line` is only called when a log callback is set.
    pub fn log(&mut self, level: i32, line: impl FnOnce() -> String) {
        if self.logging {
            self.push(Notice::Log {
                level,
                line: line(),
            });
        }
    }

    pub fn debug(&mut self, line: impl FnOnce() -> String) {
        self.log(MOSQ_LOG_DEBUG, line);
    }
}

/// Drops `value` once this thread has left every callback it is in, at once
/// if it is in none: a handle destroyed from a callback, whose client the
/// dispatch that called back still uses.
pub fn drop_after_callbacks(value: Box<dyn std::any::Any>) {
    let kept = THREAD.try_with(|t| {
        if t.callback_depth.get() == 0 {
            return Some(value);
        }
        let mut waiting = t.after_callbacks.take();
        waiting.push(value);
        t.after_callbacks.set(waiting);
        t.has_after_callbacks.set(true);
        None
    });
    drop(kept);
}

/// Whether this thread is running one of the program's callbacks. Requests made
/// from a callback are queued for the loop rather than written at once, as in
/// libmosquitto.
pub fn in_callback() -> bool {
    // `try_with`: the borrowed table makes this thread-local one with a
    // destructor, and a call made after it ran (a program's exit handlers)
    // must not panic. Depth is then 0, as no callback can be running.
    THREAD
        .try_with(|t| t.callback_depth.get() > 0)
        .unwrap_or(false)
}

/// Marks this thread as inside a callback until dropped (also on unwinding).
struct InCallback;

impl InCallback {
    fn enter() -> Self {
        let _ = THREAD.try_with(|t| t.callback_depth.set(t.callback_depth.get() + 1));
        InCallback
    }

    /// `enter`, also taking this thread's last table if it is `version`'s.
    fn enter_borrowing(version: u64) -> (Self, Option<CallbackSlots>) {
        let last = THREAD.try_with(|t| {
            t.callback_depth.set(t.callback_depth.get() + 1);
            last_table(t, version)
        });
        (InCallback, last.ok().flatten())
    }

    /// Leaves, keeping `slots` (of `version`) for this thread's next dispatch.
    fn leave_lending(self, version: u64, slots: CallbackSlots) {
        let left = THREAD.try_with(|t| {
            (
                t.leave_callback(),
                t.last_used.replace(Some((version, slots))),
            )
        });
        std::mem::forget(self);
        drop(left);
    }
}

impl Drop for InCallback {
    fn drop(&mut self) {
        let left = THREAD.try_with(|t| t.leave_callback());
        drop(left);
    }
}

/// This thread's last table, taken, if it is `version`'s.
fn last_table(t: &ThreadContext, version: u64) -> Option<CallbackSlots> {
    match t.last_used.take() {
        Some((v, slots)) if v == version => Some(slots),
        other => {
            t.last_used.set(other);
            None
        }
    }
}

/// `InCallback` for a caller that holds this thread's context already (one
/// thread-local access less each way).
struct InCallbackOf<'a>(&'a ThreadContext);

impl<'a> InCallbackOf<'a> {
    /// Enters, also taking this thread's last table if it is `version`'s.
    fn enter_borrowing(t: &'a ThreadContext, version: u64) -> (Self, Option<CallbackSlots>) {
        t.callback_depth.set(t.callback_depth.get() + 1);
        (InCallbackOf(t), last_table(t, version))
    }

    /// Leaves, keeping `slots` (of `version`) for this thread's next dispatch.
    fn leave_lending(self, version: u64, slots: CallbackSlots) {
        let old = self.0.last_used.replace(Some((version, slots)));
        // Dropping `self` leaves; the old table is dropped after that.
        drop(self);
        drop(old);
    }
}

impl Drop for InCallbackOf<'_> {
    fn drop(&mut self) {
        drop(self.0.leave_callback());
    }
}

thread_local! {
    /// The client whose loop is calling this thread's callbacks (innermost), if any.
    static LOOP_DISPATCH: Cell<usize> = const { Cell::new(0) };
}

thread_local! {
    /// A callback of the loop on this thread queued a request (see `service`).
    static QUEUED_BY_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Notes that a callback of the loop on this thread queued a packet.
pub fn note_queued_by_callback() {
    QUEUED_BY_CALLBACK.set(true);
}

/// Whether a callback queued a packet since the last look.
pub fn take_queued_by_callback() -> bool {
    QUEUED_BY_CALLBACK.replace(false)
}

/// Whether this thread is inside a callback called by `client`'s own network
/// loop: that loop writes what the callback queues as soon as the callbacks
/// return, so the request need not wake anyone.
pub fn in_loop_callback_of(client: &Client) -> bool {
    LOOP_DISPATCH.get() == client as *const Client as usize
}

/// Marks this thread as calling back from `client`'s loop until dropped.
struct LoopDispatch(usize);

impl LoopDispatch {
    fn enter(client: &Client) -> Self {
        LoopDispatch(LOOP_DISPATCH.replace(client as *const Client as usize))
    }
}

impl Drop for LoopDispatch {
    fn drop(&mut self) {
        LOOP_DISPATCH.set(self.0);
    }
}

impl Client {
    /// Runs `body` (an export's guarded body), then the callbacks it raised,
    /// outside the export's panic catch, before returning its value.
    pub fn dispatch_after<T>(&self, body: impl FnOnce() -> T) -> T {
        // Collected work is run outside every catch: no need to ask again.
        super::contain::collecting(body, |work| self.dispatch_now(work))
    }
}

impl Client {
    /// Calls `on_pre_connect`, if set, before a connection attempt (see
    /// `reconnect`). Not deferred like the other callbacks: what it sets must
    /// be in place for the attempt that follows, so it is called right here,
    /// which must be outside `contain` and with no lock held.
    pub(crate) fn call_pre_connect(&self) {
        debug_assert!(
            !super::contain::contained(),
            "on_pre_connect called inside contain"
        );
        let (_, cb) = self.callbacks_with_generation();
        if let Some(f) = cb.on_pre_connect() {
            let _inside = InCallback::enter();
            f();
        }
    }
}

impl Client {
    /// `dispatch` for the network loop: what a callback queues is written by the
    /// loop when this returns (see `in_loop_callback_of`).
    pub fn dispatch_from_loop(&self, work: Work) {
        let _loop = LoopDispatch::enter(self);
        self.dispatch(work);
    }

    /// Calls the callbacks for `work`'s notices, in order. Must be called with no
    /// client lock held.
    pub fn dispatch(&self, work: Work) {
        if work.notices.is_empty() && work.published.is_none() {
            work.recycle();
            return;
        }
        // Inside an export's panic catch, the export runs them once it returned.
        if let Some(work) = super::contain::keep_if_contained(work) {
            self.dispatch_now(work);
        }
    }

    /// `dispatch` for a caller that knows it runs outside every `contain`.
    pub fn dispatch_uncontained(&self, work: Work) {
        if work.notices.is_empty() && work.published.is_none() {
            work.recycle();
            return;
        }
        debug_assert!(!super::contain::contained());
        self.dispatch_now(work);
    }

    fn dispatch_now(&self, mut work: Work) {
        // The table: this thread's last one if it is still current, else a
        // copy taken under the callback lock. Re-read only after a change, so
        // a callback that changes the callbacks is heard from the next notice
        // on, and a burst of notices costs one copy.
        let current = self.callbacks_generation();
        let (inside, last) = InCallback::enter_borrowing(current);
        let (mut generation, mut cb) = match last {
            Some(cb) => (current, cb),
            None => self.callbacks_with_generation(),
        };
        if !work.notices.is_empty() {
            self.call_notices(&mut work.notices, &mut generation, &mut cb);
        }
        if let Some(mid) = work.published {
            if self.callbacks_generation() != generation {
                (generation, cb) = self.callbacks_with_generation();
            }
            published_qos0(&cb, mid);
        }
        inside.leave_lending(generation, cb);
        work.recycle();
    }

    /// `on_publish` for a QoS 0 message written at once, for a caller that
    /// holds this thread's context `t` (see `publish_qos0_from_program`).
    #[inline]
    pub(super) fn published_qos0_in(&self, t: &ThreadContext, mid: u16) {
        let current = self.callbacks_generation();
        let (inside, last) = InCallbackOf::enter_borrowing(t, current);
        let (generation, cb) = match last {
            Some(cb) => (current, cb),
            None => self.callbacks_with_generation(),
        };
        published_qos0(&cb, mid);
        inside.leave_lending(generation, cb);
    }

    /// Calls back each of `notices`, in order, emptying the list.
    fn call_notices(
        &self,
        notices: &mut Vec<Notice>,
        generation: &mut u64,
        cb: &mut CallbackSlots,
    ) {
        // Delivered messages' buffers are kept for the next ones this thread
        // reads (`input::lend_spare_buffers`), taken from the thread once.
        let mut spare: Option<SpareBuffers> = None;
        for notice in notices.drain(..) {
            if self.callbacks_generation() != *generation {
                (*generation, *cb) = self.callbacks_with_generation();
            }
            match notice {
                Notice::Log { level, line } => {
                    if let Some(f) = cb.on_log() {
                        f(level, &line);
                    }
                }
                Notice::Disconnect { rc, properties } => {
                    if let Some(f) = cb.on_disconnect() {
                        f(rc);
                    }
                    if let Some(f) = cb.on_disconnect_v5() {
                        f(rc, &properties);
                    }
                }
                Notice::Event(Event::Message(mut publish)) => {
                    message(cb, &mut publish);
                    // The handlers as on_message left them.
                    if let Some(handlers) = self.handlers_if_any() {
                        handlers.call_matching(&mut publish);
                    }
                    spare
                        .get_or_insert_with(input::lend_spare_buffers)
                        .keep(publish.topic, publish.payload);
                }
                Notice::Event(event) => call_event(cb, event),
            }
        }
        if let Some(spare) = spare {
            input::return_spare_buffers(spare);
        }
    }
}

fn call_event(cb: &CallbackSlots, event: Event) {
    match event {
        Event::Connected {
            session_present,
            properties,
        } => connected(cb, 0, i32::from(session_present), &properties),
        Event::ConnectRefused {
            reason_code,
            properties,
        } => connected(cb, i32::from(reason_code), 0, &properties),
        Event::Message(mut publish) => message(cb, &mut publish),
        Event::Published {
            mid,
            reason_code,
            properties,
        } => {
            if let Some(f) = cb.on_publish() {
                f(i32::from(mid));
            }
            if let Some(f) = cb.on_publish_v5() {
                f(i32::from(mid), i32::from(reason_code), &properties);
            }
        }
        Event::Subscribed {
            mid,
            granted_qos,
            properties,
        } => {
            if let Some(f) = cb.on_subscribe() {
                f(i32::from(mid), &granted_qos);
            }
            if let Some(f) = cb.on_subscribe_v5() {
                f(i32::from(mid), &granted_qos, &properties);
            }
        }
        Event::Unsubscribed {
            mid,
            reason_codes,
            properties,
        } => {
            if let Some(f) = cb.on_unsubscribe() {
                f(i32::from(mid));
            }
            if let Some(f) = cb.on_unsubscribe_v5() {
                f(i32::from(mid), &properties);
            }
            if let Some(f) = cb.on_unsubscribe2_v5() {
                let codes: Vec<i32> = reason_codes.iter().map(|&c| i32::from(c)).collect();
                f(i32::from(mid), &codes, &properties);
            }
        }
        // The client layer turns these into `Notice::Disconnect` (and AUTH,
        // extended authentication, an unknown PUBREC and a message the offline
        // queue dropped into log lines) before dispatching.
        Event::Disconnected { .. }
        | Event::Auth { .. }
        | Event::UnknownPubRec { .. }
        | Event::OfflineDropped { .. } => {}
    }
}

/// `on_publish` and `on_publish_v5` for a QoS 0 message: reason 0, no properties.
fn published_qos0(cb: &CallbackSlots, mid: u16) {
    let (on_publish, on_publish_v5) = cb.on_publish_both();
    if let Some(f) = on_publish {
        f(i32::from(mid));
    }
    if let Some(f) = on_publish_v5 {
        f(i32::from(mid), 0, &Vec::new());
    }
}

fn message(cb: &CallbackSlots, publish: &mut crate::protocol::packet::Publish) {
    if let Some(f) = cb.on_message() {
        f(publish);
    }
    if let Some(f) = cb.on_message_v5() {
        f(publish);
    }
}

fn connected(cb: &CallbackSlots, rc: i32, flags: i32, properties: &Properties) {
    if let Some(f) = cb.on_connect() {
        f(rc);
    }
    if let Some(f) = cb.on_connect_with_flags() {
        f(rc, flags);
    }
    if let Some(f) = cb.on_connect_v5() {
        f(rc, flags, properties);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::property::{Property, PropertyValue};
    use std::sync::{Arc, Mutex};

    fn unsubscribed(reason_codes: Vec<u8>) -> Work {
        let mut work = Work::new(false);
        work.notices.push(Notice::Event(Event::Unsubscribed {
            mid: 7,
            reason_codes,
            properties: vec![Property {
                id: 31,
                value: PropertyValue::String("why".into()),
            }],
        }));
        work
    }

    /// A client whose three unsubscribe callbacks write what they got to `seen`.
    fn recording_client(seen: &Arc<Mutex<Vec<String>>>) -> Client {
        let client = Client::new(Some(b"unsub"), true, 0).unwrap();
        let (a, b, c) = (seen.clone(), seen.clone(), seen.clone());
        client.set_callbacks(|cb| {
            cb.on_unsubscribe2_v5 = Some(Arc::new(move |mid, codes, props| {
                c.lock()
                    .unwrap()
                    .push(format!("2_v5 {mid} {codes:?} {}", props.len()));
            }));
            cb.on_unsubscribe_v5 = Some(Arc::new(move |mid, props| {
                b.lock().unwrap().push(format!("v5 {mid} {}", props.len()));
            }));
            cb.on_unsubscribe = Some(Arc::new(move |mid| {
                a.lock().unwrap().push(format!("plain {mid}"));
            }));
        });
        client
    }

    #[test]
    fn a_delivered_message_leaves_its_buffers_to_the_thread() {
        let client = Client::new(Some(b"spare"), true, 0).unwrap();
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let seen = delivered.clone();
        client.set_callbacks(|cb| {
            cb.on_message = Some(Arc::new(move |p| {
                seen.lock().unwrap().push(p.topic.clone())
            }));
        });
        let mut work = Work::new(false);
        let message = crate::session::test_support::message(0, 0, "a/b");
        work.notices.push(Notice::Event(Event::Message(message)));
        drop(input::lend_spare_buffers());
        client.dispatch(work);
        assert_eq!(*delivered.lock().unwrap(), ["a/b"]);
        assert!(input::lend_spare_buffers().held() > 0);
    }

    #[test]
    fn unsubscribe2_v5_comes_after_the_other_unsubscribe_callbacks_with_every_reason_code() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let client = recording_client(&seen);
        client.dispatch(unsubscribed(vec![0, 17, 0x87]));
        client.dispatch(unsubscribed(vec![]));
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "plain 7",
                "v5 7 1",
                "2_v5 7 [0, 17, 135] 1",
                "plain 7",
                "v5 7 1",
                "2_v5 7 [] 1",
            ]
        );
    }
}
