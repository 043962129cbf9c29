//! Key admission with the `max_keys` cap (contract sections 5 and 9, "Keys").

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::RandomState;

use crate::compact::CompactId;

/// The key that keys beyond the cap fold into.
pub const OTHER_KEY: &str = "__other__";

/// Keys of one (KPI, scope), numbered in order of first contribution.
/// Admitted keys stay for the life of the process, so a key that was folded
/// into `__other__` is folded every time, and a gauge's decrement always
/// lands on the key its increment used.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct KeyRegistry {
    max_keys: usize,
    /// Names in place (see `compact`): a lookup compares the bytes in the
    /// table's slot instead of following a pointer to them, one cache miss
    /// fewer per contribution when keys are many.
    index: HashMap<CompactId, u32, RandomState>,
    /// The same names as snapshots share them.
    names: Vec<Arc<str>>,
    /// Position of `__other__` once something folded into it.
    other: Option<u32>,
}

impl KeyRegistry {
    pub fn new(max_keys: usize) -> KeyRegistry {
        KeyRegistry {
            max_keys,
            index: HashMap::default(),
            names: Vec::new(),
            other: None,
        }
    }

    /// The position of `name`, admitting it if the cap allows.
    pub fn resolve(&mut self, name: &str) -> u32 {
        if let Some(&position) = self.index.get(name.as_bytes()) {
            return position;
        }
        let admitted = self.names.len() - usize::from(self.other.is_some());
        if admitted < self.max_keys && name != OTHER_KEY {
            return self.push(name);
        }
        match self.other {
            Some(position) => position,
            None => {
                let position = self.push(OTHER_KEY);
                self.other = Some(position);
                position
            }
        }
    }

    fn push(&mut self, name: &str) -> u32 {
        let position = self.names.len() as u32;
        self.index.insert(CompactId::new(name), position);
        self.names.push(Arc::from(name));
        position
    }

    pub fn name(&self, position: u32) -> &Arc<str> {
        &self.names[position as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_beyond_the_cap_fold_into_other_and_admitted_keys_stay() {
        let mut keys = KeyRegistry::new(2);
        let a = keys.resolve("A");
        let b = keys.resolve("B");
        let c = keys.resolve("C");
        let d = keys.resolve("D");
        assert_eq!((a, b), (0, 1));
        assert_eq!(c, d);
        assert_eq!(&**keys.name(c), OTHER_KEY);
        assert_eq!(keys.resolve("A"), a);
        assert_eq!(keys.names.len(), 3);
    }
}
