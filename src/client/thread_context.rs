//! What this thread is doing inside the library, in one thread-local.
//!
//! Each access to a thread-local costs a call (`__tls_get_addr`) in a shared
//! library, and a QoS 0 publish needs to know both whether it runs inside the
//! library's own work (`contain`) and whether it runs inside a callback
//! (`dispatch`), then calls back: one struct lets it look once.

use std::cell::{Cell, RefCell};

use super::callbacks::CallbackSlots;
use super::dispatch::Work;

pub(super) struct ThreadContext {
    /// How deep this thread is in `contain`.
    pub(super) contain_depth: Cell<u32>,
    /// How many exports on this thread collect the callbacks their body raises.
    pub(super) collecting: Cell<u32>,
    /// Those callbacks, oldest first; reused, so collecting allocates nothing.
    pub(super) raised: RefCell<Vec<Work>>,
    /// How many callbacks this thread is inside (they may nest through API calls).
    pub(super) callback_depth: Cell<u32>,
    /// The table this thread dispatched with last, by version: a thread calling
    /// back the same client again and again (one publish after another) then
    /// takes no lock and touches no shared counter. Lent while in use, so a
    /// callback that dispatches again finds none and takes its own.
    pub(super) last_used: Cell<Option<(u64, CallbackSlots)>>,
}

impl ThreadContext {
    /// Neither inside the library's own work nor inside a callback: the
    /// program's own code called in.
    pub(super) fn is_idle(&self) -> bool {
        self.contain_depth.get() == 0 && self.callback_depth.get() == 0
    }
}

thread_local! {
    pub(super) static THREAD: ThreadContext = const {
        ThreadContext {
            contain_depth: Cell::new(0),
            collecting: Cell::new(0),
            raised: RefCell::new(Vec::new()),
            callback_depth: Cell::new(0),
            last_used: Cell::new(None),
        }
    };
}
