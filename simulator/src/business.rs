//! The discrete-event core: order arrivals, the agenda of scheduled happenings, and the API.
//!
//! Orders arrive as a Poisson process whose rate is held constant for each simulated minute
//! of the run (drawn a minute at a time; exact for piecewise-constant rates, because the
//! exponential gap is memoryless). Everything
//! else (picks, shipments, deliveries, follow-ups, tickets) is an entry on one agenda ordered by
//! time, then by scheduling order, so a seed always yields the same events in the same order.

use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};

use crate::catalog::{
    build_catalog, Sku, CHANNELS, LINE_COUNT_WEIGHTS, QUANTITY_WEIGHTS, REGIONS, WAREHOUSES,
};
use crate::dirt::Dirt;
use crate::fulfillment::{CancelState, OrderLine, QueuedOrder, WarehouseState};
use crate::rng::{splitmix64, Rng};
use crate::scenario::Scenario;
use crate::status::{BusinessStatus, Counters, WarehouseStatus};
use crate::support::{PendingTicket, SupportState};

pub(crate) const NANOS_PER_MILLI: i64 = 1_000_000;
pub(crate) const NANOS_PER_MINUTE: i64 = 60_000_000_000;
pub(crate) const NANOS_PER_HOUR: i64 = 3_600_000_000_000;
pub(crate) const NANOS_PER_DAY: i64 = 24 * NANOS_PER_HOUR;

/// What the operator (or tripgate's actions) currently does to the business.
#[derive(Clone, Debug, PartialEq)]
pub struct Controls {
    /// Share of new demand removed, 0.0 to 1.0 (values outside are clamped). Takes effect from
    /// the next whole simulated minute after the start.
    pub acquisition_throttle: f64,
    /// SKUs that get no new order lines; an order whose every line is paused is lost.
    pub paused_skus: BTreeSet<String>,
    /// Multiplier on every warehouse's capacity (1.0 = none; values below 0.01 count as 0.01).
    pub extra_capacity: f64,
}

impl Default for Controls {
    fn default() -> Controls {
        Controls {
            acquisition_throttle: 0.0,
            paused_skus: BTreeSet::new(),
            extra_capacity: 1.0,
        }
    }
}

/// Something due at an instant of simulated time.
pub(crate) enum Action {
    PickDone { warehouse: usize },
    FirstResponseDone,
    CancelRequest { order: u64 },
    OpenTicket(PendingTicket),
    Emit(Fact),
}

/// An event that needs no state when it happens, only to be written.
pub(crate) enum Fact {
    Shipped {
        order: u64,
        carrier: usize,
    },
    Delivered {
        order: u64,
        on_time: bool,
    },
    Defect {
        order: u64,
        sku: usize,
        quantity: u32,
        reason: usize,
    },
    Refund {
        order: u64,
        cents: i64,
    },
    Chargeback {
        order: u64,
        cents: i64,
    },
    FirstResponse {
        ticket: u64,
    },
    Resolved {
        ticket: u64,
    },
}

struct Scheduled {
    at: i64,
    sequence: u64,
    action: Action,
}

