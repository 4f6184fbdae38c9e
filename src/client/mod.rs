//! The client object behind `struct mosquitto *`: its settings, its callbacks,
//! and the program's user data, shared between the program's threads and the
//! `loop_start` thread.
//!
//! Locks: `state` guards everything about the connection and settings;
//! `callbacks` is separate so a callback being set never waits for I/O, and
//! neither lock is held while a callback runs.
#![deny(unsafe_code)]

pub mod actions;
pub mod backoff;
pub mod callbacks;
pub mod connect;
pub mod connect_timeout;
pub mod connection;
pub mod contain;
pub mod dispatch;
pub mod event_loop;
pub mod failover;
pub mod handlers;
pub mod incoming_cap;
pub mod input;
pub mod io;
pub mod log;
pub mod options;
pub mod output;
pub mod pace;
pub mod persist;
pub mod qos_ceiling;
pub mod resilience;
pub mod server_list;
pub mod shared_loop;
pub mod state_guard;
pub mod thread;
mod thread_context;
pub mod unlocked_write;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::net::wakeup::{WaitGate, Wakeup};
use crate::session::Session;
pub use callbacks::Callbacks;
pub use connect::Target;
pub use connection::Connection;
pub use options::Options;
pub use state_guard::StateGuard;

/// What the client keeps under its main lock: settings, the MQTT session (which
/// outlives connections, keeping QoS 1 and 2 messages across reconnects), the
/// live connection, and where to connect again.
#[derive(Debug)]
pub struct ClientState {
    pub options: Options,
    /// Made by the first connect.
    pub session: Option<Session>,
    /// `None` while there is no socket.
    pub conn: Option<Connection>,
    /// How the broker has been answering on this connection: whether the loop
    /// looks again before sleeping (reset with each new connection).
    pub pace: pace::Pace,
    /// Set by the connect calls; what reconnect uses.
    pub target: Option<Target>,
    /// `mosquitto_disconnect` was called since the last connect: the loop ends
    /// instead of reconnecting, and a close that follows is reported as 0.
    pub disconnect_requested: bool,
    /// Another thread's request wrote at once since the `loop_start` thread
    /// last ran a pass: the next one leaves its output to that thread, so a
    /// flood is still written there in batches (see `actions::write_at_once`).
    pub wrote_since_loop: bool,
    /// skeeter's own settings and state (include/skeeter.h).
    pub resilience: resilience::Resilience,
}

impl ClientState {
    fn new(options: Options) -> Self {
        ClientState {
            options,
            session: None,
            conn: None,
            pace: pace::Pace::default(),
            target: None,
            disconnect_requested: false,
            wrote_since_loop: false,
            resilience: resilience::Resilience::default(),
        }
    }
}

#[derive(Debug)]
pub struct Client {
    state: Mutex<ClientState>,
    /// Only the set slots; `dispatch` works on an unpacked copy.
    callbacks: Mutex<callbacks::CallbackSlots>,
    /// Bumped at every change of `callbacks`, so the loop re-reads them only
    /// after a change (see `dispatch`).
    callbacks_generation: AtomicU64,
    /// Whether a log callback is set (read on every request, so not under a lock).
    log_set: AtomicBool,
    /// The program's `void *obj`, as an address: this layer only hands it back.
    userdata: AtomicUsize,
    /// Wakes whoever runs the loop: queued output, a new socket, a stop
    /// request (see `wake`). Made at first need: a client on the shared loop
    /// never needs one, which saves a descriptor per client.
    wakeup: OnceLock<Wakeup>,
    /// Whether a loop waits on `wakeup`, so that `wake` signals it only then.
    wait_gate: WaitGate,
    /// The client is on the shared loop's pool: `wake` tells its pool thread.
    on_pool: AtomicBool,
    /// How to wake the client's pool thread, while on the pool.
    pool_waker: Mutex<Option<Box<shared_loop::Waker>>>,
    /// The `loop_start` thread (or place on the shared loop's pool), if one
    /// was started and not yet joined. Boxed: most clients, each run by a
    /// program's own loop, never start one.
    thread: Mutex<Option<Box<thread::LoopThread>>>,
    /// `loop_stop` asked the loop thread to end.
    stop: AtomicBool,
    /// ... after what is queued or in flight on a live connection is done
    /// (`loop_stop(false)`).
    drain_on_stop: AtomicBool,
    /// A `loop_start` thread (or a pool thread) is running the loop.
    thread_running: AtomicBool,
    /// Signalled (with `state`'s lock) when the loop thread has written, for
    /// requests waiting for the output queue to shrink (`actions::QUEUE_HIGH`).
    room: Condvar,
    /// How many requests wait on `room`.
    room_waiters: AtomicUsize,
    /// A panic was caught while `state` was locked (see `state_guard`).
    failed: AtomicBool,
    /// skeeter's handlers per subscription; called after `on_message`.
    handlers: Mutex<handlers::HandlerTable>,
    /// Whether `handlers` has any, so a message costs no lock without them.
    has_handlers: AtomicBool,
}

