//! The knobs of a simulated business and the two stories the project tells with them.

use crate::catalog::SPIKE_SKU;

const HOURS_PER_DAY: f64 = 24.0;

/// For a limited time, one SKU's units turn out defective far more often (a bad batch).
#[derive(Clone, Debug, PartialEq)]
pub struct DefectSpike {
    pub sku: String,
    /// Start, in simulated hours since the business started; applies to units shipped from then.
    pub from_hours: f64,
    /// End (exclusive), in simulated hours since the start.
    pub until_hours: f64,
    /// Chance that one unit shipped in the spike is reported defective (replaces the SKU's base).
    pub probability: f64,
}

/// Everything that shapes a run, apart from the seed, the start instant and the controls.
///
/// Durations of the business itself (delivery promises, pick-to-ship handling, transit,
/// follow-up delays such as refunds, ticket resolution) are written for real days and then
/// multiplied by `time_scale`; queue waits are not scaled, because they come from capacities
/// in orders or tickets per simulated hour.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Orders per hour at the start, before growth, daily pattern and throttle. Realistic:
    /// 1250/h: about 50k events on the first day (nothing is delivered for the first ~20 hours)
    /// and about 100k a day once deliveries flow, growing with demand.
    pub base_orders_per_hour: f64,
    /// Compound demand growth per simulated day (0.05 = +5% a day), applied continuously.
    pub growth_per_day: f64,
    /// Growth stops at this multiple of the base rate (`f64::INFINITY`: never).
    pub max_growth: f64,
    /// Daily cycle: demand × (1 + a·sin), peaking at 20:00 UTC and lowest at 08:00 UTC.
    pub daily_amplitude: f64,
    /// Each simulated day's demand is multiplied by a factor drawn in 1 ± this, from the seed,
    /// so some days saturate a warehouse and others do not.
    pub day_to_day_variation: f64,
    /// Share of demand the acquisition throttle cannot touch (returning customers). 0 makes
    /// the rate exactly `demand × (1 − throttle)`.
    pub unthrottled_share: f64,
    /// Orders each warehouse can pick per hour, in the order of [`crate::WAREHOUSES`]
    /// (`wh-east` serves us-east; `wh-central` us-central and us-south; `wh-west` us-west).
    /// Orders queue first come first served; waiting grows with the queue.
    pub warehouse_capacity_per_hour: [f64; 3],
    /// Tickets support can give a first response per hour; urgent tickets are served first.
    pub support_capacity_per_hour: f64,
    /// Multiplier on every business duration (1.0 = promises of 42 to 50 hours and
    /// transit of about a day; the demo compresses days into minutes).
    pub time_scale: f64,
    /// Share of orders whose customer asks to cancel; the cancellation only happens if the
    /// order has not shipped by then, so somewhat fewer orders end up cancelled.
    pub cancel_request_share: f64,
    /// Share of delivered orders refunded for no defect; on top of this, 60% of orders with a
    /// reported defect are refunded for the defective units.
    pub refund_share: f64,
    /// Share of delivered orders that end in a chargeback (scaled per channel).
    pub chargeback_share: f64,
    /// Share of orders whose customer opens a routine ticket; late orders, defects, refunds and
    /// chargebacks open more tickets on top.
    pub ticket_share: f64,
    pub defect_spikes: Vec<DefectSpike>,
    /// Pipeline-test mode: about 0.5% of lines repeated exactly, 2% emitted up to two minutes
    /// late (out of order), 0.1% preceded by a malformed copy with the same event_id. Drawn
    /// from a separate generator, so the clean events are exactly those of `dirty: false`.
    pub dirty: bool,
}

impl Scenario {
    /// The business `tripgate simulate` replays: +5% demand a day (up to 4x), `wh-west` saturating on
    /// busy evenings from the first days and for good after about a week, support falling
    /// behind at peaks after a few days, and every fourth day a defect spike on one SKU.
    pub fn realistic(days: u32) -> Scenario {
        let defect_spikes = (0..days)
            .filter(|day| day % 4 == 2)
            .map(|day| DefectSpike {
                // Walks through the catalog so different spikes hit different SKUs.
                sku: format!("SKU-{:03}", (day * 7) % 40 + 1),
                from_hours: f64::from(day) * HOURS_PER_DAY + 6.0,
                until_hours: f64::from(day) * HOURS_PER_DAY + 18.0,
                probability: 0.08,
            })
            .collect();
        Scenario {
            base_orders_per_hour: 1250.0,
            growth_per_day: 0.05,
            // Levels off after about four weeks, so long runs stay near 400k events a day.
            max_growth: 4.0,
            daily_amplitude: 0.5,
            day_to_day_variation: 0.15,
            unthrottled_share: 0.0,
            warehouse_capacity_per_hour: [1250.0, 1400.0, 410.0],
            support_capacity_per_hour: 160.0,
            time_scale: 1.0,
            cancel_request_share: 0.028,
            refund_share: 0.02,
            chargeback_share: 0.003,
            ticket_share: 0.05,
            defect_spikes,
            dirty: false,
        }
    }

