//! A rule's slots by key.

use std::hash::BuildHasher;
use std::sync::Arc;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use super::BreakerSlot;

/// The position of each key's slot. It holds positions only (4 bytes a key,
/// where a map from the key would hold a second `Arc` and a `usize`): the
/// keys are the slots'.
#[derive(Default)]
pub(super) struct KeyIndex {
    positions: HashTable<u32>,
    /// Keys come from events, so the hash is seeded.
    hasher: RandomState,
}

impl KeyIndex {
    pub(super) fn find(&self, slots: &[BreakerSlot], key: &str) -> Option<usize> {
        self.positions
            .find(self.hasher.hash_one(key), |&position| {
                *slots[position as usize].key == *key
            })
            .map(|&position| position as usize)
    }

    /// Where `key` is among the slots: `hint` first, the position after the
    /// previous key's, which it is whenever a series lists keys in the order
    /// their slots were made; otherwise a lookup.
    pub(super) fn locate(
        &self,
        slots: &[BreakerSlot],
        key: &Arc<str>,
        hint: usize,
    ) -> Option<usize> {
        match slots.get(hint) {
            // `Arc`s compare their pointers first, so a key the aggregator
            // hands out again costs no string comparison.
            Some(slot) if slot.key == *key => Some(hint),
            _ => self.find(slots, key),
        }
    }

    /// Indexes the last slot.
    pub(super) fn push(&mut self, slots: &[BreakerSlot]) {
        let position = slots.len() - 1;
        let hash = self.hasher.hash_one(&*slots[position].key);
        let hasher = &self.hasher;
        self.positions.insert_unique(
            hash,
            u32::try_from(position).expect("fewer than 2^32 keys per rule"),
            |&other| hasher.hash_one(&*slots[other as usize].key),
        );
    }

    pub(super) fn rebuild(&mut self, slots: &[BreakerSlot]) {
        self.positions.clear();
        for end in 1..=slots.len() {
            self.push(&slots[..end]);
        }
    }
}
