//! The dedup memory: event ids seen within `dedup_horizon`.
//!
//! An open-addressing table with linear probing, whose slot holds the id
//! and its `occurred_at` together. Its reason to exist is where a new id
//! goes: at the first empty slot of its probe, which in a table this empty
//! is mostly the slot where a lookup of that id starts. So one line holds
//! both what the lookup reads and what the insert writes, and
//! `Aggregator::offer_all` prefetches it for a batch's ids before offering
//! any. A `std::collections::HashMap` keeps its control bytes apart from
//! its slots; a lookup that finds nothing reads the control bytes only,
//! and the insert's store then goes to a slot line not in the cache: with
//! a day of ids (larger than the cache) that store was about a tenth of a
//! backtest's time.

use std::collections::HashMap;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use tripgate_model::Nanos;

use crate::compact::{CompactId, Wanted};

/// One remembered id.
struct Seen {
    id: CompactId,
    occurred_at: Nanos,
}

/// Event ids, each forgotten once the watermark is more than
/// `dedup_horizon` past its `occurred_at`. An id older than
/// `forget_before` counts as forgotten; such ids are swept out in one pass
/// over the table when it is full, never one at a time: removing a day-old
/// id would cost a cache miss per event, a sweep reads the table in order.
pub(crate) struct SeenIds {
    /// A power of two long (or empty); at most half of them taken, so a
    /// probe is short and always ends at an empty slot.
    slots: Vec<Option<Seen>>,
    len: usize,
    forget_before: Nanos,
    hasher: RandomState,
}

impl Default for SeenIds {
    fn default() -> SeenIds {
        SeenIds {
            slots: Vec::new(),
            len: 0,
            forget_before: Nanos::MIN,
            hasher: RandomState::default(),
        }
    }
}

/// Where a probe for an id ended.
enum Probe {
    Found(usize),
    Empty(usize),
}

impl SeenIds {
    /// Ids older than `cutoff` count as forgotten from now on (the cutoff
    /// never moves back).
    pub fn forget_before(&mut self, cutoff: Nanos) {
        self.forget_before = self.forget_before.max(cutoff);
    }

    /// Remembers `id`; false if it is remembered already.
    pub fn insert(&mut self, id: &str, occurred_at: Nanos) -> bool {
        if 2 * (self.len + 1) > self.slots.len() {
            self.sweep();
        }
        match self.probe(id.as_bytes()) {
            Probe::Found(at) => {
                let held = self.slots[at].as_mut().expect("a found slot is taken");
                if held.occurred_at >= self.forget_before {
                    return false;
                }
                held.occurred_at = occurred_at;
                true
            }
            Probe::Empty(at) => {
                self.slots[at] = Some(Seen {
                    id: CompactId::new(id),
                    occurred_at,
                });
                self.len += 1;
                true
            }
        }
    }

    /// Asks for the line of the slot where a lookup of `id` starts (see
    /// `prefetch`): the insert that follows finds it in the cache, and a
    /// batch's misses are in flight together.
    pub fn prefetch(&self, id: &str) {
        if self.slots.is_empty() {
            return;
        }
        let home = self.hasher.hash_one(id.as_bytes()) as usize & (self.slots.len() - 1);
        crate::prefetch::prefetch(&self.slots[home]);
    }

    fn probe(&self, id: &[u8]) -> Probe {
        if self.slots.is_empty() {
            return Probe::Empty(0);
        }
        let mask = self.slots.len() - 1;
        let mut at = self.hasher.hash_one(id) as usize & mask;
        let wanted = Wanted::new(id);
        loop {
            match &self.slots[at] {
                None => return Probe::Empty(at),
                Some(seen) if seen.id.is(&wanted) => return Probe::Found(at),
                Some(_) => at = (at + 1) & mask,
            }
        }
    }

    /// Drops every forgotten id and makes room for as many new ids again
    /// as remain, so the next sweep waits for at least that many: each id
    /// is read by a few sweeps at most. When the table keeps its size (a
    /// steady stream of ids) it is swept where it is, not copied into new
    /// memory, whose pages would each be faulted in again.
    fn sweep(&mut self) {
        let forget_before = self.forget_before;
        for slot in &mut self.slots {
            if slot
                .as_ref()
                .is_some_and(|seen| seen.occurred_at < forget_before)
            {
                *slot = None;
                self.len -= 1;
            }
        }
        let size = slots_for(self.len);
        if size == self.slots.len() {
            self.settle();
            return;
        }
        let old = std::mem::replace(&mut self.slots, empty(size));
        self.len = 0;
        for seen in old.into_iter().flatten() {
            self.put(seen);
        }
    }

    /// Moves every id back to where a probe finds it, after ids were
    /// dropped from the middle of runs. From an empty slot onwards, each
    /// id is taken out and put back: every run a probe walks starts after
    /// an empty slot, so it lands at or before where it was, behind the
    /// ids of its run already put back.
    fn settle(&mut self) {
        let Some(start) = self.slots.iter().position(Option::is_none) else {
            return;
        };
        let mask = self.slots.len() - 1;
        for step in 1..=self.slots.len() {
            if let Some(seen) = self.slots[(start + step) & mask].take() {
                self.len -= 1;
                self.put(seen);
            }
        }
    }