// Reversed so that `BinaryHeap`, a max-heap, pops the earliest entry first.
impl Ord for Scheduled {
    fn cmp(&self, other: &Scheduled) -> Ordering {
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Scheduled) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Scheduled {
    fn eq(&self, other: &Scheduled) -> bool {
        (self.at, self.sequence) == (other.at, other.sequence)
    }
}
impl Eq for Scheduled {}

/// A defect spike resolved to a catalog index and absolute instants.
pub(crate) struct ActiveSpike {
    pub(crate) sku: usize,
    pub(crate) from: i64,
    pub(crate) until: i64,
    pub(crate) probability: f64,
}

/// A simulated e-commerce business, advanced in steps of simulated time.
pub struct Business {
    pub(crate) scenario: Scenario,
    pub(crate) rng: Rng,
    /// Kept to derive the day-to-day demand factors, which must not depend on how far the
    /// main generator has advanced.
    seed: u64,
    pub(crate) catalog: Vec<Sku>,
    /// Running sums of SKU popularity, for drawing a SKU by binary search.
    popularity_sums: Vec<f64>,
    pub(crate) spikes: Vec<ActiveSpike>,
    start: i64,
    /// Events up to this instant have been returned.
    now: i64,
    agenda: BinaryHeap<Scheduled>,
    /// Order arrivals drawn but not yet placed, all before `arrivals_until`.
    arrivals: VecDeque<i64>,
    /// End of the last simulated minute whose arrivals have been drawn.
    arrivals_until: i64,
    next_sequence: u64,
    pub(crate) next_event: u64,
    next_order: u64,
    pub(crate) next_ticket: u64,
    pub(crate) warehouses: [WarehouseState; 3],
    pub(crate) support: SupportState,
    /// Orders with a pending or decided cancellation request (a few percent of orders).
    pub(crate) cancellations: HashMap<u64, CancelState>,
    /// From the controls of the current `advance`; read when a pick starts.
    pub(crate) capacity_multiplier: f64,
    /// Share of demand that survives the throttle, from the latest controls.
    demand_share: f64,
    dirt: Option<Dirt>,
    pub(crate) counters: Counters,
}

impl Business {
    pub fn new(scenario: Scenario, seed: u64, start: i64) -> Business {
        let catalog = build_catalog();
        let popularity_sums = catalog
            .iter()
            .scan(0.0, |sum, sku| {
                *sum += sku.popularity;
                Some(*sum)
            })
            .collect();
        let spikes = scenario
            .defect_spikes
            .iter()
            .filter_map(|spike| {
                let sku = catalog.iter().position(|known| known.name == spike.sku)?;
                let from = start + (spike.from_hours * NANOS_PER_HOUR as f64) as i64;
                let until = start + (spike.until_hours * NANOS_PER_HOUR as f64) as i64;
                Some(ActiveSpike {
                    sku,
                    from,
                    until,
                    probability: spike.probability,
                })
            })
            .collect();
        // A separate stream for the dirt, so dirty and clean runs share their clean events.
        let dirt = scenario
            .dirty
            .then(|| Dirt::new(splitmix64(seed ^ 0xD1A7_D1A7)));
        Business {
            scenario,
            rng: Rng::new(seed),
            seed,
            catalog,
            popularity_sums,
            spikes,
            start,
            now: start,
            agenda: BinaryHeap::new(),
            arrivals: VecDeque::new(),
            arrivals_until: start,
            next_sequence: 0,
            next_event: 1,
            next_order: 1,
            next_ticket: 1,
            warehouses: Default::default(),
            support: SupportState::default(),
            cancellations: HashMap::new(),
            capacity_multiplier: 1.0,
            demand_share: 1.0,
            dirt,
            counters: Counters::default(),
        }
    }

    /// Runs the simulation up to `until` (unix nanos) under `controls`, returning the events
    /// that occurred in (previous until, until], in occurred_at order, as JSON strings.
    /// (In dirty mode some lines are repeated, malformed, or held back up to two minutes.)
    pub fn advance(&mut self, until: i64, controls: &Controls) -> Vec<String> {
        let mut out = Vec::new();
        if until <= self.now {
            return out;
        }
        let throttle = controls.acquisition_throttle.clamp(0.0, 1.0);
        let unthrottled = self.scenario.unthrottled_share.clamp(0.0, 1.0);
        self.demand_share = unthrottled + (1.0 - unthrottled) * (1.0 - throttle);
        self.capacity_multiplier = controls.extra_capacity.max(0.01);
        let paused: Vec<bool> = self
            .catalog
            .iter()
            .map(|sku| controls.paused_skus.contains(&sku.name))
            .collect();

        loop {
            while let Some(&arrival) = self.arrivals.front() {
                if arrival > until {
                    break;
                }
                self.arrivals.pop_front();
                self.run_agenda(arrival, &mut out);
                self.place_order(arrival, &paused, &mut out);
            }
            if !self.arrivals.is_empty() || self.arrivals_until >= until {
                break;
            }
            self.draw_next_minute_of_arrivals();
        }
        self.run_agenda(until, &mut out);
        if let Some(dirt) = &mut self.dirt {
            dirt.release(until, &mut out);
        }
        self.now = until;
        out
    }

