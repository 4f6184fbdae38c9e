//! A map keyed by packet identifier (or alias) that holds no memory until its
//! first entry: most of a session's maps stay empty for a client's whole life
//! (no QoS 2 message received, no topic alias, no SUBSCRIBE pending), and an
//! empty `HashMap` inline still costs 48 bytes per map and client.

use std::collections::HashMap;

// Boxed on purpose: `None` is 8 bytes where an empty `HashMap` is 48.
#[allow(clippy::box_collection)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMap<V>(Option<Box<HashMap<u16, V>>>);

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap(None)
    }
}

impl<V> IdMap<V> {
    pub fn insert(&mut self, id: u16, value: V) -> Option<V> {
        self.0.get_or_insert_default().insert(id, value)
    }

    /// Inserts unless `id` is already there (which then keeps its value).
    pub fn insert_new(&mut self, id: u16, value: V) {
        self.0.get_or_insert_default().entry(id).or_insert(value);
    }

    pub fn remove(&mut self, id: u16) -> Option<V> {
        self.0.as_mut()?.remove(&id)
    }

    pub fn get(&self, id: u16) -> Option<&V> {
        self.0.as_ref()?.get(&id)
    }

    pub fn contains(&self, id: u16) -> bool {
        self.0.as_ref().is_some_and(|m| m.contains_key(&id))
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }

    /// Empties the map and gives its memory back.
    pub fn clear(&mut self) {
        self.0 = None;
    }

    /// Every entry, in no particular order; the map is left empty, holding no memory.
    pub fn take_all(&mut self) -> impl Iterator<Item = (u16, V)> {
        self.0.take().into_iter().flat_map(|m| m.into_iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_map_holds_no_memory_and_answers_like_an_empty_one() {
        let mut map: IdMap<u8> = IdMap::default();
        assert_eq!(std::mem::size_of_val(&map), 8);
        assert_eq!((map.len(), map.get(1)), (0, None));
        assert_eq!(map.remove(1), None);
        assert!(!map.contains(1));
        map.insert(1, 10);
        map.insert_new(1, 11);
        map.insert_new(2, 20);
        assert_eq!(
            (map.len(), map.get(1), map.get(2)),
            (2, Some(&10), Some(&20))
        );
        let mut all: Vec<_> = map.take_all().collect();
        all.sort();
        assert_eq!(all, vec![(1, 10), (2, 20)]);
        assert_eq!(map, IdMap::default());
    }
}
