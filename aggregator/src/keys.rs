//! Key admission with the `max_keys` cap (contract sections 5 and 9, "Keys").
//!
//! Names are looked up once per scope, not once per (KPI, scope): every KPI
//! tracked under a scope shares one [`ScopeNames`] table, which numbers each
//! name (its *row*) and remembers the last name it resolved, since an event
//! contributes to several KPIs under the same key one call after another.
//! With many keys each lookup is a cache miss or two, so sharing it is most
//! of what a window update costs. Admission stays per (KPI, scope), in
//! [`Admission`]: a name can be admitted for one KPI and folded into
//! `__other__` for another whose cap filled first.

use std::sync::Arc;

use crate::compact::{CompactId, Wanted};
use crate::table::IdTable;

/// The key that keys beyond the cap fold into.
pub const OTHER_KEY: &str = "__other__";

/// With fewer names than this a scope's table stays in the cache, and
/// prefetching its slots would cost a hash per contribution for nothing.
const LARGE_FROM: usize = 4096;

/// The names of one scope, numbered in order of first admission by any KPI
/// of the scope. Rows are never removed, so a row number stays valid for the
/// life of the process.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ScopeNames {
    /// Names in place (see `compact`): a lookup compares the bytes in the
    /// table's slot instead of following a pointer to them, one cache miss
    /// fewer per lookup when keys are many. An `IdTable` because where a
    /// lookup starts can be prefetched (`prefetch`).
    index: IdTable<u32>,
    /// The same names as snapshots share them, by row.
    names: Vec<Arc<str>>,
    /// The last name found and its row: the next KPI an event contributes to
    /// under this scope asks for the same name, and this answers without
    /// touching the table. Only names that have a row are held.
    #[serde(skip)]
    last: Option<(Recent, u32)>,
}

/// A name as `ScopeNames::last` holds it: a short one as the words a lookup
/// compares (see `compact::Wanted`), so that it is checked, and replaced,
/// with a few whole-word moves, and a long one as the table holds it.
#[derive(Debug)]
enum Recent {
    Short { len: u8, low: u64, high: u64 },
    Long(CompactId),
}

impl Recent {
    /// `wanted` as held; `held` is the table's copy of the same name.
    fn new(wanted: &Wanted, held: &CompactId) -> Recent {
        match *wanted {
            Wanted::Inline { len, low, high } => Recent::Short { len, low, high },
            // A reference count, not an allocation.
            Wanted::Heap(_) => Recent::Long(held.clone()),
        }
    }

    fn is(&self, wanted: &Wanted) -> bool {
        match (self, wanted) {
            (
                Recent::Short { len, low, high },
                Wanted::Inline {
                    len: wanted_len,
                    low: wanted_low,
                    high: wanted_high,
                },
            ) => (len, low, high) == (wanted_len, wanted_low, wanted_high),
            (Recent::Long(held), Wanted::Heap(_)) => held.is(wanted),
            _ => false,
        }
    }
}

impl ScopeNames {
    /// The row of `name`, if some KPI of the scope admitted it.
    fn find(&mut self, name: &str) -> Option<u32> {
        let wanted = Wanted::new(name.as_bytes());
        if let Some((last, row)) = &self.last {
            if last.is(&wanted) {
                return Some(*row);
            }
        }
        let (held, &row) = self.index.get_key_value(name.as_bytes())?;
        self.last = Some((Recent::new(&wanted, held), row));
        Some(row)
    }

    /// The row of `name`, giving it one if it has none.
    fn find_or_add(&mut self, name: &str) -> u32 {
        if let Some(row) = self.find(name) {
            return row;
        }
        let row = self.names.len() as u32;
        let id = CompactId::new(name);
        self.last = Some((Recent::new(&Wanted::new(name.as_bytes()), &id), row));
        self.index.insert(id, row);
        self.names.push(Arc::from(name));
        row
    }

    /// True when the table holds too many names to stay in the cache, so
    /// that a lookup is worth prefetching (see `KpiState::contribute`).
    pub fn is_large(&self) -> bool {
        self.names.len() >= LARGE_FROM
    }

