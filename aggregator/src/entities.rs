//! Orders and tickets known to the join (contract section 4), forgotten
//! `order_ttl` after they were placed or opened.

use std::borrow::Borrow;
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use foldhash::fast::RandomState;
use smallvec::SmallVec;

use tripgate_model::{Nanos, Priority};

use crate::compact::CompactId;
use crate::table::IdTable;

/// 80 bytes, one of the allocator's size classes: a million open orders
/// are most of what a run holds, and each is its own allocation (see
/// [`Registry`]). (It was 72 bytes, rounded up to 80 all the same, before
/// its first SKU moved in.)
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Order {
    pub placed_at: Nanos,
    pub promised_by: Nanos,
    /// Dimension values are shared through [`Names`]: a million open orders
    /// hold a handful of channels, regions and warehouses, not a million copies.
    pub channel: Name,
    pub region: Name,
    pub warehouse: Name,
    /// Units per SKU, in order of first appearance in the lines. At most
    /// 1000 lines of 10⁶ units each, so a `u32` holds any SKU's and the total.
    /// One SKU is held in place (the commonest order has one), more on the heap:
    /// an order's SKUs are read when it is delivered, refunded or found
    /// defective, and held in place they cost no cache miss of their own.
    pub units: SmallVec<[(Name, u32); 1]>,
    pub total_units: u32,
    /// Carrier of the first `shipped` (event time).
    pub carrier: Option<Name>,
    pub shipped: bool,
    pub delivered: bool,
    pub cancelled: bool,
    /// Placed and not yet shipped, delivered or cancelled.
    pub in_backlog: bool,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Ticket {
    pub opened_at: Nanos,
    pub category: Name,
    pub priority: Priority,
    pub responded: bool,
    pub resolved: bool,
}

/// Entities of one kind with their expiry queue. Entities are created in
/// event-time order with one TTL, so expiry times are created in order too
/// and a FIFO queue is enough.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Registry<T> {
    /// Ids are kept in place (see `compact`), once here and once in the
    /// expiry queue: cheaper than a shared heap copy. Entities are boxed so
    /// the table's slots stay small: a hash table is up to half empty, and
    /// with a million open orders those empty slots would otherwise cost
    /// more than the orders.
    live: IdTable<Box<T>>,
    expiry: VecDeque<(Nanos, CompactId)>,
    ttl: Nanos,
}

impl<T> Registry<T> {
    pub fn new(ttl: Nanos) -> Registry<T> {
        Registry {
            live: IdTable::default(),
            expiry: VecDeque::new(),
            ttl,
        }
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.live.get_mut(id.as_bytes()).map(|entity| &mut **entity)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.live.contains(id.as_bytes())
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.live.get(id.as_bytes()).map(|entity| &**entity)
    }

    /// See `IdTable::prefetch`.
    pub fn prefetch(&self, id: &str) {
        self.live.prefetch(id.as_bytes());
    }

    /// `id` must not be known already.
    pub fn insert(&mut self, id: &str, created_at: Nanos, entity: T) {
        let id = CompactId::new(id);
        self.expiry
            .push_back((created_at.saturating_add(self.ttl), id.clone()));
        self.live.insert(id, Box::new(entity));
    }

    /// Forgets every entity whose lifetime ended at or before `now`
    /// (known while created ≤ t < created + ttl) and hands it to `forget`.
    pub fn expire(&mut self, now: Nanos, mut forget: impl FnMut(T)) {
        while let Some((expires_at, _)) = self.expiry.front() {
            if *expires_at > now {
                break;
            }
            let (_, id) = self.expiry.pop_front().expect("front exists");
            if let Some(entity) = self.live.remove(id.as_bytes()) {
                forget(*entity);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }
}

/// A dimension value shared through [`Names`]. One pointer wide where an
/// `Arc<str>` is two: an open order holds four of these and one per SKU,
/// and reading one costs a second hop only when a KPI is contributed.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Name(Arc<Box<str>>);

impl Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Name {}

/// Hashes as the `str` it borrows as, so the set is looked up by `&str`.
impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self
    }
}

/// Dimension values (channels, regions, warehouses, carriers, SKUs,
/// categories) shared by the orders and tickets that name them.
#[derive(Debug, Default)]
pub struct Names {
    shared: HashSet<Name, RandomState>,
    /// Past this many names, those no entity holds any more are dropped, so
    /// a stream of one-off SKUs cannot grow the set without bound.
    prune_at: usize,
}

impl Names {
    const MIN_PRUNE_AT: usize = 4096;

    pub fn share(&mut self, name: &str) -> Name {
        if let Some(shared) = self.shared.get(name) {
            return shared.clone();
        }
        if self.shared.len() >= self.prune_at {
            self.shared.retain(|name| Arc::strong_count(&name.0) > 1);
            self.prune_at = (2 * self.shared.len()).max(Names::MIN_PRUNE_AT);
        }
        let shared = Name(Arc::new(name.into()));
        self.shared.insert(shared.clone());
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_fits_80_bytes() {
        assert_eq!(std::mem::size_of::<Order>(), 80);
    }

    /// Checkpoints written when an order's SKUs were a boxed slice restore
    /// as they were (the checkpoint format did not change).
    #[test]
    fn reads_orders_saved_with_boxed_skus() {
        #[derive(serde::Serialize)]
        struct Before {
            placed_at: Nanos,
            promised_by: Nanos,
            channel: Name,
            region: Name,
            warehouse: Name,
            units: Box<[(Name, u32)]>,
            total_units: u32,
            carrier: Option<Name>,
            shipped: bool,
            delivered: bool,
            cancelled: bool,
            in_backlog: bool,
        }
        let mut names = Names::default();
        for skus in [vec![("SKU-1", 2)], vec![("SKU-1", 2), ("SKU-2", 3)]] {
            let before = Before {
                placed_at: 1,
                promised_by: 2,
                channel: names.share("web"),
                region: names.share("eu"),
                warehouse: names.share("wh-1"),
                units: skus.iter().map(|(sku, n)| (names.share(sku), *n)).collect(),
                total_units: skus.iter().map(|(_, n)| n).sum(),
                carrier: Some(names.share("ups")),
                shipped: true,
                delivered: false,
                cancelled: false,
                in_backlog: false,
            };
            let order: Order = bincode::deserialize(&bincode::serialize(&before).unwrap()).unwrap();
            let units: Vec<(&str, u32)> = order.units.iter().map(|(sku, n)| (&**sku, *n)).collect();
            assert_eq!(units, skus);
            assert_eq!(
                (order.total_units, &*order.warehouse, order.shipped),
                (before.total_units, "wh-1", true)
            );
            assert_eq!(
                bincode::serialize(&order).unwrap(),
                bincode::serialize(&before).unwrap()
            );
        }
    }

    #[test]
    fn names_are_shared_until_nobody_holds_them() {
        let mut names = Names::default();
        let first = names.share("web");
        let again = names.share("web");
        assert!(Arc::ptr_eq(&first.0, &again.0));
        assert_eq!(&*first, "web");
        drop((first, again));
        names.prune_at = 0;
        let other = names.share("app");
        assert_eq!(names.shared.len(), 1);
        assert_eq!(&*other, "app");
    }
}
