//! The aggregator: dedup, watermark, event-time ordering, joins and tick
//! closing (contract sections 3 and 4). Pure and synchronous: the caller
//! feeds events and time, and receives one snapshot per closed tick.

use tripgate_model::config::Pipeline;
use tripgate_model::snapshot::{TickSnapshot, WindowSpec};
use tripgate_model::{Event, Nanos, Subject};

use crate::apply::apply;
use crate::entities::{Names, Order, Registry, Ticket};
use crate::kpis::KpiState;
use crate::pending::{Pending, PendingEvents};
use crate::seen::SeenIds;

/// What happened to an offered event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Held until the watermark passes it, then applied.
    Accepted,
    /// Its `event_id` was seen before: ignored.
    DuplicateId,
    /// Below the watermark on arrival: ignored.
    Late,
}

/// Counts for the summary and for metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    pub accepted: u64,
    pub duplicate_ids: u64,
    /// A second placed/shipped/delivered/cancelled/opened/responded/resolved.
    pub semantic_duplicates: u64,
    pub late: u64,
    pub unmatched: u64,
    pub ticks: u64,
}

/// The mutable state events act on; split from the engine's bookkeeping so
/// the join registries and the KPI windows can be borrowed together.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct State {
    pub orders: Registry<Order>,
    pub tickets: Registry<Ticket>,
    pub kpis: KpiState,
    pub counters: Counters,
    /// Not saved: a restored engine starts sharing names afresh.
    #[serde(skip)]
    pub names: Names,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Aggregator {
    tick: Nanos,
    allowed_lateness: Nanos,
    dedup_horizon: Nanos,
    seen: SeenIds,
    pending: PendingEvents,
    arrivals: u64,
    max_seen: Option<Nanos>,
    min_accepted: Option<Nanos>,
    /// Live mode: the watermark's floor from the clock (see
    /// `observe_wall_clock`); it only ever rises.
    wall_floor: Option<Nanos>,
    /// Live mode: the newest `occurred_at` and the wall time it was first
    /// observed at. Not checkpointed: a restart starts the clock anew, so
    /// downtime never makes the backlog late.
    #[serde(skip)]
    clock_anchor: Option<(Nanos, Nanos)>,
    /// End of input (backtest): the watermark is the largest `occurred_at`.
    finished: bool,
    /// The next tick to close; set when the first tick closes.
    next_tick: Option<Nanos>,
    state: State,
}

/// How many held events `release_before` warms the lookups of at once.
const RELEASE_BATCH: usize = 16;

/// Forgets orders and tickets whose lifetime ends at or before `now`.
fn expire(state: &mut State, now: Nanos) {
    let State {
        orders,
        tickets,
        kpis,
        ..
    } = state;
    orders.expire(now, |order| crate::apply::forget_order(kpis, now, &order));
    tickets.expire(now, |ticket| {
        crate::apply::forget_ticket(kpis, now, &ticket)
    });
}