    /// A snapshot for telling the story: demand, queues and running totals.
    pub fn status(&self) -> BusinessStatus {
        let demand = self.demand_per_hour(self.now);
        let warehouses = WAREHOUSES
            .iter()
            .enumerate()
            .map(|(index, name)| WarehouseStatus {
                name: (*name).to_string(),
                backlog: self.warehouses[index].queue.len(),
                capacity_per_hour: self.scenario.warehouse_capacity_per_hour[index]
                    * self.capacity_multiplier,
                demand_per_hour: demand
                    * self.demand_share
                    * REGIONS
                        .iter()
                        .filter(|region| region.warehouse == index)
                        .map(|region| region.share)
                        .sum::<f64>(),
            })
            .collect();
        let active_defect_spikes = self
            .spikes
            .iter()
            .filter(|spike| spike.from <= self.now && self.now < spike.until)
            .map(|spike| self.catalog[spike.sku].name.clone())
            .collect();
        BusinessStatus {
            at: self.now,
            hours_since_start: (self.now - self.start) as f64 / NANOS_PER_HOUR as f64,
            demand_per_hour: demand,
            effective_demand_per_hour: demand * self.demand_share,
            warehouses,
            support_waiting: self.support.waiting(),
            support_capacity_per_hour: self.scenario.support_capacity_per_hour,
            active_defect_spikes,
            totals: self.counters.clone(),
        }
    }

    pub(crate) fn schedule(&mut self, at: i64, action: Action) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.agenda.push(Scheduled {
            at,
            sequence,
            action,
        });
    }

    /// A business duration (written for real days) scaled to this scenario, in whole
    /// milliseconds so every timestamp is exact at millisecond precision.
    pub(crate) fn business_duration(&self, hours: f64) -> i64 {
        milliseconds(hours * self.scenario.time_scale * NANOS_PER_HOUR as f64)
    }

    /// A business duration drawn uniformly between two lengths in hours, at least 1 ms so that
    /// whatever it schedules lies strictly after now.
    pub(crate) fn duration_between(&mut self, shortest_hours: f64, longest_hours: f64) -> i64 {
        let hours = self.rng.uniform(shortest_hours, longest_hours);
        self.business_duration(hours).max(NANOS_PER_MILLI)
    }

    pub(crate) fn exponential_duration(&mut self, mean_hours: f64) -> i64 {
        let hours = self.rng.exponential(mean_hours);
        self.business_duration(hours).max(NANOS_PER_MILLI)
    }

    pub(crate) fn emit(&mut self, at: i64, line: String, out: &mut Vec<String>) {
        self.counters.events += 1;
        match &mut self.dirt {
            Some(dirt) => dirt.emit(at, line, out),
            None => out.push(line),
        }
    }

    fn run_agenda(&mut self, until: i64, out: &mut Vec<String>) {
        while self.agenda.peek().is_some_and(|next| next.at <= until) {
            let Some(due) = self.agenda.pop() else { break };
            match due.action {
                Action::PickDone { warehouse } => self.finish_pick(warehouse, due.at),
                Action::FirstResponseDone => self.finish_first_response(due.at, out),
                Action::CancelRequest { order } => self.request_cancel(order, due.at, out),
                Action::OpenTicket(ticket) => self.open_ticket(ticket, due.at, out),
                Action::Emit(fact) => {
                    if let Fact::Delivered { on_time, .. } = fact {
                        self.counters.deliveries += 1;
                        self.counters.on_time_deliveries += u64::from(on_time);
                    }
                    let line = self.write_fact(due.at, &fact);
                    self.emit(due.at, line, out);
                }
            }
        }
    }

