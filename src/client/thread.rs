//! `loop_start` and `loop_stop`: the loop on a thread of its own.
//!
//! The thread runs `loop_forever`. `loop_stop` (both variants) sets a stop flag,
//! wakes the thread from `poll` or from its wait between reconnect attempts, and
//! joins it. `loop_stop(false)` first lets a live connection finish what it
//! has queued or in flight (so a program may disconnect from `on_publish`, as
//! `mosquitto_pub -l` does); otherwise it returns promptly in every state. libmosquitto's
//! `loop_stop(false)` waits instead until the program has disconnected, and
//! hangs while the thread is reconnecting; its `loop_stop(true)` cancels the
//! thread. Here the thread writes what is already queued (a DISCONNECT just
//! asked for goes out) and leaves the connection as it is.
//!
//! With the shared loop on (`shared_loop`), `loop_start` gives the client a
//! place on a pool thread instead, and `loop_stop` waits for it to leave;
//! everything else here is the same.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::shared_loop::{self, Ticket};
use super::Client;
use crate::error::{Error, Result};
use crate::net::os_thread::OsThread;

/// What runs the loop after `loop_start`.
#[derive(Debug)]
pub enum LoopThread {
    /// A thread of the client's own.
    Own(OsThread),
    /// A place on the shared loop's pool (see `shared_loop`).
    Pool(Arc<Ticket>),
}

impl LoopThread {
    /// Whether the calling thread runs this loop (waiting for it would wait
    /// for ourselves).
    fn is_current(&self) -> bool {
        match self {
            LoopThread::Own(thread) => thread.is_current(),
            LoopThread::Pool(ticket) => ticket.is_current(),
        }
    }

    /// Waits for the loop to end (at once if it has).
    fn join(self) {
        match self {
            LoopThread::Own(thread) => thread.join(),
            LoopThread::Pool(ticket) => ticket.join(),
        }
    }
}

/// Marks the loop thread as gone when its body ends, also when a callback
/// ended the thread early (`pthread_exit`, a cancel).
struct Ending(Arc<Client>);

impl Drop for Ending {
    fn drop(&mut self) {
        self.0.loop_ended();
    }
}

impl Client {
    /// Starts the loop thread; `Inval` if one runs already.
    pub fn loop_start(self: &Arc<Self>) -> Result<()> {
        self.usable()?;
        let mut slot = self.thread.lock();
        while let Some(running) = slot.as_ref() {
            // A thread told to stop from inside a callback may still be ending;
            // one a callback ended (`pthread_exit`) has ended.
            let ending = self.stop.load(Ordering::Acquire) && !running.is_current();
            if !ending && self.thread_running.load(Ordering::Acquire) {
                return Err(Error::Inval);
            }
            if let Some(old) = slot.take() {
                // Joined without the lock: the ending thread's last callbacks
                // may call loop_stop, which takes it.
                drop(slot);
                old.join();
                slot = self.thread.lock();
            }
        }
        self.stop.store(false, Ordering::Release);
        self.thread_running.store(true, Ordering::Release);
        match shared_loop::attach(self) {
            Ok(Some(ticket)) => {
                *slot = Some(Box::new(LoopThread::Pool(ticket)));
                return Ok(());
            }
            Ok(None) => {}
            Err(error) => {
                self.thread_running.store(false, Ordering::Release);
                return Err(error);
            }
        }
        let client = Arc::clone(self);
        let spawned = OsThread::spawn(c"mosquitto-loop", move || {
            let ending = Ending(client);
            let _ = ending.0.loop_forever(-1, 1);
        });
        match spawned {
            Ok(thread) => {
                *slot = Some(Box::new(LoopThread::Own(thread)));
                Ok(())
            }
            Err(_) => {
                self.thread_running.store(false, Ordering::Release);
                Err(Error::NoMem)
            }
        }
    }

    /// Stops the loop thread and waits for it; `Inval` if none runs. Called from
    /// the loop thread itself (inside a callback), it only asks the thread to
    /// end once the callback returns.
    pub fn loop_stop(&self, force: bool) -> Result<()> {
        let mut slot = self.thread.lock();
        let Some(running) = slot.as_ref() else {
            return Err(Error::Inval);
        };
        self.drain_on_stop.store(!force, Ordering::Release);
        self.stop.store(true, Ordering::SeqCst);
        self.wake();
        if running.is_current() {
            return Ok(());
        }
        if let Some(running) = slot.take() {
            drop(slot);
            running.join();
        }
        Ok(())
    }

    /// The loop has ended (its thread's body, or its stay on the pool):
    /// requests stop waiting for it.
    pub(super) fn loop_ended(&self) {
        self.thread_running.store(false, Ordering::Release);
        self.notify_room();
    }

    /// Stops the loop thread if one runs (from inside one of its callbacks, it
    /// ends once the callback returns).
    pub fn shut_down(&self) {
        let _ = self.loop_stop(true);
    }

    /// Before the handle is freed (`mosquitto_destroy`): the loop is stopped and
    /// no callback runs again. From inside a callback, the loop running it (a
    /// `loop_start` or pool thread, or the program's `loop_forever`) calls
    /// nothing more and ends once the callback returns.
    pub fn retire(&self) {
        self.shut_down();
        self.stop.store(true, Ordering::SeqCst);
        self.set_callbacks(|c| *c = super::Callbacks::default());
        self.set_handlers(|_| super::handlers::HandlerTable::default());
    }
}