/// Brings the orders and tickets the next events will look up into the
/// cache, for nothing but that: no effect on any later result. With a
/// month of orders the join tables are far larger than the cache, and a
/// lookup misses twice in a row (the table's slot, then the boxed order).
/// Made one event at a time, between the events' other work, each lookup
/// waits for its misses alone. So the lookups are pipelined over two
/// batches: the slots the batch after this one will probe are prefetched
/// now (their places are known from the ids alone, see `table`), and this
/// batch's, prefetched a batch ago, are probed for all its events first,
/// in a loop whose iterations depend on nothing but their ids; then every
/// entity found is read, all those reads at once.
fn warm<'a>(state: &State, upcoming: impl Iterator<Item = &'a Pending> + Clone) {
    for pending in upcoming.clone().skip(RELEASE_BATCH).take(RELEASE_BATCH) {
        match pending.event.body.subject() {
            Subject::Order(id) => state.orders.prefetch(id),
            Subject::Ticket(id) => state.tickets.prefetch(id),
        }
    }
    let mut orders: [Option<&Order>; RELEASE_BATCH] = [None; RELEASE_BATCH];
    let mut tickets: [Option<&Ticket>; RELEASE_BATCH] = [None; RELEASE_BATCH];
    for (slot, pending) in upcoming.take(RELEASE_BATCH).enumerate() {
        // A new order's or ticket's id is looked up too (a repeat is a
        // semantic duplicate): the probe brings in the table's slots.
        match pending.event.body.subject() {
            Subject::Order(id) => orders[slot] = state.orders.get(id),
            Subject::Ticket(id) => tickets[slot] = state.tickets.get(id),
        }
    }
    // An order fills an 80-byte block, so most straddle two cache lines:
    // a word at each end is read (its time first, its flags last).
    let placed = orders
        .iter()
        .flatten()
        .map(|order| order.placed_at ^ Nanos::from(order.delivered) ^ order.units.len() as Nanos);
    let opened = tickets.iter().flatten().map(|ticket| ticket.opened_at);
    let mut word = placed.chain(opened).fold(0, |all, word| all ^ word);
    // Then the orders' lines (a separate block each), and then the SKUs
    // they name, whose text keys the SKU windows.
    let lines = orders.iter().flatten().flat_map(|order| order.units.iter());
    word ^= lines.fold(0, |all, (_, count)| all ^ Nanos::from(*count));
    let skus = orders
        .iter()
        .flatten()
        .filter_map(|order| order.units.first());
    word ^= skus.fold(0, |all, (sku, _)| all ^ sku.len() as Nanos);
    std::hint::black_box(word);
}