    /// Adds an id known not to be held, with room for it.
    fn put(&mut self, seen: Seen) {
        match self.probe(seen.id.as_bytes()) {
            Probe::Empty(at) => {
                self.slots[at] = Some(seen);
                self.len += 1;
            }
            Probe::Found(_) => unreachable!("ids are put once"),
        }
    }
}

/// How many slots leave room for `held` ids and as many again, at most
/// half of them taken.
fn slots_for(held: usize) -> usize {
    (4 * held).max(16).next_power_of_two()
}

fn empty(size: usize) -> Vec<Option<Seen>> {
    std::iter::repeat_with(|| None).take(size).collect()
}

/// Saved as it was when the table was a `HashMap`: `ids` a map of id to
/// `occurred_at`, then `forget_before`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved<Ids> {
    ids: Ids,
    forget_before: Nanos,
}

/// The held ids as a map, without copying them into one.
struct HeldIds<'a>(&'a SeenIds);

impl serde::Serialize for HeldIds<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        // The length first, as bincode needs it.
        let mut map = serializer.serialize_map(Some(self.0.len))?;
        for seen in self.0.slots.iter().flatten() {
            map.serialize_entry(&seen.id, &seen.occurred_at)?;
        }
        map.end()
    }
}

impl serde::Serialize for SeenIds {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Saved {
            ids: HeldIds(self),
            forget_before: self.forget_before,
        }
        .serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for SeenIds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<SeenIds, D::Error> {
        let saved = Saved::<HashMap<CompactId, Nanos>>::deserialize(deserializer)?;
        let mut seen = SeenIds {
            forget_before: saved.forget_before,
            ..SeenIds::default()
        };
        seen.slots = empty(slots_for(saved.ids.len()));
        for (id, occurred_at) in saved.ids {
            seen.put(Seen { id, occurred_at });
        }
        Ok(seen)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_slot_costs_three_words() {
        assert_eq!(std::mem::size_of::<Option<Seen>>(), 24);
    }

    /// Checkpoints written when the ids were a `HashMap` restore as they
    /// were, and the table is written as that map (the checkpoint format
    /// did not change).
    #[test]
    fn reads_and_writes_what_the_hash_map_did() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Before {
            ids: HashMap<String, Nanos>,
            forget_before: Nanos,
        }
        let long = "an-event-id-longer-than-fourteen-bytes";
        let ids =
            |pairs: &[(&str, Nanos)]| pairs.iter().map(|(id, at)| (id.to_string(), *at)).collect();
        let before = Before {
            ids: ids(&[("ev-1", 50), (long, 60), ("ev-old", 5)]),
            forget_before: 10,
        };
        let mut seen: SeenIds =
            bincode::deserialize(&bincode::serialize(&before).unwrap()).unwrap();
        assert!(!seen.insert("ev-1", 70), "remembered");
        assert!(!seen.insert(long, 70), "remembered");
        assert!(seen.insert("ev-old", 70), "forgotten before the save");
        assert!(seen.insert("ev-2", 70), "new");
        let after: Before = bincode::deserialize(&bincode::serialize(&seen).unwrap()).unwrap();
        let expected = Before {
            ids: ids(&[("ev-1", 50), (long, 60), ("ev-old", 70), ("ev-2", 70)]),
            forget_before: 10,
        };
        assert_eq!(after, expected);
    }

    proptest! {
        /// Against a plain map: the same answers for any ids, times and
        /// cutoffs, through sweeps and a save and restore.
        #[test]
        fn remembers_as_a_map_would(
            steps in proptest::collection::vec((0u16..300, 0i64..1000, 0i64..40), 1..2000),
            restore_at in 0usize..2000,
        ) {
            let mut table = SeenIds::default();
            let mut model: HashMap<String, Nanos> = HashMap::new();
            let mut forget_before = Nanos::MIN;
            for (step, &(id, occurred_at, advance)) in steps.iter().enumerate() {
                if step == restore_at {
                    let saved = bincode::serialize(&table).unwrap();
                    table = bincode::deserialize(&saved).unwrap();
                }
                // Long ids too, which live on the heap.
                let id = if id % 7 == 0 { format!("a-long-event-id-{id}") } else { format!("e{id}") };
                forget_before = forget_before.max(occurred_at - advance * 10);
                table.forget_before(occurred_at - advance * 10);
                let expected = match model.get(&id) {
                    Some(&held) if held >= forget_before => false,
                    _ => {
                        model.insert(id.clone(), occurred_at);
                        true
                    }
                };
                prop_assert_eq!(table.insert(&id, occurred_at), expected, "{}", id);
                prop_assert!(2 * table.len <= table.slots.len());
            }
        }
    }
}
