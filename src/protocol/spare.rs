//! The topic and payload buffers of messages already delivered, kept to hold
//! the next received ones: a stream of received messages then allocates no
//! memory per message (the caller lends one `SpareBuffers` to each read and
//! gives each message's buffers back once its callbacks are done).

/// At most this many pairs of buffers are kept...
const MAX_KEPT: usize = 1024;
/// ...holding at most this many bytes in all, so a burst of large messages
/// leaves little behind (a 16 KiB read of small messages needs about 15 KiB).
const MAX_HELD: usize = 64 * 1024;

/// Buffers for received topics and payloads.
#[derive(Debug, Default)]
pub struct SpareBuffers {
    kept: Vec<(String, Vec<u8>)>,
    /// The capacity of the buffers in `kept`, in bytes.
    held: usize,
}

impl SpareBuffers {
    pub const fn new() -> Self {
        SpareBuffers {
            kept: Vec::new(),
            held: 0,
        }
    }

    /// A copy of `topic` and of `payload`, the payload with room for one more
    /// byte (the NUL C reads after it, added in place), in kept buffers when
    /// there are some.
    pub fn copy(&mut self, topic: &str, payload: &[u8]) -> (String, Vec<u8>) {
        let Some((mut topic_buffer, mut payload_buffer)) = self.kept.pop() else {
            let mut owned = Vec::with_capacity(payload.len() + 1);
            owned.extend_from_slice(payload);
            return (topic.to_owned(), owned);
        };
        self.held -= topic_buffer.capacity() + payload_buffer.capacity();
        topic_buffer.clear();
        topic_buffer.push_str(topic);
        payload_buffer.clear();
        payload_buffer.reserve(payload.len() + 1);
        payload_buffer.extend_from_slice(payload);
        (topic_buffer, payload_buffer)
    }

    /// Keeps a delivered message's buffers for a later `copy`, within the bounds.
    pub fn keep(&mut self, topic: String, payload: Vec<u8>) {
        let size = topic.capacity() + payload.capacity();
        if size == 0 || self.kept.len() >= MAX_KEPT || self.held + size > MAX_HELD {
            return;
        }
        self.held += size;
        self.kept.push((topic, payload));
    }

    /// How many bytes the kept buffers hold.
    pub fn held(&self) -> usize {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_pair_of_buffers_holds_the_next_copy_without_a_new_allocation() {
        let mut spare = SpareBuffers::new();
        let (topic, payload) = spare.copy("a/b", b"hello");
        assert_eq!((topic.as_str(), payload.as_slice()), ("a/b", &b"hello"[..]));
        assert!(payload.capacity() > payload.len(), "room for the NUL");
        let (topic_at, payload_at) = (topic.as_ptr(), payload.as_ptr());
        spare.keep(topic, payload);
        let (topic, payload) = spare.copy("c", b"hi");
        assert_eq!((topic.as_str(), payload.as_slice()), ("c", &b"hi"[..]));
        assert_eq!((topic.as_ptr(), payload.as_ptr()), (topic_at, payload_at));
        assert_eq!(spare.held(), 0, "the pair is in use again");
    }

    #[test]
    fn a_reused_payload_buffer_still_has_room_for_the_nul() {
        let mut spare = SpareBuffers::new();
        spare.keep(String::with_capacity(1), Vec::with_capacity(1));
        let (_, payload) = spare.copy("t", b"longer than one byte");
        assert!(payload.capacity() > payload.len());
    }

    #[test]
    fn buffers_beyond_the_bounds_are_freed_not_kept() {
        let mut spare = SpareBuffers::new();
        spare.keep(String::new(), Vec::new());
        assert_eq!(spare.held(), 0, "nothing to keep in empty buffers");
        spare.keep(String::new(), Vec::with_capacity(MAX_HELD + 1));
        assert_eq!(spare.held(), 0, "too large");
        for _ in 0..MAX_KEPT + 10 {
            spare.keep("t".to_owned(), Vec::with_capacity(2));
        }
        assert_eq!(spare.kept.len(), MAX_KEPT);
    }
}
