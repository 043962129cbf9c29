//! The aggregator: dedup, watermark, event-time ordering, joins and tick
//! closing (contract sections 3 and 4). Pure and synchronous: the caller
//! feeds events and time, and receives one snapshot per closed tick.

use std::collections::{HashSet, VecDeque};

use foldhash::fast::RandomState;
use tripgate_model::config::Pipeline;
use tripgate_model::snapshot::{TickSnapshot, WindowSpec};
use tripgate_model::{Event, Nanos};

use crate::apply::apply;
use crate::compact::CompactId;
use crate::entities::{Names, Order, Registry, Ticket};
use crate::kpis::KpiState;
use crate::pending::{Pending, PendingEvents};

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

/// Event ids remembered for at least `dedup_horizon` of event time.
#[derive(serde::Serialize, serde::Deserialize)]
struct SeenIds {
    /// Ids in place, not on the heap: no allocation per event (see `compact`).
    ids: HashSet<CompactId, RandomState>,
    /// Arrival order; pruned from the front once old enough.
    order: VecDeque<(Nanos, CompactId)>,
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

impl Aggregator {
    /// `specs` are the windows to compute, in the order snapshots report them.
    pub fn new(pipeline: &Pipeline, specs: &[WindowSpec]) -> Aggregator {
        let tick = pipeline.tick.nanos();
        let ttl = pipeline.order_ttl.nanos();
        Aggregator {
            tick,
            allowed_lateness: pipeline.allowed_lateness.nanos(),
            dedup_horizon: pipeline.dedup_horizon.nanos(),
            seen: SeenIds {
                ids: HashSet::default(),
                order: VecDeque::new(),
            },
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

    /// Offers one validated event. Never closes ticks; call `advance` after.
    pub fn offer(&mut self, event: Event) -> Admission {
        // One probe of the set both checks and remembers the id.
        let id = CompactId::new(&event.event_id);
        if !self.seen.ids.insert(id.clone()) {
            self.state.counters.duplicate_ids += 1;
            return Admission::DuplicateId;
        }
        self.seen.order.push_back((event.occurred_at, id));
        if self
            .watermark()
            .is_some_and(|watermark| event.occurred_at < watermark)
        {
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
        self.prune_seen_ids(watermark);
    }

    fn close_tick(&mut self, tick: Nanos) -> TickSnapshot {
        self.release_before(tick);
        self.expire(tick);
        self.state.counters.ticks += 1;
        TickSnapshot {
            tick,
            series: self.state.kpis.close(tick.div_euclid(self.tick)),
        }
    }

    fn release_before(&mut self, limit: Nanos) {
        while self
            .pending
            .next_time()
            .is_some_and(|occurred_at| occurred_at < limit)
        {
            let Pending {
                occurred_at, event, ..
            } = self.pending.pop().expect("peeked");
            self.expire(occurred_at);
            apply(&mut self.state, event);
        }
    }

    /// Forgets orders and tickets whose lifetime ends at or before `now`.
    fn expire(&mut self, now: Nanos) {
        let State {
            orders,
            tickets,
            kpis,
            ..
        } = &mut self.state;
        orders.expire(now, |order| crate::apply::forget_order(kpis, now, &order));
        tickets.expire(now, |ticket| {
            crate::apply::forget_ticket(kpis, now, &ticket)
        });
    }

    fn prune_seen_ids(&mut self, watermark: Nanos) {
        let cutoff = watermark.saturating_sub(self.dedup_horizon);
        while let Some((occurred_at, _)) = self.seen.order.front() {
            if *occurred_at >= cutoff {
                break;
            }
            let (_, id) = self.seen.order.pop_front().expect("front exists");
            self.seen.ids.remove(id.as_bytes());
        }
    }

    /// Orders and tickets currently known (for memory reporting).
    pub fn known_entities(&self) -> (usize, usize) {
        (self.state.orders.len(), self.state.tickets.len())
    }
}