    /// A two-minute demo story over a few simulated hours. Business days are compressed
    /// 72-fold (a 2-day promise becomes 40 minutes), so deliveries react within minutes.
    /// Demand starts at 600 orders/h and doubles every 30 minutes up to 1800/h (from 0:48):
    /// the warehouses (1090/h in all) saturate between about 0:22 and 0:28 (wh-west first),
    /// queues grow by ~700 orders an hour, and the hourly on-time rate falls below 95% at about
    /// 1:27 and below 80% at about 1:41 (seeds 1 to 6 and 42 agree within a few minutes).
    /// The late orders flood support with tickets, so first responses slip from about 2:00.
    /// Halving demand (throttle 0.5) brings every warehouse back under capacity, but the
    /// backlog drains slowly. `SKU-017` has a bad batch (25% of units defective) shipped
    /// from 0:30 to 1:45; its defect reports peak between 1:00 and 2:30.
    pub fn demo() -> Scenario {
        Scenario {
            base_orders_per_hour: 600.0,
            growth_per_day: growth_per_day_doubling_every(0.5),
            max_growth: 3.0,
            daily_amplitude: 0.0,
            day_to_day_variation: 0.0,
            unthrottled_share: 0.0,
            warehouse_capacity_per_hour: [400.0, 440.0, 250.0],
            support_capacity_per_hour: 150.0,
            time_scale: 1.0 / 72.0,
            cancel_request_share: 0.028,
            refund_share: 0.02,
            chargeback_share: 0.003,
            ticket_share: 0.05,
            defect_spikes: vec![DefectSpike {
                sku: SPIKE_SKU.to_string(),
                from_hours: 0.5,
                until_hours: 1.75,
                probability: 0.25,
            }],
            dirty: false,
        }
    }

    /// Demand per hour `hours` after the start, before the throttle; `day_factor` is the
    /// day-to-day draw for that day.
    pub(crate) fn demand_per_hour(&self, hours: f64, hour_of_day: f64, day_factor: f64) -> f64 {
        let growth = ((1.0 + self.growth_per_day).ln() * hours / HOURS_PER_DAY)
            .exp()
            .min(self.max_growth);
        let phase = (hour_of_day - 14.0) / HOURS_PER_DAY * std::f64::consts::TAU;
        let daily = 1.0 + self.daily_amplitude * phase.sin();
        (self.base_orders_per_hour * growth * daily * day_factor).max(0.0)
    }
}

/// The `growth_per_day` that doubles demand every `hours`, for scenarios whose growth is
/// easier to think of as a doubling time.
pub fn growth_per_day_doubling_every(hours: f64) -> f64 {
    2f64.powf(HOURS_PER_DAY / hours) - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realistic_grows_five_percent_a_day_and_peaks_in_the_evening() {
        let scenario = Scenario::realistic(3);
        let day0 = scenario.demand_per_hour(0.0, 14.0, 1.0);
        let day1 = scenario.demand_per_hour(24.0, 14.0, 1.0);
        assert!((day1 / day0 - 1.05).abs() < 1e-9);
        assert!(
            scenario.demand_per_hour(6.0, 20.0, 1.0)
                > scenario.demand_per_hour(18.0, 8.0, 1.0) * 2.5
        );
        assert_eq!(scenario.defect_spikes.len(), 1);
    }

    #[test]
    fn demo_doubles_every_30_minutes_up_to_its_ceiling() {
        let scenario = Scenario::demo();
        assert!((scenario.demand_per_hour(0.5, 3.0, 1.0) - 1200.0).abs() < 1e-6);
        assert!((scenario.demand_per_hour(5.0, 3.0, 1.0) - 1800.0).abs() < 1e-6);
    }
}
