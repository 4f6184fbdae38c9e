//! What this thread is doing inside the library, in one thread-local.
//!
//! Each access to a thread-local costs a call (`__tls_get_addr`) in a shared
//! library, and a QoS 0 publish needs to know both whether it runs inside the
//! library's own work (`contain`) and whether it runs inside a callback
//! (`dispatch`), then calls back: one struct lets it look once.

use std::any::Any;
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
    /// What must outlive the callbacks this thread is in (a handle destroyed
    /// from one of them), dropped when it leaves the outermost.
    pub(super) after_callbacks: Cell<Vec<Box<dyn Any>>>,
    /// Whether `after_callbacks` holds anything, so leaving looks at one flag.
    pub(super) has_after_callbacks: Cell<bool>,
}

impl ThreadContext {
    /// Neither inside the library's own work nor inside a callback: the
    /// program's own code called in.
    pub(super) fn is_idle(&self) -> bool {
        self.contain_depth.get() == 0 && self.callback_depth.get() == 0
    }

    /// Leaves one callback level; what waited for the outermost to end comes
    /// back to be dropped by the caller, outside this thread-local.
    pub(super) fn leave_callback(&self) -> Vec<Box<dyn Any>> {
        let depth = self.callback_depth.get().saturating_sub(1);
        self.callback_depth.set(depth);
        if depth == 0 && self.has_after_callbacks.get() {
            self.has_after_callbacks.set(false);
            return self.after_callbacks.take();
        }
        Vec::new()
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
            after_callbacks: Cell::new(Vec::new()),
            has_after_callbacks: Cell::new(false),
        }
    };
}