impl Client {
    /// A client with default settings; see `Options::new` for the id rules.
    pub fn new(client_id: Option<&[u8]>, clean_session: bool, userdata: usize) -> Result<Client> {
        Ok(Client {
            state: Mutex::new(ClientState::new(Options::new(client_id, clean_session)?)),
            callbacks: Mutex::new(callbacks::CallbackSlots::default()),
            callbacks_generation: AtomicU64::new(callbacks::next_version()),
            log_set: AtomicBool::new(false),
            userdata: AtomicUsize::new(userdata),
            wakeup: OnceLock::new(),
            wait_gate: WaitGate::default(),
            on_pool: AtomicBool::new(false),
            pool_waker: Mutex::new(None),
            thread: Mutex::new(None),
            stop: AtomicBool::new(false),
            drain_on_stop: AtomicBool::new(false),
            thread_running: AtomicBool::new(false),
            room: Condvar::new(),
            room_waiters: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
            handlers: Mutex::new(handlers::HandlerTable::default()),
            has_handlers: AtomicBool::new(false),
        })
    }

    /// Returns the client to the state `new` gives it, keeping its identity (the
    /// same handle stays valid). As `mosquitto_destroy` does, a `loop_start`
    /// thread is stopped first (called from that thread, in a callback, it ends
    /// once the callback returns) and an open connection is closed without a
    /// DISCONNECT or an `on_disconnect`; then settings, callbacks and the session
    /// are reset. On error (a bad id) nothing changes.
    pub fn reinitialise(
        &self,
        client_id: Option<&[u8]>,
        clean_session: bool,
        userdata: usize,
    ) -> Result<()> {
        let options = Options::new(client_id, clean_session)?;
        self.shut_down();
        let old = std::mem::replace(&mut *self.state.lock(), ClientState::new(options));
        if let Some(mut conn) = old.conn {
            conn.shutdown();
        }
        self.set_callbacks(|c| *c = Callbacks::default());
        self.set_handlers(|_| handlers::HandlerTable::default());
        self.userdata.store(userdata, Ordering::Release);
        Ok(())
    }

    /// The wake-up handle, made on first use; `NoMem` when no descriptor is
    /// left.
    pub(crate) fn wakeup(&self) -> Result<&Wakeup> {
        if let Some(wakeup) = self.wakeup.get() {
            return Ok(wakeup);
        }
        let made = Wakeup::new().map_err(|_| Error::NoMem)?;
        // Another thread may have made one meanwhile: the first one stays.
        let _ = self.wakeup.set(made);
        self.wakeup.get().ok_or(Error::NoMem)
    }

    /// Wakes whoever runs the loop: the pool thread, on the shared loop, else
    /// a loop waiting on the wake-up handle, if one waits (see `WaitGate`; a
    /// loop that has not begun to wait looks at what the caller changed
    /// first). So a program that connects and loops on one thread makes no
    /// eventfd `write` and `read` per request, and a client that only ever
    /// runs on the pool never has a handle of its own, saving a descriptor.
    pub(crate) fn wake(&self) {
        // SeqCst, as the pool thread's store and its look at the stop flag.
        if self.on_pool.load(Ordering::SeqCst) {
            if let Some(waker) = self.pool_waker.lock().as_ref() {
                waker.wake();
                return;
            }
        }
        // A loop marks itself waiting only once it has its handle.
        if self.wait_gate.wake() {
            if let Some(wakeup) = self.wakeup.get() {
                wakeup.signal();
            }
        }
    }

    /// Before a loop looks at what wakers change (see `WaitGate::arm`).
    pub(crate) fn arm_wait(&self) {
        self.wait_gate.arm();
    }

    /// Sets (or, with `None`, clears) how `wake` reaches the pool thread.
    pub(crate) fn set_pool_waker(&self, waker: Option<shared_loop::Waker>) {
        let on = waker.is_some();
        *self.pool_waker.lock() = waker.map(Box::new);
        self.on_pool.store(on, Ordering::SeqCst);
    }

