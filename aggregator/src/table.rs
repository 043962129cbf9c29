//! A hash table from ids to values, for the tables far larger than the
//! cache: the dedup memory (`seen`), the join's orders and tickets
//! (`entities`), and the key names of a scope (`keys`).
//!
//! Open addressing with linear probing, each slot holding the id and its
//! value together, at most half of them taken. The point is the cache.
//! Where a lookup starts is known from the id alone, before any of the
//! table is read, so it can be prefetched (`prefetch`): `offer_all` does
//! so for a batch's event ids, `warm` in `engine` for the orders and
//! tickets the events after the next ones name, and `KpiState::contribute`
//! for the key names its `flush` resolves. A `std::collections::HashMap`
//! cannot be asked where it will look, and its lookups cost two misses in
//! a row (its control bytes, then the slot they point to). And a lookup
//! that finds nothing ends at the empty slot an insert of that id fills,
//! so the insert's line is the one the lookup brought in; `HashMap`'s
//! slot for a new key is a line its lookup never read. The slots are in
//! huge pages (`huge_pages`), so a lookup seldom waits for a page walk.

use std::fmt;
use std::hash::BuildHasher;
use std::marker::PhantomData;

use foldhash::fast::RandomState;

use crate::compact::{CompactId, Wanted};

/// Ids (a `CompactId` each) and their values.
/// `S` is foldhash's except in tests that place ids by hand.
pub(crate) struct IdTable<V, S = RandomState> {
    /// A power of two long, or empty.
    slots: Vec<Option<(CompactId, V)>>,
    len: usize,
    hasher: S,
}

pub(crate) enum Entry<'a, V, S = RandomState> {
    Occupied(&'a mut V),
    Vacant(Vacant<'a, V, S>),
}

/// Where an id not in the table goes.
pub(crate) struct Vacant<'a, V, S> {
    table: &'a mut IdTable<V, S>,
    at: usize,
}

impl<V, S> Vacant<'_, V, S> {
    /// `id` must be the id this entry was found for.
    pub fn insert(self, id: CompactId, value: V) {
        self.table.slots[self.at] = Some((id, value));
        self.table.len += 1;
    }
}

/// Where a probe for an id ended.
enum Probe {
    Found(usize),
    Empty(usize),
}

impl<V, S: Default> Default for IdTable<V, S> {
    fn default() -> IdTable<V, S> {
        IdTable {
            slots: Vec::new(),
            len: 0,
            hasher: S::default(),
        }
    }
}

/// How many slots hold `held` ids and leave room for as many again, at
/// most half of them taken.
fn slots_for(held: usize) -> usize {
    (4 * held).max(16).next_power_of_two()
}

