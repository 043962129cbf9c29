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

/// An id being looked up, in the form a held [`CompactId`] compares with
/// at once: a short one as two words, padded with zeros as a held one is,
/// so comparing them is two loads and compares, not a call to `memcmp`
/// with a length. A table probe compares the id it looks for with every id
/// of its run, and the ids of a stream mostly have one length
/// (`ev-118234`, `ev-118235`).
pub enum Wanted<'a> {
    /// Bytes 0 to 7 and 8 to 13, little-endian.
    Inline {
        len: u8,
        low: u64,
        high: u64,
    },
    Heap(&'a [u8]),
}

impl Wanted<'_> {
    pub fn new(id: &[u8]) -> Wanted<'_> {
        let len = id.len();
        if len > INLINE_CAPACITY {
            return Wanted::Heap(id);
        }
        // Read as overlapping words rather than copied into a padded
        // buffer: a copy of a length known only now is a `memcpy` call,
        // and reading its bytes back as words stalls until it is done.
        let word = |at: usize| u64::from_le_bytes(id[at..at + 8].try_into().expect("8 bytes"));
        let half = |at: usize| {
            u64::from(u32::from_le_bytes(
                id[at..at + 4].try_into().expect("4 bytes"),
            ))
        };
        let (low, high) = match len {
            // The last word repeats bytes of the first where they
            // overlap, at the same places once shifted, so `|` keeps them.
            8.. => (
                word(0),
                word(len - 8)
                    .checked_shr(8 * (16 - len as u32))
                    .unwrap_or(0),
            ),
            4.. => (half(0) | half(len - 4) << (8 * (len - 4)), 0),
            _ => (
                id.iter()
                    .rev()
                    .fold(0, |all, byte| all << 8 | u64::from(*byte)),
                0,
            ),
        };
        Wanted::Inline {
            len: len as u8,
            low,
            high,
        }
    }
}

impl CompactId {
    /// True when this is the id `wanted` stands for.
    pub fn is(&self, wanted: &Wanted) -> bool {
        match (self, wanted) {
            (
                CompactId::Inline { len, bytes },
                Wanted::Inline {
                    len: wanted_len,
                    low,
                    high,
                },
            ) => {
                let (first, rest) = bytes.split_at(8);
                let mut last = [0; 8];
                last[..rest.len()].copy_from_slice(rest);
                len == wanted_len
                    && u64::from_le_bytes(first.try_into().expect("8 bytes")) == *low
                    && u64::from_le_bytes(last) == *high
            }
            (CompactId::Heap(text), Wanted::Heap(id)) => text.as_bytes() == *id,
            _ => false,
        }
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

    /// Every length, in place and on the heap, and ids that differ in
    /// any one byte or only in length (a zero byte where padding is).
    #[test]
    fn a_wanted_id_is_exactly_the_same_text() {
        let text: String = ('a'..='z').collect();
        for len in 0..=INLINE_CAPACITY + 2 {
            let id = &text[..len];
            let held = CompactId::new(id);
            assert!(held.is(&Wanted::new(id.as_bytes())), "{id}");
            for at in 0..len {
                let mut other = id.as_bytes().to_vec();
                other[at] = b'A';
                assert!(!held.is(&Wanted::new(&other)), "{id} at {at}");
            }
            let mut longer = id.as_bytes().to_vec();
            longer.push(0);
            assert!(!held.is(&Wanted::new(&longer)), "{id} and a zero");
            if len > 0 {
                assert!(
                    !held.is(&Wanted::new(&id.as_bytes()[..len - 1])),
                    "{id} cut"
                );
            }
        }
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
