//! Packet identifiers (the `mid` of the C API): 1 to 65535, never 0, and never one
//! that a PUBLISH, SUBSCRIBE or UNSUBSCRIBE still waiting for its answer holds.

use super::id_map::IdMap;

use crate::error::{Error, Result};

#[derive(Debug, Default)]
pub struct PacketIds {
    last: u16,
    in_use: IdMap<()>,
}

impl PacketIds {
    /// Reserves the next free identifier until `release`.
    pub fn allocate(&mut self) -> Result<u16> {
        let id = self.next_free()?;
        self.in_use.insert(id, ());
        Ok(id)
    }

    /// An identifier for something that needs no answer (a QoS 0 PUBLISH): the C
    /// API still hands one back, and it must not collide with a reserved one.
    pub fn allocate_unreserved(&mut self) -> Result<u16> {
        self.next_free()
    }

    /// Reserves `id` itself (a message restored with its own id); the next
    /// ones handed out follow it.
    pub fn reserve(&mut self, id: u16) {
        if id != 0 {
            self.in_use.insert(id, ());
            self.last = id;
        }
    }

    pub fn release(&mut self, id: u16) {
        self.in_use.remove(id);
    }

    #[cfg(test)]
    pub fn is_in_use(&self, id: u16) -> bool {
        self.in_use.contains(id)
    }

    fn next_free(&mut self) -> Result<u16> {
        // Every identifier reserved: nothing left to hand out. libmosquitto would
        // reuse one still in flight; we refuse instead.
        if self.in_use.len() >= usize::from(u16::MAX) {
            return Err(Error::NoMem);
        }
        loop {
            self.last = self.last.wrapping_add(1);
            if self.last != 0 && !self.in_use.contains(self.last) {
                return Ok(self.last);
            }
        }
    }

    #[cfg(test)]
    pub fn set_last(&mut self, last: u16) {
        self.last = last;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_start_at_one_and_count_up() {
        let mut ids = PacketIds::default();
        assert_eq!(ids.allocate(), Ok(1));
        assert_eq!(ids.allocate(), Ok(2));
        assert_eq!(ids.allocate_unreserved(), Ok(3));
    }

    #[test]
    fn identifiers_wrap_from_65535_to_1_skipping_0() {
        let mut ids = PacketIds::default();
        ids.set_last(65534);
        assert_eq!(ids.allocate(), Ok(65535));
        assert_eq!(ids.allocate(), Ok(1));
    }

    #[test]
    fn an_identifier_still_in_use_is_skipped_after_wraparound() {
        let mut ids = PacketIds::default();
        assert_eq!(ids.allocate(), Ok(1));
        ids.set_last(65535);
        assert_eq!(ids.allocate(), Ok(2));
        ids.release(1);
        ids.set_last(65535);
        assert_eq!(ids.allocate(), Ok(1));
    }

    #[test]
    fn allocation_fails_when_every_identifier_is_in_use() {
        let mut ids = PacketIds::default();
        for _ in 0..65535 {
            ids.allocate().unwrap();
        }
        assert_eq!(ids.allocate(), Err(Error::NoMem));
        ids.release(77);
        assert_eq!(ids.allocate(), Ok(77));
    }
}