impl<V, S: BuildHasher> IdTable<V, S> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn get(&self, id: &[u8]) -> Option<&V> {
        self.get_key_value(id).map(|(_, value)| value)
    }

    /// The id as held, and its value.
    pub fn get_key_value(&self, id: &[u8]) -> Option<(&CompactId, &V)> {
        match self.probe(id) {
            Probe::Found(at) => self.slots[at].as_ref().map(|(id, value)| (id, value)),
            Probe::Empty(_) => None,
        }
    }

    pub fn contains(&self, id: &[u8]) -> bool {
        matches!(self.probe(id), Probe::Found(_))
    }

    pub fn get_mut(&mut self, id: &[u8]) -> Option<&mut V> {
        match self.probe(id) {
            Probe::Found(at) => self.slots[at].as_mut().map(|(_, value)| value),
            Probe::Empty(_) => None,
        }
    }

    /// True when one more id would take more than half of the slots, and
    /// so `entry` would grow the table first.
    pub fn is_full(&self) -> bool {
        2 * (self.len + 1) > self.slots.len()
    }

    /// The value held for `id`, or where it goes; grows the table first
    /// when it is full.
    pub fn entry(&mut self, id: &[u8]) -> Entry<'_, V, S> {
        if self.is_full() {
            self.resize(slots_for(self.len));
        }
        match self.probe(id) {
            Probe::Found(at) => {
                Entry::Occupied(&mut self.slots[at].as_mut().expect("a found slot is taken").1)
            }
            Probe::Empty(at) => Entry::Vacant(Vacant { table: self, at }),
        }
    }

    /// Holds `value` for `id` (which must not be held yet).
    pub fn insert(&mut self, id: CompactId, value: V) {
        if self.is_full() {
            self.resize(slots_for(self.len));
        }
        self.put(id, value);
    }

    /// Asks for the lines of the two slots where a lookup of `id` starts
    /// (see `prefetch`), so that the lookup, made a while later, finds
    /// them in the cache. Two because a 24-byte slot may straddle two
    /// lines, and a probe often reads the next slot too.
    pub fn prefetch(&self, id: &[u8]) {
        if !self.slots.is_empty() {
            let home = self.home(id);
            crate::prefetch::prefetch(&self.slots[home]);
            crate::prefetch::prefetch(&self.slots[(home + 1) & (self.slots.len() - 1)]);
        }
    }

    /// Removes `id`, moving back the ids after it in its run that a probe
    /// would otherwise no longer reach (no tombstones: a table that sees a
    /// million removals a month stays as quick as a new one).
    pub fn remove(&mut self, id: &[u8]) -> Option<V> {
        let Probe::Found(mut hole) = self.probe(id) else {
            return None;
        };
        let (_, value) = self.slots[hole].take().expect("a found slot is taken");
        self.len -= 1;
        let mask = self.slots.len() - 1;
        let mut next = (hole + 1) & mask;
        while let Some((held, _)) = &self.slots[next] {
            let home = self.home(held.as_bytes());
            // `held` may move into the hole unless its home lies after the
            // hole, up to where it is (its probe never passed the hole).
            if (next.wrapping_sub(home) & mask) >= (next.wrapping_sub(hole) & mask) {
                self.slots[hole] = self.slots[next].take();
                hole = next;
            }
            next = (next + 1) & mask;
        }
        Some(value)
    }

    /// Keeps the ids `keep` says to, in place, then resizes to leave room
    /// for as many new ids again as remain. A table that keeps its size or
    /// grows stays where it is: its pages are not faulted in again.
    ///
    /// One pass, from a slot that is empty (no probe crosses it) on, run by
    /// run (a run ends at an empty slot). An id `keep` refuses leaves a
    /// hole that a probe for a later id of its run may have crossed, so
    /// each id kept after a hole in its run is taken out and put back: it
    /// lands at or before where it was, behind the ids of its run already
    /// put back, never in a slot not yet reached. The ids of a run before
    /// its first hole stay where they are: putting every id back was 2% of a
    /// backtest's instructions. (Starting after a slot only just emptied,
    /// an id whose run wraps past the end could land in it and then be
    /// stranded when the run's head, put back last, moves away.)
    pub fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        // A table at most half full has an empty slot unless it has no slots.
        let Some(empty) = self.slots.iter().position(Option::is_none) else {
            return;
        };
        let mask = self.slots.len() - 1;
        let mut hole_in_run = false;
        for step in 1..self.slots.len() {
            let at = (empty + step) & mask;
            match &self.slots[at] {
                None => hole_in_run = false,
                Some((_, value)) if !keep(value) => {
                    self.slots[at] = None;
                    self.len -= 1;
                    hole_in_run = true;
                }
                Some(_) if hole_in_run => {
                    let (id, value) = self.slots[at].take().expect("a taken slot");
                    self.len -= 1;
                    self.put(id, value);
                }
                Some(_) => {}
            }
        }
        // A table that shrinks is rebuilt; one that grows doubles in place.
        self.resize(slots_for(self.len));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&CompactId, &V)> {
        self.slots.iter().flatten().map(|(id, value)| (id, value))
    }

    fn home(&self, id: &[u8]) -> usize {
        self.hasher.hash_one(id) as usize & (self.slots.len() - 1)
    }

    fn probe(&self, id: &[u8]) -> Probe {
        if self.slots.is_empty() {
            return Probe::Empty(0);
        }
        let mask = self.slots.len() - 1;
        let mut at = self.home(id);
        let wanted = Wanted::new(id);
        loop {
            match &self.slots[at] {
                None => return Probe::Empty(at),
                Some((held, _)) if held.is(&wanted) => return Probe::Found(at),
                Some(_) => at = (at + 1) & mask,
            }
        }
    }

    /// Gives the table `size` slots (a power of two). Growing doubles it
    /// where it is; shrinking moves it to new memory.
    fn resize(&mut self, size: usize) {
        if size > self.slots.len() && !self.slots.is_empty() {
            while self.slots.len() < size {
                self.double();
            }
            return;
        }
        if size == self.slots.len() {
            return;
        }
        let slots =
            crate::huge_pages::for_table(|| std::iter::repeat_with(|| None).take(size).collect());
        let old = std::mem::replace(&mut self.slots, slots);
        self.len = 0;
        for (id, value) in old.into_iter().flatten() {
            self.put(id, value);
        }
    }

    /// Doubles the slots where they are (a table's memory grows in place,
    /// see `huge_pages`, so only the new half is fresh memory), then moves
    /// each id to where a probe of the doubled table finds it.
    ///
    /// An id's home is its old one, `h`, or `h + n` for the old size `n`.
    /// The ids are taken out and put back one at a time, in the order of
    /// their old slots starting after an empty one, `e`, which no probe of
    /// the old table crosses:
    /// - an id after `e` has its home between `e` and its old slot `p`.
    ///   If its home is now `h`, the slots from `h` to `p` have been put
    ///   back and `p` is free: it lands at or before `p`. If it is `h + n`,
    ///   each id put back so far landed at or before its own old slot plus
    ///   `n`, so `p + n` is free: it lands there or before, and as `p < n`
    ///   no probe wraps past the end yet;
    /// - the ids from slot 0 on come after all of those. Wherever a probe
    ///   goes (from the top of the old half, through the new half and past
    ///   the end), the slots before `p` have been put back and `p` is free.
    ///
    /// So no id lands in a slot not yet put back, and no slot a probe
    /// crossed is emptied later: every id is found where a probe looks.
    fn double(&mut self) {
        let old = self.slots.len();
        let empty = self
            .slots
            .iter()
            .position(Option::is_none)
            .expect("a table is at most half full");
        crate::huge_pages::for_table(|| self.slots.resize_with(2 * old, || None));
        for step in 1..old {
            if let Some((id, value)) = self.slots[(empty + step) & (old - 1)].take() {
                self.len -= 1;
                self.put(id, value);
            }
        }
    }

    /// Adds an id known not to be held, with room for it.
    fn put(&mut self, id: CompactId, value: V) {
        match self.probe(id.as_bytes()) {
            Probe::Empty(at) => {
                self.slots[at] = Some((id, value));
                self.len += 1;
            }
            Probe::Found(_) => unreachable!("ids are put once"),
        }
    }
}