impl Aggregator {
    /// `specs` are the windows to compute, in the order snapshots report them.
    pub fn new(pipeline: &Pipeline, specs: &[WindowSpec]) -> Aggregator {
        let tick = pipeline.tick.nanos();
        let ttl = pipeline.order_ttl.nanos();
        Aggregator {
            tick,
            allowed_lateness: pipeline.allowed_lateness.nanos(),
            dedup_horizon: pipeline.dedup_horizon.nanos(),
            seen: SeenIds::default(),
            pending: PendingEvents::default(),
            arrivals: 0,
            max_seen: None,
            min_accepted: None,
            wall_floor: None,
            clock_anchor: None,
            finished: false,
            next_tick: None,
            state: State {
                orders: Registry::new(ttl),
                tickets: Registry::new(ttl),
                kpis: KpiState::new(tick, pipeline.max_keys, specs),
                counters: Counters::default(),
                names: Names::default(),
            },
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.state.counters
    }

    /// The current watermark, once any event was accepted or the wall clock set.
    pub fn watermark(&self) -> Option<Nanos> {
        let from_events = self.max_seen.map(|max| {
            if self.finished {
                max
            } else {
                max.saturating_sub(self.allowed_lateness)
            }
        });
        match (from_events, self.wall_floor) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Offers validated events in order, exactly as `offer` one by one
    /// would, and leaves `events` empty. The dedup table's slots for their
    /// ids are prefetched first: with a day of ids the table is larger than
    /// the cache, and prefetches made back to back wait for their misses
    /// together, where one `offer` at a time (between the decoding of two
    /// events) waits for each alone.
    pub fn offer_all(&mut self, events: &mut Vec<Event>) {
        for event in events.iter() {
            self.seen.prefetch(&event.event_id);
        }
        for event in events.drain(..) {
            self.offer(event);
        }
    }

    /// Offers one validated event. Never closes ticks; call `advance` after.
    pub fn offer(&mut self, event: Event) -> Admission {
        let watermark = self.watermark();
        // Ids are forgotten by the watermark as it is now, however long ago
        // the caller last called `advance`.
        if let Some(watermark) = watermark {
            self.forget_old_ids(watermark);
        }
        // One probe of the table both checks and remembers the id.
        if !self.seen.insert(&event.event_id, event.occurred_at) {
            self.state.counters.duplicate_ids += 1;
            return Admission::DuplicateId;
        }
        if watermark.is_some_and(|watermark| event.occurred_at < watermark) {
            self.state.counters.late += 1;
            return Admission::Late;
        }
        self.state.counters.accepted += 1;
        let occurred_at = event.occurred_at;
        self.max_seen = Some(
            self.max_seen
                .map_or(occurred_at, |max| max.max(occurred_at)),
        );
        self.min_accepted = Some(
            self.min_accepted
                .map_or(occurred_at, |min| min.min(occurred_at)),
        );
        self.arrivals += 1;
        self.pending.push(Pending {
            occurred_at,
            arrival: self.arrivals,
            event,
        });
        Admission::Accepted
    }

    /// Live mode: lets the watermark move with the clock while input is
    /// idle. The contract's floor is `now - allowed_lateness - idle_timeout`;
    /// tripgate reads `now` in event time, as the newest `occurred_at` plus
    /// the wall time since it arrived, and never beyond the wall clock. For
    /// a live stream (events stamped about when they arrive) that is the
    /// contract's floor. For a replay of older events it keeps every event of
    /// the replay on time, and once the topics fall idle the remaining ticks
    /// close at the wall clock's pace from the last event on.
    pub fn observe_wall_clock(&mut self, now: Nanos, idle_timeout: Nanos) {
        let Some(newest) = self.max_seen else {
            return;
        };
        let since = match self.clock_anchor {
            Some((seen, at)) if seen == newest => at,
            _ => {
                self.clock_anchor = Some((newest, now));
                now
            }
        };
        let event_now = newest.saturating_add(now.saturating_sub(since)).min(now);
        let floor = event_now
            .saturating_sub(self.allowed_lateness)
            .saturating_sub(idle_timeout);
        self.wall_floor = Some(self.wall_floor.map_or(floor, |held| held.max(floor)));
    }

    /// End of input: the watermark moves to the largest `occurred_at` seen.
    pub fn finish(&mut self, out: impl FnMut(TickSnapshot)) {
        self.finished = true;
        self.advance(out);
        // What remains can close no tick; apply it so the counters are complete.
        self.release_before(Nanos::MAX);
    }

    /// Closes every tick the watermark has reached, in order.
    pub fn advance(&mut self, mut out: impl FnMut(TickSnapshot)) {
        let Some(watermark) = self.watermark() else {
            return;
        };
        let next = match (self.next_tick, self.min_accepted) {
            (Some(next), _) => next,
            // the first tick strictly after the smallest accepted occurred_at
            (None, Some(min)) => (min.div_euclid(self.tick) + 1) * self.tick,
            (None, None) => return,
        };
        let mut tick = next;
        while tick <= watermark {
            out(self.close_tick(tick));
            tick += self.tick;
            self.next_tick = Some(tick);
        }
        // Nothing below the watermark can still arrive, so what is held below it
        // can be applied now; ticks after it see the same state either way.
        self.release_before(watermark);
    }

    fn close_tick(&mut self, tick: Nanos) -> TickSnapshot {
        self.release_before(tick);
        expire(&mut self.state, tick);
        self.state.counters.ticks += 1;
        TickSnapshot {
            tick,
            series: self.state.kpis.close(tick.div_euclid(self.tick)),
        }
    }

    /// Applies, in order, every held event before `limit`, each where it
    /// is held (not copied out first). Every `RELEASE_BATCH` events the
    /// next ones' join lookups are warmed (see `warm`); what is
    /// applied, and in which order, does not depend on it.
    fn release_before(&mut self, limit: Nanos) {
        let mut warmed = 0;
        while let Some(next) = self.pending.peek() {
            if next.occurred_at >= limit {
                break;
            }
            if warmed == 0 {
                warm(&self.state, self.pending.upcoming());
                warmed = RELEASE_BATCH;
            }
            warmed -= 1;
            expire(&mut self.state, next.occurred_at);
            apply(&mut self.state, &next.event);
            self.pending.discard_next();
        }
        // Between calls the windows hold every contribution, so a saved
        // state holds them too.
        self.state.kpis.flush();
    }

    fn forget_old_ids(&mut self, watermark: Nanos) {
        self.seen
            .forget_before(watermark.saturating_sub(self.dedup_horizon));
    }

    /// Orders and tickets currently known (for memory reporting).
    pub fn known_entities(&self) -> (usize, usize) {
        (self.state.orders.len(), self.state.tickets.len())
    }
}
