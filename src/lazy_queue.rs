//! A first-in, first-out list that holds no memory until its first entry.
//!
//! Several of a client's queues stay empty for most of its life (QoS 1 and 2
//! messages for a client that only receives, the mids of QoS 0 messages for one
//! that never publishes), and an empty `VecDeque` inline still costs 32 bytes
//! per queue and client; `None` costs 8. Once used, the queue keeps its memory.
#![deny(unsafe_code)]

use std::collections::VecDeque;

// Boxed on purpose: `None` is 8 bytes where an empty `VecDeque` is 32.
#[allow(clippy::box_collection)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LazyQueue<T>(Option<Box<VecDeque<T>>>);

impl<T> Default for LazyQueue<T> {
    fn default() -> Self {
        LazyQueue::new()
    }
}

impl<T> LazyQueue<T> {
    pub const fn new() -> Self {
        LazyQueue(None)
    }

    pub fn push_back(&mut self, value: T) {
        self.0.get_or_insert_default().push_back(value);
    }

    pub fn push_front(&mut self, value: T) {
        self.0.get_or_insert_default().push_front(value);
    }

    pub fn pop_front(&mut self) -> Option<T> {
        self.0.as_mut()?.pop_front()
    }

    pub fn front(&self) -> Option<&T> {
        self.0.as_ref()?.front()
    }

    pub fn get(&self, index: usize) -> Option<&T> {
        self.0.as_ref()?.get(index)
    }

    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.0.as_mut()?.get_mut(index)
    }

    pub fn remove(&mut self, index: usize) -> Option<T> {
        self.0.as_mut()?.remove(index)
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |q| q.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties the queue, keeping its memory for the next entries.
    pub fn clear(&mut self) {
        if let Some(queue) = &mut self.0 {
            queue.clear();
        }
    }

    /// Empties the queue and gives its memory back.
    pub fn release(&mut self) {
        self.0 = None;
    }

    /// Empties the queue and hands its memory over (to keep for `reuse`).
    pub fn take_memory(&mut self) -> Option<Box<VecDeque<T>>> {
        let mut memory = self.0.take()?;
        memory.clear();
        Some(memory)
    }

    /// An unused queue takes `memory` (from `take_memory`) for its entries.
    pub fn reuse(&mut self, memory: Box<VecDeque<T>>) {
        debug_assert!(memory.is_empty());
        if self.0.is_none() {
            self.0 = Some(memory);
        }
    }

    /// How many entries the queue has room for without growing.
    pub fn capacity(&self) -> usize {
        self.0.as_ref().map_or(0, |q| q.capacity())
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.0.iter().flat_map(|q| q.iter())
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.0.iter_mut().flat_map(|q| q.iter_mut())
    }

    /// Takes every entry out, in order; the queue keeps its memory.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.0.iter_mut().flat_map(|q| q.drain(..))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unused_queue_holds_no_memory_and_reads_as_empty() {
        let mut queue: LazyQueue<u16> = LazyQueue::new();
        assert_eq!(std::mem::size_of_val(&queue), 8);
        assert_eq!((queue.len(), queue.front()), (0, None));
        assert_eq!(queue.pop_front(), None);
        queue.clear();
        assert_eq!(queue, LazyQueue(None));
    }

    #[test]
    fn entries_come_out_in_order() {
        let mut queue = LazyQueue::new();
        queue.push_back(2);
        queue.push_back(3);
        queue.push_front(1);
        assert_eq!(queue.iter().copied().collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(queue.remove(1), Some(2));
        assert_eq!(queue.drain().collect::<Vec<_>>(), vec![1, 3]);
        assert!(queue.is_empty());
        queue.push_back(4);
        queue.release();
        assert_eq!(queue, LazyQueue(None));
    }

    #[test]
    fn memory_taken_from_one_queue_is_reused_empty_by_another() {
        let mut first = LazyQueue::new();
        first.push_back(1);
        let memory = first.take_memory().unwrap();
        assert_eq!(first, LazyQueue(None));
        let mut second = LazyQueue::new();
        second.reuse(memory);
        assert!(second.is_empty() && second.capacity() > 0);
        second.push_back(2);
        assert_eq!(second.pop_front(), Some(2));
    }
}
