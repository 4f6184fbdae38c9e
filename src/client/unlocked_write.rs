//! Writing a large batch of queued output without holding the client lock.
//!
//! The loop thread used to hold the lock through `send`, so a program thread
//! publishing at the same time waited for the kernel to copy the whole batch.
//! Instead the loop takes the queued bytes out of the connection
//! (`Connection::take_output`), writes them with the lock released, and hands
//! back what the socket did not take (`Connection::finish_output`). Meanwhile
//! other threads go on queueing into the connection's (now empty) buffer; no one
//! writes it until the taken batch is finished, so the bytes keep their order.
//!
//! The write goes to a duplicate of the socket's descriptor: if another thread
//! closes the connection meanwhile, the duplicate keeps the socket from being
//! freed (and its number from being reused), and the write fails with `EPIPE`.

use std::cell::Cell;
use std::io::IoSlice;

use crate::net::{NetError, Progress, Stream};

/// Below this many queued bytes the write is made under the lock: it is short,
/// and duplicating the descriptor would cost more than it saves.
pub const UNLOCKED_WRITE_MIN: usize = 16 * 1024;

thread_local! {
    /// An emptied buffer from this thread's last unlocked write, given to the
    /// next connection it takes output from, so that batches reuse memory.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A batch of output taken from a connection, being written without the lock.
#[derive(Debug)]
pub struct UnlockedWrite {
    stream: Stream,
    pub(super) bytes: Vec<u8>,
    /// Bytes before this offset have been written.
    pub(super) pos: usize,
    /// The connection the batch came from (`Connection::serial`).
    pub(super) serial: u32,
    /// How many of the connection's queued packets end inside `bytes`.
    pub(super) packets: usize,
}

impl UnlockedWrite {
    pub(super) fn new(
        stream: Stream,
        bytes: Vec<u8>,
        pos: usize,
        serial: u32,
        packets: usize,
    ) -> Self {
        UnlockedWrite {
            stream,
            bytes,
            pos,
            serial,
            packets,
        }
    }

    /// Writes until everything is written or the socket would block.
    pub fn send(&mut self) -> Result<(), NetError> {
        while self.pos < self.bytes.len() {
            match self
                .stream
                .write(&[IoSlice::new(&self.bytes[self.pos..])])?
            {
                Progress::Bytes(n) => self.pos += n,
                Progress::WouldBlock => break,
            }
        }
        Ok(())
    }

    /// Whether every byte was written.
    pub fn is_done(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

/// An empty buffer for a connection whose output this thread takes.
pub(super) fn take_spare() -> Vec<u8> {
    SPARE.take()
}

/// The largest spare buffer a thread keeps: about two batches at the bound on
/// queued output (`actions::QUEUE_HIGH`); a larger one is given back.
const SPARE_MAX: usize = 4 * 1024 * 1024;

/// Gives this thread's spare buffer back, once its loop has been idle for a whole
/// wait: a burst's buffers should not outlive the burst.
pub fn release_spare() {
    SPARE.take();
}

/// Keeps an emptied buffer for this thread's next unlocked write.
pub(super) fn keep_spare(mut bytes: Vec<u8>) {
    if bytes.capacity() <= SPARE_MAX {
        bytes.clear();
        SPARE.set(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spare_is_kept_for_the_next_batch_until_released() {
        keep_spare(Vec::with_capacity(1024));
        let spare = take_spare();
        assert!(spare.is_empty() && spare.capacity() >= 1024);
        keep_spare(spare);
        release_spare();
        assert_eq!(take_spare().capacity(), 0);
    }

    #[test]
    fn a_very_large_buffer_is_not_kept() {
        release_spare();
        keep_spare(Vec::with_capacity(SPARE_MAX + 1));
        assert_eq!(take_spare().capacity(), 0);
    }
}
