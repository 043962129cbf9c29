//! What `Business::status` reports, for printing the story as it unfolds.

use std::fmt;

/// Running totals since the business started.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counters {
    pub orders_placed: u64,
    /// Orders that did not happen because every SKU in the basket was paused.
    pub orders_lost_to_pauses: u64,
    pub orders_cancelled: u64,
    pub deliveries: u64,
    pub on_time_deliveries: u64,
    pub tickets_opened: u64,
    /// Events produced (before dirty-mode duplicates and malformed copies).
    pub events: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WarehouseStatus {
    pub name: String,
    /// Orders waiting to be picked (including the one being picked).
    pub backlog: usize,
    /// Capacity after `Controls::extra_capacity`.
    pub capacity_per_hour: f64,
    /// The share of the current (throttled) demand this warehouse serves.
    pub demand_per_hour: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BusinessStatus {
    /// The instant the simulation has reached (unix nanos).
    pub at: i64,
    pub hours_since_start: f64,
    /// Demand before the acquisition throttle.
    pub demand_per_hour: f64,
    /// Demand after the throttle of the latest `advance`.
    pub effective_demand_per_hour: f64,
    pub warehouses: Vec<WarehouseStatus>,
    /// Tickets waiting for a first response.
    pub support_waiting: usize,
    pub support_capacity_per_hour: f64,
    /// SKUs whose defect spike is on now.
    pub active_defect_spikes: Vec<String>,
    pub totals: Counters,
}

impl fmt::Display for BusinessStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "t+{:.2}h demand {:.0}/h (after throttle {:.0}/h)",
            self.hours_since_start, self.demand_per_hour, self.effective_demand_per_hour
        )?;
        for warehouse in &self.warehouses {
            write!(
                formatter,
                " | {} {:.0}/{:.0} per h, {} queued",
                warehouse.name,
                warehouse.demand_per_hour,
                warehouse.capacity_per_hour,
                warehouse.backlog
            )?;
        }
        write!(formatter, " | support {} waiting", self.support_waiting)?;
        if self.totals.deliveries > 0 {
            let on_time = self.totals.on_time_deliveries as f64 / self.totals.deliveries as f64;
            write!(formatter, " | on time so far {:.1}%", on_time * 100.0)?;
        }
        if !self.active_defect_spikes.is_empty() {
            write!(
                formatter,
                " | defect spike: {}",
                self.active_defect_spikes.join(", ")
            )?;
        }
        Ok(())
    }
}
