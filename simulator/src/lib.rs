//! tripgate's business simulator: a seeded discrete-event simulation of a growing e-commerce
//! operation (orders, fulfillment, support) that writes contract events as JSON Lines.
//!
//! It exists so tripgate can be demonstrated and tested end to end without a real business:
//! warehouses and support have capacities, queues grow when demand exceeds them, and the
//! controls (`acquisition_throttle`, `paused_skus`, `extra_capacity`) are the levers tripgate's
//! actions pull, so a demo can close the loop.
//!
//! Same scenario, seed, start and controls: same lines, however the run is cut into
//! `advance` calls (clean mode; a throttle change takes effect from the next simulated minute).
//!
//! The model, in short: orders arrive as a Poisson process (daily cycle, compound growth,
//! minus the throttle), each served by its region's warehouse, which picks one order at a
//! time at its capacity, first come first served. Handling, transit (by carrier and region)
//! and the delivery promise (by region) are business durations scaled by
//! `Scenario::time_scale`; queue waits are not, so overload shows up as late deliveries.
//! Shipping an order decides its aftermath: defects (per SKU, with spikes), refunds,
//! chargebacks and tickets. Support answers tickets urgent-first at its own capacity.
//!
//! `cargo run --release -p tripgate-simulator --example story -- breaker` previews the demo
//! against a stand-in for the playbook's on-time rule; `--example throughput` measures volume
//! and speed.
#![forbid(unsafe_code)]

mod agenda;
mod business;
mod catalog;
mod dirt;
mod events;
mod format;
mod fulfillment;
mod orders;
mod rng;
mod scenario;
mod status;
mod support;

pub use business::{Business, Controls};
pub use catalog::{SKU_COUNT, SPIKE_SKU, WAREHOUSES};
pub use scenario::{growth_per_day_doubling_every, DefectSpike, Scenario};
pub use status::{BusinessStatus, Counters, WarehouseStatus};

use business::{NANOS_PER_DAY, NANOS_PER_HOUR};

/// The realistic scenario over `days` days from `start` (unix nanos), without controls.
///
/// Advanced an hour at a time, so only an hour of lines (plus the business's own pending
/// state) is held in memory however many days are asked for.
pub fn simulate(days: u32, seed: u64, start: i64) -> impl Iterator<Item = String> {
    let mut business = Business::new(Scenario::realistic(days), seed, start);
    let end = start.saturating_add(i64::from(days) * NANOS_PER_DAY);
    let controls = Controls::default();
    let mut clock = start;
    let mut batch = Vec::new().into_iter();
    std::iter::from_fn(move || loop {
        if let Some(line) = batch.next() {
            return Some(line);
        }
        if clock >= end {
            return None;
        }
        clock = clock.saturating_add(NANOS_PER_HOUR).min(end);
        batch = business.advance(clock, &controls).into_iter();
    })
}
