//! Orders and tickets known to the join (contract section 4), forgotten
//! `order_ttl` after they were placed or opened.

use std::collections::{HashMap, VecDeque};

use foldhash::fast::RandomState;

use tripgate_model::{Nanos, Priority};

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Order {
    pub placed_at: Nanos,
    pub promised_by: Nanos,
    pub channel: String,
    pub region: String,
    pub warehouse: String,
    /// Units per SKU, in order of first appearance in the lines.
    pub units: Vec<(String, u64)>,
    pub total_units: u64,
    /// Carrier of the first `shipped` (event time).
    pub carrier: Option<String>,
    pub shipped: bool,
    pub delivered: bool,
    pub cancelled: bool,
    /// Placed and not yet shipped, delivered or cancelled.
    pub in_backlog: bool,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Ticket {
    pub opened_at: Nanos,
    pub category: String,
    pub priority: Priority,
    pub responded: bool,
    pub resolved: bool,
}

/// Entities of one kind with their expiry queue. Entities are created in
/// event-time order with one TTL, so expiry times are created in order too
/// and a FIFO queue is enough.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Registry<T> {
    live: HashMap<String, T, RandomState>,
    expiry: VecDeque<(Nanos, String)>,
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
        self.live.get_mut(id)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.live.contains_key(id)
    }

    pub fn insert(&mut self, id: String, created_at: Nanos, entity: T) {
        self.expiry
            .push_back((created_at.saturating_add(self.ttl), id.clone()));
        self.live.insert(id, entity);
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
                forget(entity);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }
}
