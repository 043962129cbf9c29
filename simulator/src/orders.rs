//! Demand and order placement: how many orders arrive, and what is in them.
//!
//! Orders arrive as a Poisson process whose rate is held constant for each simulated minute
//! of the run (drawn a minute at a time; exact for piecewise-constant rates, because the
//! exponential gap is memoryless).

use crate::business::{
    Action, Business, NANOS_PER_DAY, NANOS_PER_HOUR, NANOS_PER_MILLI, NANOS_PER_MINUTE,
};
use crate::catalog::{CHANNELS, LINE_COUNT_WEIGHTS, QUANTITY_WEIGHTS, REGIONS};
use crate::fulfillment::{OrderLine, QueuedOrder};
use crate::rng::splitmix64;

impl Business {
    pub(crate) fn place_order(&mut self, at: i64, paused: &[bool], out: &mut Vec<String>) {
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

    pub(crate) fn demand_per_hour(&self, at: i64) -> f64 {
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
    pub(crate) fn draw_next_minute_of_arrivals(&mut self) {
        let minute_start = self.arrivals_until;
        let minute_end = minute_start + NANOS_PER_MINUTE;
        self.arrivals_until = minute_end;
        let per_nano =
            self.demand_per_hour(minute_start) * self.demand_share / NANOS_PER_HOUR as f64;
        // A non-finite rate (NaN or infinite knobs) would never leave the loop below.
        if !per_nano.is_finite() || per_nano <= 0.0 {
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
            let arrival = round_up_to_milli(minute_start + offset as i64)
                .clamp(minute_start + NANOS_PER_MILLI, minute_end);
            self.arrivals.push_back(arrival);
        }
    }
}

fn round_up_to_milli(nanos: i64) -> i64 {
    let rest = nanos.rem_euclid(NANOS_PER_MILLI);
    if rest == 0 {
        nanos
    } else {
        nanos - rest + NANOS_PER_MILLI
    }
}