    fn place_order(&mut self, at: i64, paused: &[bool], out: &mut Vec<String>) {
        let region = self.rng.weighted(&REGIONS.map(|region| region.share));
        let channel = self.rng.weighted(&CHANNELS.map(|channel| channel.share));
        let line_count = self.rng.weighted(&LINE_COUNT_WEIGHTS) + 1;
        let mut lines: Vec<OrderLine> = Vec::with_capacity(line_count);
        for _ in 0..line_count {
            let sku = self.draw_sku();
            let quantity = self.rng.weighted(&QUANTITY_WEIGHTS) as u32 + 1;
            // A customer who wanted a paused SKU buys the rest of the basket, if any.
            if paused[sku] || lines.iter().any(|line| line.sku == sku) {
                continue;
            }
            lines.push(OrderLine { sku, quantity });
        }
        if lines.is_empty() {
            self.counters.orders_lost_to_pauses += 1;
            return;
        }
        let number = self.next_order;
        self.next_order += 1;
        self.counters.orders_placed += 1;
        let promised_by = at + self.business_duration(REGIONS[region].promise_hours);
        let cancel_at = if self.rng.chance(self.scenario.cancel_request_share) {
            Some(at + self.exponential_duration(2.0))
        } else {
            None
        };
        let order = QueuedOrder {
            number,
            region,
            channel,
            promised_by,
            cancel_at,
            lines,
        };
        let line = self.write_placed(at, &order);
        self.emit(at, line, out);
        if let Some(cancel_at) = cancel_at {
            self.schedule(cancel_at, Action::CancelRequest { order: number });
        }
        if self.rng.chance(self.scenario.ticket_share) {
            let opens_at = at + self.duration_between(0.1, 48.0);
            self.routine_ticket(opens_at, number);
        }
        self.enqueue_order(order, at);
    }

    fn draw_sku(&mut self) -> usize {
        let total = self.popularity_sums.last().copied().unwrap_or(0.0);
        let target = self.rng.unit() * total;
        self.popularity_sums
            .partition_point(|&sum| sum <= target)
            .min(self.catalog.len() - 1)
    }

    fn demand_per_hour(&self, at: i64) -> f64 {
        let since_start = at - self.start;
        let day = since_start.div_euclid(NANOS_PER_DAY) as u64;
        let draw = (splitmix64(self.seed ^ splitmix64(day)) >> 11) as f64 / (1u64 << 53) as f64;
        let day_factor = 1.0 + self.scenario.day_to_day_variation * (2.0 * draw - 1.0);
        let hour_of_day = at.rem_euclid(NANOS_PER_DAY) as f64 / NANOS_PER_HOUR as f64;
        self.scenario.demand_per_hour(
            since_start as f64 / NANOS_PER_HOUR as f64,
            hour_of_day,
            day_factor,
        )
    }

    /// Draws the arrivals of the minute after `arrivals_until` at that minute's rate. Whole
    /// minutes (not the span up to `until`) keep the draws, and so the events, independent of
    /// how a run is cut into `advance` calls; the price is that a new throttle takes effect
    /// from the next simulated minute.
    fn draw_next_minute_of_arrivals(&mut self) {
        let minute_start = self.arrivals_until;
        let minute_end = minute_start + NANOS_PER_MINUTE;
        self.arrivals_until = minute_end;
        let per_nano = self.demand_per_hour(minute_start) * self.demand_share / NANOS_PER_HOUR as f64;
        if per_nano <= 0.0 {
            return;
        }
        // Exponential gaps, accumulated in floating point so rounding does not drift; the
        // overshoot past the minute is dropped, which is exact because gaps are memoryless.
        let mut offset = 0.0;
        loop {
            offset += self.rng.exponential(1.0 / per_nano);
            if offset >= NANOS_PER_MINUTE as f64 {
                return;
            }
            let arrival = round_up_to_milli(minute_start + offset as i64).clamp(minute_start + 1, minute_end);
            self.arrivals.push_back(arrival);
        }
    }
}

/// Nanoseconds (as a float) rounded to whole milliseconds.
pub(crate) fn milliseconds(nanos: f64) -> i64 {
    (nanos / NANOS_PER_MILLI as f64).round() as i64 * NANOS_PER_MILLI
}

fn round_up_to_milli(nanos: i64) -> i64 {
    let rest = nanos.rem_euclid(NANOS_PER_MILLI);
    if rest == 0 {
        nanos
    } else {
        nanos - rest + NANOS_PER_MILLI
    }
}
