//! Ids kept in place instead of on the heap.
//!
//! The aggregator remembers a day of event ids for dedup and every open order
//! and ticket by id. Ids are often short (`ev-118234`, `ord-918273`), and
//! holding each in its own allocation costs more than the id (a 32-byte
//! chunk plus a pointer) and a malloc and free per event. A [`CompactId`]
//! keeps up to 14 bytes inside the 16-byte value and only longer ones (a
//! UUID, say) on the heap, behind one pointer shared by the copies a table
//! and its expiry queue hold. 16 bytes rather than 24 because a hash table
//! of a million open orders has two million slots: every byte of the key
//! counts twice, and once more while the table grows.
//! Equality and hashing are by bytes, so a table keyed by `CompactId` is
//! looked up with a plain `&[u8]`, without building one.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The longest id kept in place: what fits beside the length and the tag.
const INLINE_CAPACITY: usize = 14;

#[derive(Clone)]
pub enum CompactId {
    Inline {
        len: u8,
        bytes: [u8; INLINE_CAPACITY],
    },
    /// `Arc<Box<str>>` rather than `Arc<str>`: one word, not two.
    Heap(Arc<Box<str>>),
}

impl CompactId {
    pub fn new(id: &str) -> CompactId {
        if id.len() <= INLINE_CAPACITY {
            let mut bytes = [0; INLINE_CAPACITY];
            bytes[..id.len()].copy_from_slice(id.as_bytes());
            CompactId::Inline {
                len: id.len() as u8,
                bytes,
            }
        } else {
            CompactId::Heap(Arc::new(id.into()))
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            CompactId::Inline { len, bytes } => &bytes[..usize::from(*len)],
            CompactId::Heap(text) => text.as_bytes(),
        }
    }

    /// The id as text. Only copies of a `&str` are ever stored, so the
    /// bytes are UTF-8; this re-checks them, which is cheap for ASCII ids
    /// and only needed off the hot path (saving state, debugging).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("built from a &str")
    }
}

impl PartialEq for CompactId {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for CompactId {}

/// Hashes exactly as the `[u8]` it borrows as, so `&[u8]` lookups find it.
impl Hash for CompactId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl Borrow<[u8]> for CompactId {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for CompactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for CompactId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CompactId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<CompactId, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(CompactId::new(&text))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn an_id_costs_two_words() {
        assert_eq!(std::mem::size_of::<CompactId>(), 16);
    }

    #[test]
    fn short_and_long_ids_compare_and_hash_by_their_text() {
        let long = "x".repeat(INLINE_CAPACITY + 1);
        let edge = "y".repeat(INLINE_CAPACITY);
        let mut set = HashSet::new();
        for id in ["", "ev-1", edge.as_str(), long.as_str()] {
            assert!(set.insert(CompactId::new(id)), "{id}");
            assert_eq!(CompactId::new(id).as_str(), id);
        }
        for id in ["", "ev-1", edge.as_str(), long.as_str()] {
            assert!(set.contains(id.as_bytes()), "{id}");
            assert!(!set.insert(CompactId::new(id)), "{id}");
        }
        assert!(!set.contains("ev-2".as_bytes()));
        assert!(matches!(CompactId::new(&edge), CompactId::Inline { .. }));
        assert!(matches!(CompactId::new(&long), CompactId::Heap(_)));
    }
}
