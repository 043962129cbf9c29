//! The dedup memory: event ids seen within `dedup_horizon`, in an
//! [`IdTable`] (see `table` for why not a `HashMap`).

use tripgate_model::Nanos;

use crate::compact::CompactId;
use crate::table::{Entry, IdTable};

/// Event ids, each forgotten once the watermark is more than
/// `dedup_horizon` past its `occurred_at`. An id older than
/// `forget_before` counts as forgotten; such ids are swept out in one pass
/// over the table when it is full, never one at a time: removing a day-old
/// id would cost a cache miss per event, a sweep reads the table in order.
/// Saved as `ids` (a map of id to `occurred_at`), then `forget_before`.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct SeenIds {
    ids: IdTable<Nanos>,
    forget_before: Nanos,
}

impl Default for SeenIds {
    fn default() -> SeenIds {
        SeenIds {
            ids: IdTable::default(),
            forget_before: Nanos::MIN,
        }
    }
}

impl SeenIds {
    /// Ids older than `cutoff` count as forgotten from now on (the cutoff
    /// never moves back).
    pub fn forget_before(&mut self, cutoff: Nanos) {
        self.forget_before = self.forget_before.max(cutoff);
    }

    /// Remembers `id`; false if it is remembered already.
    pub fn insert(&mut self, id: &str, occurred_at: Nanos) -> bool {
        if self.ids.is_full() {
            // Drops every forgotten id and makes room for as many new ids
            // again as remain, so the next sweep waits for at least that
            // many: each id is read by a few sweeps at most.
            let forget_before = self.forget_before;
            self.ids.retain(|seen_at| *seen_at >= forget_before);
        }
        // One probe both checks and remembers the id.
        match self.ids.entry(id.as_bytes()) {
            Entry::Occupied(held) => {
                if *held >= self.forget_before {
                    return false;
                }
                *held = occurred_at;
                true
            }
            Entry::Vacant(slot) => {
                slot.insert(CompactId::new(id), occurred_at);
                true
            }
        }
    }

    /// See `IdTable::prefetch`: the insert that follows finds its slot in
    /// the cache, and a batch's misses are in flight together.
    pub fn prefetch(&self, id: &str) {
        self.ids.prefetch(id.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

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
            }
        }
    }
}
