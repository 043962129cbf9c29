//! Orders and tickets known to the join (contract section 4), forgotten
//! `order_ttl` after they were placed or opened.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use foldhash::fast::RandomState;

use tripgate_model::{Nanos, Priority};

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Order {
    pub placed_at: Nanos,
    pub promised_by: Nanos,
    /// Dimension values are shared through [`Names`]: a million open orders
    /// hold a handful of channels, regions and warehouses, not a million copies.
    pub channel: Arc<str>,
    pub region: Arc<str>,
    pub warehouse: Arc<str>,
    /// Units per SKU, in order of first appearance in the lines.
    pub units: Box<[(Arc<str>, u64)]>,
    pub total_units: u64,
    /// Carrier of the first `shipped` (event time).
    pub carrier: Option<Arc<str>>,
    pub shipped: bool,
    pub delivered: bool,
    pub cancelled: bool,
    /// Placed and not yet shipped, delivered or cancelled.
    pub in_backlog: bool,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Ticket {
    pub opened_at: Nanos,
    pub category: Arc<str>,
    pub priority: Priority,
    pub responded: bool,
    pub resolved: bool,
}

/// Entities of one kind with their expiry queue. Entities are created in
/// event-time order with one TTL, so expiry times are created in order too
/// and a FIFO queue is enough.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Registry<T> {
    /// Ids are shared with the expiry queue: one allocation per entity.
    /// Entities are boxed so the table's slots stay small: a hash table is
    /// up to half empty, and with a million open orders those empty slots
    /// would otherwise cost more than the orders.
    live: HashMap<Arc<str>, Box<T>, RandomState>,
    expiry: VecDeque<(Nanos, Arc<str>)>,
    ttl: Nanos,
}

impl<T> Registry<T> {
    pub fn new(ttl: Nanos) -> Registry<T> {
        Registry {
            live: HashMap::default(),
            expiry: VecDeque::new(),
            ttl,
        }
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.live.get_mut(id).map(|entity| &mut **entity)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.live.contains_key(id)
    }

    pub fn insert(&mut self, id: &str, created_at: Nanos, entity: T) {
        let id: Arc<str> = Arc::from(id);
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
            if let Some(entity) = self.live.remove(&id) {
                forget(*entity);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }
}

/// Dimension values (channels, regions, warehouses, carriers, SKUs,
/// categories) shared by the orders and tickets that name them.
#[derive(Debug, Default)]
pub struct Names {
    shared: HashSet<Arc<str>, RandomState>,
    /// Past this many names, those no entity holds any more are dropped, so
    /// a stream of one-off SKUs cannot grow the set without bound.
    prune_at: usize,
}

impl Names {
    const MIN_PRUNE_AT: usize = 4096;

    pub fn share(&mut self, name: &str) -> Arc<str> {
        if let Some(shared) = self.shared.get(name) {
            return shared.clone();
        }
        if self.shared.len() >= self.prune_at {
            self.shared.retain(|name| Arc::strong_count(name) > 1);
            self.prune_at = (2 * self.shared.len()).max(Names::MIN_PRUNE_AT);
        }
        let shared: Arc<str> = Arc::from(name);
        self.shared.insert(shared.clone());
        shared
    }
}