    /// Prefetches where a lookup of `name` starts.
    pub fn prefetch(&self, name: &str) {
        self.index.prefetch(name.as_bytes());
    }

    pub fn name(&self, row: u32) -> &Arc<str> {
        &self.names[row as usize]
    }
}

/// The keys one (KPI, scope) admitted, as rows of its scope's [`ScopeNames`].
/// Admitted keys stay for the life of the process, so a key that was folded
/// into `__other__` is folded every time (the cap never frees), and a
/// gauge's decrement always lands on the key its increment used.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Admission {
    max_keys: usize,
    /// Named keys admitted; `__other__` does not count against the cap.
    admitted: usize,
    /// The row of `__other__` once something folded into it.
    other: Option<u32>,
    /// Every row this (KPI, scope) uses, `__other__` included, in order of
    /// first contribution (the order snapshots list keys in), is rows
    /// `0..in_row_order` followed by `later`. Usually every KPI of a scope
    /// sees a new key in the same event, so its keys are the scope's rows
    /// in order and `later` stays empty: no memory per key.
    in_row_order: u32,
    later: Vec<u32>,
    /// One bit per row of the scope: set when the row is in `later`. A bit
    /// per key keeps the whole set in cache even with 100k keys, where a
    /// table lookup would be another miss.
    member: Vec<u64>,
}

impl Admission {
    pub fn new(max_keys: usize) -> Admission {
        Admission {
            max_keys,
            admitted: 0,
            other: None,
            in_row_order: 0,
            later: Vec::new(),
            member: Vec::new(),
        }
    }

    /// The row `name` contributes to for this (KPI, scope), admitting it
    /// if the cap allows.
    pub fn resolve(&mut self, names: &mut ScopeNames, name: &str) -> u32 {
        let row = names.find(name);
        if let Some(row) = row {
            if self.contains(row) {
                return row;
            }
        }
        if self.admitted < self.max_keys && name != OTHER_KEY {
            let row = row.unwrap_or_else(|| names.find_or_add(name));
            self.admitted += 1;
            self.add(row);
            return row;
        }
        match self.other {
            Some(row) => row,
            None => {
                let row = names.find_or_add(OTHER_KEY);
                self.other = Some(row);
                self.add(row);
                row
            }
        }
    }

