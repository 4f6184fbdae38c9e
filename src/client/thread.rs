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

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle, ThreadId};

use super::Client;
use crate::error::{Error, Result};

/// The running loop thread.
#[derive(Debug)]
pub struct LoopThread {
    handle: JoinHandle<()>,
    id: ThreadId,
}

impl Client {
    /// Starts the loop thread; `Inval` if one runs already.
    pub fn loop_start(self: &Arc<Self>) -> Result<()> {
        let mut slot = self.thread.lock();
        if let Some(running) = slot.as_ref() {
            // A thread told to stop from inside a callback may still be ending.
            if !(self.stop.load(Ordering::Acquire) && running.id != thread::current().id()) {
                return Err(Error::Inval);
            }
            if let Some(old) = slot.take() {
                let _ = old.handle.join();
            }
        }
        self.stop.store(false, Ordering::Release);
        self.thread_running.store(true, Ordering::Release);
        let client = Arc::clone(self);
        let spawned = thread::Builder::new()
            .name("mosquitto-loop".into())
            .spawn(move || {
                let _ = client.loop_forever(-1, 1);
                client.thread_running.store(false, Ordering::Release);
                client.notify_room();
            });
        match spawned {
            Ok(handle) => {
                let id = handle.thread().id();
                *slot = Some(Box::new(LoopThread { handle, id }));
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
        self.stop.store(true, Ordering::Release);
        self.wakeup.signal();
        if running.id == thread::current().id() {
            return Ok(());
        }
        if let Some(running) = slot.take() {
            drop(slot);
            let _ = running.handle.join();
        }
        Ok(())
    }

    /// Before the handle is freed: stops the loop thread if one runs.
    pub fn shut_down(&self) {
        let _ = self.loop_stop(true);
    }
}
