//! The discrete-event core: the public API and the loop that interleaves order arrivals
//! (see `orders`) with the agenda of everything else (picks, shipments, deliveries,
//! follow-ups, tickets), in time order, so a seed always yields the same events in the same
//! order.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::agenda::Agenda;
use crate::catalog::{build_catalog, Sku, REGIONS, WAREHOUSES};
use crate::dirt::Dirt;
use crate::fulfillment::{CancelState, WarehouseState};
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
    /// Share of new demand removed, 0.0 to 1.0 (values outside are clamped, NaN is 0). Order
    /// arrivals are drawn a simulated minute at a time (counted from the start), so a change
    /// takes effect from the next such minute.
    pub acquisition_throttle: f64,
    /// SKUs that get no new order lines, from the next order on; an order whose every line is
    /// paused is lost. Unknown names are ignored.
    pub paused_skus: BTreeSet<String>,
    /// Multiplier on every warehouse's capacity (1.0 = none; values below 0.01 count as 0.01),
    /// from the next pick on, so it also speeds up the orders already queued.
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
    pub(crate) seed: u64,
    pub(crate) catalog: Vec<Sku>,
    /// Running sums of SKU popularity, for drawing a SKU by binary search.
    pub(crate) popularity_sums: Vec<f64>,
    pub(crate) spikes: Vec<ActiveSpike>,
    pub(crate) start: i64,
    /// Events up to this instant have been returned.
    pub(crate) now: i64,
    pub(crate) agenda: Agenda<Action>,
    /// Order arrivals drawn but not yet placed, all before `arrivals_until`.
    pub(crate) arrivals: VecDeque<i64>,
    /// End of the last simulated minute whose arrivals have been drawn.
    pub(crate) arrivals_until: i64,
    pub(crate) next_event: u64,
    pub(crate) next_order: u64,
    pub(crate) next_ticket: u64,
    pub(crate) warehouses: [WarehouseState; 3],
    pub(crate) support: SupportState,
    /// Orders with a pending or decided cancellation request (a few percent of orders).
    pub(crate) cancellations: HashMap<u64, CancelState>,
    /// From the controls of the current `advance`; read when a pick starts.
    pub(crate) capacity_multiplier: f64,
    /// Share of demand that survives the throttle, from the latest controls.
    pub(crate) demand_share: f64,
    pub(crate) dirt: Option<Dirt>,
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
            agenda: Agenda::new(start),
            arrivals: VecDeque::new(),
            arrivals_until: start,
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
        let throttle = if controls.acquisition_throttle.is_nan() {
            0.0
        } else {
            controls.acquisition_throttle.clamp(0.0, 1.0)
        };
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
            // Whatever is due by the end of the minute happens before the next minute is drawn,
            // as it would if the caller had stopped there: the generator is shared.
            self.run_agenda(self.arrivals_until, &mut out);
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
        self.agenda.push(at, action);
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
        while let Some((at, action)) = self.agenda.pop_due(until) {
            match action {
                Action::PickDone { warehouse } => self.finish_pick(warehouse, at),
                Action::FirstResponseDone => self.finish_first_response(at, out),
                Action::CancelRequest { order } => self.request_cancel(order, at, out),
                Action::OpenTicket(ticket) => self.open_ticket(ticket, at, out),
                Action::Emit(fact) => {
                    if let Fact::Delivered { on_time, .. } = fact {
                        self.counters.deliveries += 1;
                        self.counters.on_time_deliveries += u64::from(on_time);
                    }
                    let line = self.write_fact(at, &fact);
                    self.emit(at, line, out);
                }
            }
        }
    }
}

/// Nanoseconds (as a float) rounded to whole milliseconds.
pub(crate) fn milliseconds(nanos: f64) -> i64 {
    (nanos / NANOS_PER_MILLI as f64).round() as i64 * NANOS_PER_MILLI
}