    /// The rows in use, in order of first contribution.
    pub fn order(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.in_row_order).chain(self.later.iter().copied())
    }

    fn contains(&self, row: u32) -> bool {
        if row < self.in_row_order {
            return true;
        }
        let row = row as usize;
        self.member
            .get(row / 64)
            .is_some_and(|word| word & (1 << (row % 64)) != 0)
    }

    fn add(&mut self, row: u32) {
        if self.later.is_empty() && row == self.in_row_order {
            self.in_row_order += 1;
            return;
        }
        self.later.push(row);
        let row = row as usize;
        if self.member.len() <= row / 64 {
            self.member.resize(row / 64 + 1, 0);
        }
        self.member[row / 64] |= 1 << (row % 64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_of(admission: &Admission, names: &ScopeNames) -> Vec<String> {
        admission
            .order()
            .map(|row| names.name(row).to_string())
            .collect()
    }

    #[test]
    fn keys_beyond_the_cap_fold_into_other_and_admitted_keys_stay() {
        let mut names = ScopeNames::default();
        let mut keys = Admission::new(2);
        let a = keys.resolve(&mut names, "A");
        let b = keys.resolve(&mut names, "B");
        let c = keys.resolve(&mut names, "C");
        let d = keys.resolve(&mut names, "D");
        assert_eq!((a, b), (0, 1));
        assert_eq!(c, d);
        assert_eq!(&**names.name(c), OTHER_KEY);
        assert_eq!(keys.resolve(&mut names, "A"), a);
        assert_eq!(names_of(&keys, &names), ["A", "B", OTHER_KEY]);
        // Folded names get no row of their own.
        assert_eq!(names.names.len(), 3);
    }

    #[test]
    fn admission_is_per_kpi_though_names_are_shared() {
        // Two KPIs of one scope with a cap of 2: the first sees A, B, C; the
        // second sees C first, so C is admitted for it and folded for the
        // first, and A, admitted for the first, folds for the second.
        let mut names = ScopeNames::default();
        let mut first = Admission::new(2);
        let mut second = Admission::new(2);
        let a = first.resolve(&mut names, "A");
        let c_second = second.resolve(&mut names, "C");
        let b = first.resolve(&mut names, "B");
        let d_second = second.resolve(&mut names, "D");
        let c_first = first.resolve(&mut names, "C");
        let a_second = second.resolve(&mut names, "A");
        assert_eq!(&**names.name(c_second), "C");
        assert_eq!(&**names.name(d_second), "D");
        assert_eq!(&**names.name(c_first), OTHER_KEY);
        assert_eq!(&**names.name(a_second), OTHER_KEY);
        assert_eq!(c_first, a_second, "one `__other__` row per scope");
        assert_ne!(a, b);
        assert_eq!(names_of(&first, &names), ["A", "B", OTHER_KEY]);
        assert_eq!(names_of(&second, &names), ["C", "D", OTHER_KEY]);
        // Admitted keys stay, for each KPI on its own, whatever the cache holds.
        for _ in 0..2 {
            assert_eq!(second.resolve(&mut names, "C"), c_second);
            assert_eq!(first.resolve(&mut names, "C"), c_first);
            assert_eq!(first.resolve(&mut names, "A"), a);
            assert_eq!(second.resolve(&mut names, "A"), a_second);
        }
    }

    /// The remembered name answers only for itself: not for a name that
    /// differs from it in its last bytes, or only in length, or for a long
    /// name after a short one.
    #[test]
    fn the_last_name_answers_only_for_itself() {
        let mut names = ScopeNames::default();
        let mut keys = Admission::new(10);
        let long = "a-name-longer-than-fourteen-bytes";
        let all = [
            "wh-0000000001",
            "wh-0000000002",
            "wh-000000000",
            "wh-000000000\0",
            long,
            "a-name-longer-than-fourteen-byteS",
            "",
        ];
        let rows: Vec<u32> = all
            .iter()
            .map(|name| keys.resolve(&mut names, name))
            .collect();
        assert_eq!(rows, (0..all.len() as u32).collect::<Vec<_>>());
        for _ in 0..2 {
            for (name, row) in all.iter().zip(&rows).chain(all.iter().zip(&rows).rev()) {
                assert_eq!(keys.resolve(&mut names, name), *row, "{name:?}");
                assert_eq!(keys.resolve(&mut names, name), *row, "{name:?} again");
            }
        }
    }

    #[test]
    fn a_key_named_other_folds_into_other() {
        let mut names = ScopeNames::default();
        let mut keys = Admission::new(5);
        let a = keys.resolve(&mut names, "A");
        let other = keys.resolve(&mut names, OTHER_KEY);
        assert_ne!(a, other);
        assert_eq!(keys.resolve(&mut names, OTHER_KEY), other);
        assert_eq!(keys.admitted, 1);
        assert_eq!(names_of(&keys, &names), ["A", OTHER_KEY]);
    }

    #[test]
    fn a_restored_table_resolves_without_its_cache() {
        let mut names = ScopeNames::default();
        let mut keys = Admission::new(3);
        let long = "a-name-longer-than-fourteen-bytes";
        let rows: Vec<u32> = ["A", long, "B"]
            .iter()
            .map(|name| keys.resolve(&mut names, name))
            .collect();
        let saved = serde_json::to_string(&(&names, &keys)).expect("serializes");
        let (mut names, mut keys): (ScopeNames, Admission) =
            serde_json::from_str(&saved).expect("deserializes");
        assert!(names.last.is_none());
        for (name, row) in ["A", long, "B"].iter().zip(rows) {
            assert_eq!(keys.resolve(&mut names, name), row);
        }
        assert_eq!(keys.resolve(&mut names, "C"), 3);
    }
}