    /// The main lock. Never call a callback while holding it.
    pub fn lock(&self) -> StateGuard<'_> {
        StateGuard {
            inner: self.state.lock(),
            failed: &self.failed,
        }
    }

    /// `Error::Unknown` once a panic was caught while the state was locked (see
    /// `state_guard`): the state may be half-changed, so the client is not used.
    pub fn usable(&self) -> Result<()> {
        if self.failed.load(Ordering::Acquire) {
            Err(Error::Unknown)
        } else {
            Ok(())
        }
    }

    /// A panic while the state is locked, for the tests of what follows one.
    #[cfg(test)]
    pub(crate) fn panic_while_locked(&self) {
        let _state = self.lock();
        panic!("injected panic under the client lock");
    }

    /// Runs `change` on the settings under the main lock.
    pub fn with_options<T>(&self, change: impl FnOnce(&mut Options) -> T) -> T {
        change(&mut self.state.lock().options)
    }

    /// A copy of the callback slots, taken under the callback lock and used after it
    /// is released. Cloning costs one reference count per set slot.
    pub fn callbacks(&self) -> Callbacks {
        self.callbacks.lock().unpack()
    }

    /// A copy of the callback slots with the generation they belong to.
    pub(crate) fn callbacks_with_generation(&self) -> (u64, callbacks::CallbackSlots) {
        let callbacks = self.callbacks.lock();
        (
            self.callbacks_generation.load(Ordering::Acquire),
            callbacks.clone(),
        )
    }

    /// The number of changes made to the callbacks so far.
    pub(crate) fn callbacks_generation(&self) -> u64 {
        self.callbacks_generation.load(Ordering::Acquire)
    }

    /// Changes callback slots under the callback lock.
    pub fn set_callbacks(&self, change: impl FnOnce(&mut Callbacks)) {
        let mut slots = self.callbacks.lock();
        let mut callbacks = slots.unpack();
        change(&mut callbacks);
        *slots = callbacks::CallbackSlots::pack(&callbacks);
        self.log_set
            .store(callbacks.on_log.is_some(), Ordering::Release);
        self.callbacks_generation
            .store(callbacks::next_version(), Ordering::Release);
    }

    /// Whether a log callback is set, so log lines are only formatted when wanted.
    pub fn logging(&self) -> bool {
        self.log_set.load(Ordering::Acquire)
    }

    /// The handlers per subscription as they are now.
    pub fn handlers(&self) -> handlers::HandlerTable {
        self.handlers.lock().clone()
    }

    /// Changes the handlers per subscription.
    pub fn set_handlers(
        &self,
        change: impl FnOnce(&handlers::HandlerTable) -> handlers::HandlerTable,
    ) {
        let mut table = self.handlers.lock();
        *table = change(&table);
        self.has_handlers
            .store(!table.is_empty(), Ordering::Release);
    }

    /// The handlers per subscription, if there are any.
    pub fn handlers_if_any(&self) -> Option<handlers::HandlerTable> {
        if !self.has_handlers.load(Ordering::Acquire) {
            return None;
        }
        Some(self.handlers())
    }

    pub fn userdata(&self) -> usize {
        self.userdata.load(Ordering::Acquire)
    }

    pub fn set_userdata(&self, userdata: usize) {
        self.userdata.store(userdata, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use dispatch::Work;
    use std::sync::atomic::AtomicI32;
    use std::sync::Arc;

    #[test]
    fn a_new_client_keeps_its_id_and_userdata() {
        let client = Client::new(Some(b"id"), true, 42).unwrap();
        assert_eq!(client.lock().options.client_id.as_deref(), Some("id"));
        assert_eq!(client.userdata(), 42);
        client.set_userdata(7);
        assert_eq!(client.userdata(), 7);
    }

    #[test]
    fn reinitialise_resets_settings_and_callbacks() {
        let client = Client::new(Some(b"id"), true, 1).unwrap();
        client.with_options(|o| o.keepalive = 5);
        client.set_callbacks(|c| c.on_connect = Some(Arc::new(|_| {})));
        client.reinitialise(Some(b"other"), false, 2).unwrap();
        let state = client.lock();
        assert_eq!(state.options.client_id.as_deref(), Some("other"));
        assert_eq!(state.options.keepalive, 60);
        assert!(!state.options.clean_session);
        assert!(client.callbacks().on_connect.is_none());
        assert_eq!(client.userdata(), 2);
    }

    #[test]
    fn a_failed_reinitialise_changes_nothing() {
        let client = Client::new(Some(b"id"), true, 1).unwrap();
        assert_eq!(client.reinitialise(None, false, 2), Err(Error::Inval));
        assert_eq!(client.lock().options.client_id.as_deref(), Some("id"));
        assert_eq!(client.userdata(), 1);
    }

    fn log_notice(work: &mut Work) {
        work.notices.push(dispatch::Notice::Log {
            level: 1,
            line: String::new(),
        });
    }

    #[test]
    fn dispatch_calls_the_callbacks_set_now_not_the_ones_it_used_last() {
        let one = Client::new(Some(b"one"), true, 0).unwrap();
        let two = Client::new(Some(b"two"), true, 0).unwrap();
        let calls = Arc::new(AtomicI32::new(0));
        let counting = |client: &Client, by: i32| {
            let calls = calls.clone();
            client.set_callbacks(|c| {
                c.on_log = Some(Arc::new(move |_, _| {
                    calls.fetch_add(by, Ordering::SeqCst);
                }))
            });
        };
        counting(&one, 1);
        counting(&two, 100);
        for (client, expect) in [(&one, 1), (&one, 2), (&two, 102), (&one, 103)] {
            let mut work = Work::new(true);
            log_notice(&mut work);
            client.dispatch(work);
            assert_eq!(calls.load(Ordering::SeqCst), expect);
        }
        // A change between two dispatches on this thread is heard.
        counting(&one, 1000);
        let mut work = Work::new(true);
        log_notice(&mut work);
        one.dispatch(work);
        assert_eq!(calls.load(Ordering::SeqCst), 1103);
    }

    fn message_notice(work: &mut Work, topic: &str) {
        let publish = crate::session::test_support::message(0, 0, topic);
        work.notices
            .push(dispatch::Notice::Event(crate::session::Event::Message(
                publish,
            )));
    }

    #[test]
    fn handlers_run_after_on_message_as_it_left_them() {
        let client = Arc::new(Client::new(Some(b"id"), true, 0).unwrap());
        let order = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let record = |name: &'static str| -> callbacks::OnMessage {
            let order = order.clone();
            Arc::new(move |m| order.lock().push(format!("{name} {}", m.topic)))
        };
        client.set_handlers(|t| {
            t.with("a/#", (1, 0), record("a"))
                .with("b", (2, 0), record("b"))
        });
        let (inner, on_message) = (client.clone(), record("on_message"));
        client.set_callbacks(|c| {
            c.on_message = Some(Arc::new(move |m| {
                on_message(m);
                // Removing b's handler here: it is not called for this message.
                if m.topic == "b" {
                    inner.set_handlers(|t| t.without("b"));
                }
            }))
        });
        let mut work = Work::new(false);
        message_notice(&mut work, "a/x");
        message_notice(&mut work, "b");
        client.dispatch(work);
        assert_eq!(*order.lock(), ["on_message a/x", "a a/x", "on_message b"]);
        client.set_handlers(|t| t.without("a/#"));
        assert!(client.handlers_if_any().is_none());
    }

    #[test]
    fn a_callback_may_replace_callbacks_while_running() {
        let client = Arc::new(Client::new(Some(b"id"), true, 0).unwrap());
        let calls = Arc::new(AtomicI32::new(0));
        let (inner, counter) = (client.clone(), calls.clone());
        client.set_callbacks(|c| {
            c.on_connect = Some(Arc::new(move |rc| {
                counter.fetch_add(rc, Ordering::SeqCst);
                inner.set_callbacks(|c| c.on_connect = None);
            }))
        });
        let on_connect = client.callbacks().on_connect.unwrap();
        on_connect(3);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(client.callbacks().on_connect.is_none());
    }
}

#[cfg(test)]
mod size_bound {
    /// What an idle client costs starts with this object (inside the `Arc`
    /// that C's handle points to): it must not grow unnoticed. Raise the bound
    /// only knowingly, and update the README's "Speed and memory" breakdown.
    #[test]
    fn the_client_object_stays_within_its_size_bound() {
        use std::mem::size_of;
        // 816 since the shared loop (its pool flag and boxed waker; a pooled
        // client has no eventfd of its own in return), 824 since persistence
        // (the session's boxed journal): in its `Arc`, still one 848 B malloc
        // chunk as at 800.
        assert!(
            size_of::<super::Client>() <= 824,
            "{}",
            size_of::<super::Client>()
        );
        assert!(size_of::<super::ClientState>() <= 688);
        assert!(size_of::<crate::session::Session>() <= 264);
        assert!(size_of::<super::Connection>() <= 176);
        assert!(size_of::<super::Options>() <= 120);
        assert!(size_of::<super::resilience::Resilience>() <= 48);
    }
}