impl<V: fmt::Debug, S: BuildHasher> fmt::Debug for IdTable<V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Saved as a map of id to value, as a `HashMap` is.
impl<V: serde::Serialize, S: BuildHasher> serde::Serialize for IdTable<V, S> {
    fn serialize<W: serde::Serializer>(&self, serializer: W) -> Result<W::Ok, W::Error> {
        use serde::ser::SerializeMap;
        // The length first, as bincode needs it.
        let mut map = serializer.serialize_map(Some(self.len))?;
        for (id, value) in self.iter() {
            map.serialize_entry(id, value)?;
        }
        map.end()
    }
}

impl<'de, V: serde::Deserialize<'de>, S: BuildHasher + Default> serde::Deserialize<'de>
    for IdTable<V, S>
{
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<IdTable<V, S>, D::Error> {
        struct Visit<V, S>(PhantomData<(V, S)>);

        impl<'de, V: serde::Deserialize<'de>, S: BuildHasher + Default> serde::de::Visitor<'de>
            for Visit<V, S>
        {
            type Value = IdTable<V, S>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of ids")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<IdTable<V, S>, A::Error> {
                let mut table = IdTable::default();
                if let Some(held) = map.size_hint() {
                    table.resize(slots_for(held));
                }
                while let Some((id, value)) = map.next_entry::<CompactId, V>()? {
                    if table.contains(id.as_bytes()) {
                        return Err(serde::de::Error::custom(format!("id {id:?} saved twice")));
                    }
                    table.insert(id, value);
                }
                Ok(table)
            }
        }

        deserializer.deserialize_map(Visit(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_slot_costs_three_words() {
        assert_eq!(std::mem::size_of::<Option<(CompactId, u64)>>(), 24);
        assert_eq!(std::mem::size_of::<Option<(CompactId, Box<u64>)>>(), 24);
    }

    /// Tables saved when they were `HashMap`s (the join's before this
    /// table) restore as they were, and a table is saved as that map: the
    /// checkpoint format did not change.
    #[test]
    fn reads_and_writes_what_a_hash_map_did() {
        let long = "an-order-id-longer-than-fourteen-bytes";
        let before: HashMap<CompactId, Box<u32>> = [("ord-1", 1), (long, 2), ("", 3)]
            .into_iter()
            .map(|(id, value)| (CompactId::new(id), Box::new(value)))
            .collect();
        let table: IdTable<Box<u32>> =
            bincode::deserialize(&bincode::serialize(&before).unwrap()).unwrap();
        assert_eq!(table.len(), 3);
        assert_eq!(table.get(long.as_bytes()), Some(&Box::new(2)));
        assert_eq!(table.get(b"ord-1"), Some(&Box::new(1)));
        let after: HashMap<CompactId, Box<u32>> =
            bincode::deserialize(&bincode::serialize(&table).unwrap()).unwrap();
        assert_eq!(after, before);
    }

    #[test]
    fn an_id_saved_twice_is_refused() {
        let twice = bincode::serialize(&vec![("ord-1", 1u32), ("ord-1", 2)]).unwrap();
        let error = bincode::deserialize::<IdTable<u32>>(&twice).unwrap_err();
        assert!(
            error.to_string().contains("\"ord-1\" saved twice"),
            "{error}"
        );
    }

    /// Hashes an id `"<home>-<name>"` to `home`, so a test decides where
    /// each id's probe starts.
    #[derive(Default)]
    struct AtHome;

    struct Home(u64);

    impl BuildHasher for AtHome {
        type Hasher = Home;

        fn build_hasher(&self) -> Home {
            Home(0)
        }
    }

    impl std::hash::Hasher for Home {
        /// The length `[u8]` hashes first says nothing of the home.
        fn write_usize(&mut self, _: usize) {}

        fn write(&mut self, bytes: &[u8]) {
            let digits = bytes.iter().take_while(|byte| byte.is_ascii_digit());
            self.0 = digits.fold(0, |home, digit| home * 10 + u64::from(digit - b'0'));
        }

        fn finish(&self) -> u64 {
            self.0
        }
    }

    /// A sweep that keeps the table's size puts ids back where probes
    /// find them, also in a run that wraps past the table's end and whose
    /// first slot, at the end, is emptied by the sweep. (Ids are put back
    /// starting after a slot that was empty before the sweep: starting
    /// after one it emptied, here slot 0, a run's ids could land in slots
    /// the run's head later left.)
    #[test]
    fn a_sweep_keeps_a_run_that_wraps_past_the_end() {
        // In order: each id lands at the first free slot from its home.
        let ids = [
            ("30-gone", 0), // slot 30
            ("30-a", 1),    // slot 31
            ("31-gone", 0), // slot 0
            ("31-b", 1),    // slot 1
            ("31-c", 1),    // slot 2
            ("10-d", 1),
            ("11-e", 1),
            ("12-f", 1),
        ];
        let mut table: IdTable<u32, AtHome> =
            bincode::deserialize(&bincode::serialize(&ids.to_vec()).unwrap()).unwrap();
        assert_eq!(table.slots.len(), 32);
        let at = |table: &IdTable<u32, AtHome>, slot: usize| {
            table.slots[slot]
                .as_ref()
                .map(|(id, _)| id.as_str().to_string())
        };
        assert_eq!(at(&table, 0).as_deref(), Some("31-gone"));
        assert_eq!(at(&table, 2).as_deref(), Some("31-c"));
        table.retain(|value| *value > 0);
        assert_eq!(table.slots.len(), 32, "swept in place");
        for (id, value) in ids {
            let expected = (value > 0).then_some(&value);
            assert_eq!(table.get(id.as_bytes()), expected, "{id}");
        }
    }

    #[derive(Clone, Debug)]
    enum Step {
        Insert(u16, u32),
        Remove(u16),
        /// Keeps the values at or above this.
        Retain(u32),
        Save,
    }

    /// Ids below `ids`: a few dozen keep the table to a few lines, where
    /// runs often wrap past its end; hundreds make long runs.
    fn step(ids: u16) -> impl Strategy<Value = Step> {
        prop_oneof![
            6 => (0..ids, 0u32..1000).prop_map(|(id, value)| Step::Insert(id, value)),
            3 => (0..ids).prop_map(Step::Remove),
            1 => (0u32..1000).prop_map(Step::Retain),
            1 => Just(Step::Save),
        ]
    }

    /// Short ids are kept in place, long ones on the heap: both kinds.
    fn id(number: u16) -> String {
        if number.is_multiple_of(7) {
            format!("a-long-event-id-{number}")
        } else {
            format!("e{number}")
        }
    }

    proptest! {
        /// Against a `HashMap`: the same contents after any inserts,
        /// removals, retains and a bincode save and restore, every id
        /// found where a probe looks, and never more than half full.
        #[test]
        fn holds_what_a_map_holds(
            steps in prop_oneof![Just(24u16), Just(400)]
                .prop_flat_map(|ids| proptest::collection::vec(step(ids), 1..1500)),
        ) {
            let mut table: IdTable<u32> = IdTable::default();
            let mut model: HashMap<String, u32> = HashMap::new();
            for step in steps {
                match step {
                    // Through `entry` when the model holds the id, else
                    // `insert` or `entry` by turns.
                    Step::Insert(number, value) => match table.entry(id(number).as_bytes()) {
                        Entry::Occupied(held) => {
                            prop_assert!(model.insert(id(number), value).is_some());
                            *held = value;
                        }
                        Entry::Vacant(slot) => {
                            prop_assert!(model.insert(id(number), value).is_none());
                            if value % 2 == 0 {
                                slot.insert(CompactId::new(&id(number)), value);
                            } else {
                                table.insert(CompactId::new(&id(number)), value);
                            }
                        }
                    },
                    Step::Remove(number) => {
                        prop_assert_eq!(table.remove(id(number).as_bytes()), model.remove(&id(number)));
                    }
                    Step::Retain(floor) => {
                        table.retain(|value| *value >= floor);
                        model.retain(|_, value| *value >= floor);
                        // A sweep moves ids around: every one held must
                        // still be found.
                        for (held, value) in &model {
                            prop_assert_eq!(table.get(held.as_bytes()), Some(value), "{}", held);
                        }
                    }
                    Step::Save => {
                        let saved = bincode::serialize(&table).unwrap();
                        table = bincode::deserialize(&saved).unwrap();
                    }
                }
                prop_assert_eq!(table.len(), model.len());
                prop_assert!(2 * table.len() <= table.slots.len().max(1));
            }
            for number in 0..400 {
                prop_assert_eq!(table.get(id(number).as_bytes()), model.get(&id(number)));
            }
        }
    }
}
