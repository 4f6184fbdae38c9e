//! Handlers per subscription (`skeeter_subscribe_handler`): each message goes,
//! after `on_message`, to every handler whose filter matches its topic, in the
//! order the handlers were added.
//!
//! The table is copied on write and shared by reference count, so the loop
//! takes it in one step and calls the handlers with no lock held; a handler
//! that adds or removes handlers changes the table for the next message.

use std::sync::Arc;

use super::callbacks::OnMessage;
use crate::protocol::packet::Publish;
use crate::protocol::topic;

/// What tells one handler from another for the same filter: the C function's
/// address and its user data.
pub type HandlerKey = (usize, usize);

#[derive(Clone)]
struct Entry {
    /// The filter as subscribed, `$share/group/` prefix and all.
    filter: Box<str>,
    key: HandlerKey,
    call: OnMessage,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("filter", &self.filter)
            .field("key", &self.key)
            .finish()
    }
}

#[derive(Debug, Clone, Default)]
pub struct HandlerTable {
    entries: Arc<[Entry]>,
}

/// The part of a filter that topics are matched against: a shared
/// subscription `$share/group/filter` matches as `filter`.
pub fn matched_part(filter: &str) -> &str {
    filter
        .strip_prefix("$share/")
        .and_then(|rest| rest.split_once('/'))
        .map_or(filter, |(_group, filter)| filter)
}

impl HandlerTable {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The table with a handler for `filter` added at the end, or put in place
    /// of the one with the same filter and key (keeping its position).
    pub fn with(&self, filter: &str, key: HandlerKey, call: OnMessage) -> HandlerTable {
        let mut entries = self.entries.to_vec();
        let entry = Entry {
            filter: filter.into(),
            key,
            call,
        };
        match entries
            .iter_mut()
            .find(|e| &*e.filter == filter && e.key == key)
        {
            Some(same) => *same = entry,
            None => entries.push(entry),
        }
        HandlerTable {
            entries: entries.into(),
        }
    }

    /// The table without the handlers for `filter` (as subscribed).
    pub fn without(&self, filter: &str) -> HandlerTable {
        HandlerTable {
            entries: self
                .entries
                .iter()
                .filter(|e| &*e.filter != filter)
                .cloned()
                .collect(),
        }
    }

    /// The table without the one handler for `filter` with `key`.
    pub fn without_handler(&self, filter: &str, key: HandlerKey) -> HandlerTable {
        HandlerTable {
            entries: self
                .entries
                .iter()
                .filter(|e| !(&*e.filter == filter && e.key == key))
                .cloned()
                .collect(),
        }
    }

    /// Calls every handler whose filter matches the message's topic, in the
    /// order they were added.
    pub fn call_matching(&self, publish: &mut Publish) {
        for entry in self.entries.iter() {
            let filter = matched_part(&entry.filter).as_bytes();
            if topic::matches(filter, publish.topic.as_bytes()).unwrap_or(false) {
                (entry.call)(publish);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::test_support::message;
    use std::sync::Mutex;

    /// A handler that records `name` in `log`.
    fn recorder(log: &Arc<Mutex<Vec<&'static str>>>, name: &'static str) -> OnMessage {
        let log = log.clone();
        Arc::new(move |_| log.lock().unwrap().push(name))
    }

    #[test]
    fn a_shared_subscription_matches_on_its_filter_part() {
        assert_eq!(matched_part("$share/g/a/+"), "a/+");
        assert_eq!(matched_part("$share/g"), "$share/g");
        assert_eq!(matched_part("a/#"), "a/#");
    }

    #[test]
    fn every_matching_handler_is_called_in_the_order_added() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let table = HandlerTable::default()
            .with("a/#", (1, 0), recorder(&log, "all of a"))
            .with("b", (1, 0), recorder(&log, "b"))
            .with("$share/g/a/+", (2, 0), recorder(&log, "shared"))
            .with("a/x", (3, 0), recorder(&log, "exactly a/x"));
        table.call_matching(&mut message(0, 0, "a/x"));
        assert_eq!(*log.lock().unwrap(), ["all of a", "shared", "exactly a/x"]);
    }

    #[test]
    fn adding_the_same_handler_for_the_same_filter_replaces_it_in_place() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let table = HandlerTable::default()
            .with("t", (1, 5), recorder(&log, "first"))
            .with("t", (2, 5), recorder(&log, "other"))
            .with("t", (1, 5), recorder(&log, "replaced"));
        table.call_matching(&mut message(0, 0, "t"));
        assert_eq!(*log.lock().unwrap(), ["replaced", "other"]);
    }

    #[test]
    fn removing_a_filter_removes_all_its_handlers_and_nothing_else() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let table = HandlerTable::default()
            .with("t", (1, 0), recorder(&log, "one"))
            .with("t", (2, 0), recorder(&log, "two"))
            .with("#", (3, 0), recorder(&log, "everything"))
            .without("t");
        table.call_matching(&mut message(0, 0, "t"));
        assert_eq!(*log.lock().unwrap(), ["everything"]);
        assert!(HandlerTable::default()
            .with("t", (1, 0), recorder(&log, "x"))
            .without("t")
            .is_empty());
    }

    #[test]
    fn one_handler_can_be_removed_alone() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let table = HandlerTable::default()
            .with("t", (1, 0), recorder(&log, "one"))
            .with("t", (2, 0), recorder(&log, "two"))
            .without_handler("t", (1, 0));
        table.call_matching(&mut message(0, 0, "t"));
        assert_eq!(*log.lock().unwrap(), ["two"]);
    }

    #[test]
    fn an_earlier_copy_of_the_table_is_not_changed() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let before = HandlerTable::default().with("t", (1, 0), recorder(&log, "one"));
        let after = before.without("t");
        after.call_matching(&mut message(0, 0, "t"));
        assert!(log.lock().unwrap().is_empty());
        before.call_matching(&mut message(0, 0, "t"));
        assert_eq!(*log.lock().unwrap(), ["one"]);
    }
}
