//! Warehouses: a first-come-first-served pick queue per warehouse, then handling, transit and
//! everything a delivery leads to (defects, refunds, chargebacks, tickets).
//!
//! Each warehouse picks one order at a time at its capacity rate, so when demand exceeds
//! capacity the queue, and with it the placed-to-shipped time, grows without bound; that is
//! the load-dependent delay that pulls on-time delivery down.

use std::collections::VecDeque;

use crate::business::{Action, Business, Fact, NANOS_PER_HOUR, NANOS_PER_MILLI};
use crate::catalog::{BILLING, CARRIERS, CHANNELS, DEFECT_REASONS, PRODUCT, REGIONS, SHIPPING};
use crate::support::Loudness;

pub(crate) struct OrderLine {
    pub(crate) sku: usize,
    pub(crate) quantity: u32,
}

/// An order from placement until it is picked.
pub(crate) struct QueuedOrder {
    pub(crate) number: u64,
    pub(crate) region: usize,
    pub(crate) channel: usize,
    pub(crate) promised_by: i64,
    /// When the customer will ask to cancel, for the few who will.
    pub(crate) cancel_at: Option<i64>,
    pub(crate) lines: Vec<OrderLine>,
}

#[derive(Default)]
pub(crate) struct WarehouseState {
    /// Orders waiting; the front one is being picked while `picking`.
    pub(crate) queue: VecDeque<QueuedOrder>,
    pub(crate) picking: bool,
}

/// Where a cancellation request stands: decided when the request or the pick comes first.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum CancelState {
    /// Requested before the pick: the warehouse drops the order when it reaches it.
    Cancelled,
    /// Picked, but the request will come before the parcel leaves: it never ships.
    BeforeShipping,
    /// Picked and shipping before the request: the request is refused.
    TooLate,
}

impl Business {
    pub(crate) fn enqueue_order(&mut self, order: QueuedOrder, at: i64) {
        let warehouse = REGIONS[order.region].warehouse;
        self.warehouses[warehouse].queue.push_back(order);
        if !self.warehouses[warehouse].picking {
            self.start_pick(warehouse, at);
        }
    }

    fn start_pick(&mut self, warehouse: usize, at: i64) {
        // Orders cancelled while waiting are dropped without using pick capacity.
        while let Some(front) = self.warehouses[warehouse].queue.front() {
            if self.cancellations.get(&front.number) != Some(&CancelState::Cancelled) {
                break;
            }
            let number = front.number;
            self.cancellations.remove(&number);
            self.warehouses[warehouse].queue.pop_front();
        }
        if self.warehouses[warehouse].queue.is_empty() {
            self.warehouses[warehouse].picking = false;
            return;
        }
        self.warehouses[warehouse].picking = true;
        let per_hour =
            self.scenario.warehouse_capacity_per_hour[warehouse] * self.capacity_multiplier;
        let mean_nanos = NANOS_PER_HOUR as f64 / per_hour.max(1e-3);
        // Jitter keeps picks from ticking like a clock while keeping the mean at capacity.
        let nanos = crate::business::milliseconds(mean_nanos * self.rng.uniform(0.5, 1.5))
            .max(NANOS_PER_MILLI);
        self.schedule(at + nanos, Action::PickDone { warehouse });
    }

    pub(crate) fn finish_pick(&mut self, warehouse: usize, at: i64) {
        if let Some(order) = self.warehouses[warehouse].queue.pop_front() {
            self.ship(order, at);
        }
        self.start_pick(warehouse, at);
    }

    pub(crate) fn request_cancel(&mut self, order: u64, at: i64, out: &mut Vec<String>) {
        match self.cancellations.remove(&order) {
            None => {
                self.cancellations.insert(order, CancelState::Cancelled);
                self.write_cancelled_and_emit(order, at, out);
            }
            Some(CancelState::BeforeShipping) => self.write_cancelled_and_emit(order, at, out),
            Some(CancelState::TooLate) | Some(CancelState::Cancelled) => {}
        }
    }

    fn write_cancelled_and_emit(&mut self, order: u64, at: i64, out: &mut Vec<String>) {
        self.counters.orders_cancelled += 1;
        let line = self.write_cancelled(at, order);
        self.emit(at, line, out);
    }

    fn ship(&mut self, order: QueuedOrder, picked_at: i64) {
        let shipped_at = picked_at + self.duration_between(1.0, 4.0);
        if let Some(cancel_at) = order.cancel_at {
            match self.cancellations.remove(&order.number) {
                Some(CancelState::Cancelled) => return,
                _ if cancel_at < shipped_at => {
                    self.cancellations
                        .insert(order.number, CancelState::BeforeShipping);
                    return;
                }
                _ => {
                    self.cancellations
                        .insert(order.number, CancelState::TooLate);
                }
            }
        }
        let region = &REGIONS[order.region];
        let carrier = self.rng.weighted(&CARRIERS.map(|carrier| carrier.share));
        let mut transit_hours = (CARRIERS[carrier].transit_hours + region.transit_extra_hours)
            * self.rng.uniform(0.9, 1.15);
        // Carrier exceptions (lost scans, missed connections) give even a healthy business a
        // tail of late deliveries.
        if self.rng.chance(0.03) {
            transit_hours += self.rng.uniform(12.0, 48.0);
        }
        let delivered_at = shipped_at + self.business_duration(transit_hours).max(NANOS_PER_MILLI);
        let on_time = delivered_at <= order.promised_by;
        self.schedule(
            shipped_at,
            Action::Emit(Fact::Shipped {
                order: order.number,
                carrier,
            }),
        );
        self.schedule(
            delivered_at,
            Action::Emit(Fact::Delivered {
                order: order.number,
                on_time,
            }),
        );
        self.schedule_aftermath(&order, shipped_at, delivered_at, on_time, picked_at);
    }

    /// Defects, refunds, chargebacks and complaints, decided when the order ships: the
    /// order's lines are at hand then, so nothing about it has to be kept until delivery.
    fn schedule_aftermath(
        &mut self,
        order: &QueuedOrder,
        shipped_at: i64,
        delivered_at: i64,
        on_time: bool,
        now: i64,
    ) {
        let mut defective_cents = 0;
        for line in &order.lines {
            let probability = self.defect_probability(line.sku, shipped_at);
            let defective = (0..line.quantity)
                .filter(|_| self.rng.chance(probability))
                .count() as u32;
            if defective == 0 {
                continue;
            }
            defective_cents += i64::from(defective) * self.catalog[line.sku].price_cents;
            let reason = self.rng.below(DEFECT_REASONS.len());
            let reported_at = delivered_at + self.duration_between(0.5, 24.0);
            let fact = Fact::Defect {
                order: order.number,
                sku: line.sku,
                quantity: defective,
                reason,
            };
            self.schedule(reported_at, Action::Emit(fact));
            if self.rng.chance(0.5) {
                let opens_at = reported_at + self.duration_between(0.0, 2.0);
                self.caused_ticket(opens_at, PRODUCT, Loudness::Routine, order.number);
            }
        }

        let channel = &CHANNELS[order.channel];
        let total_cents: i64 = order
            .lines
            .iter()
            .map(|line| i64::from(line.quantity) * self.catalog[line.sku].price_cents)
            .sum();
        let refund = if defective_cents > 0 && self.rng.chance(0.6) {
            Some((defective_cents, self.rng.uniform(12.0, 168.0)))
        } else if self
            .rng
            .chance(self.scenario.refund_share * channel.refund_factor)
        {
            // Half return everything; the others one line.
            let line = &order.lines[self.rng.below(order.lines.len())];
            let cents = if self.rng.chance(0.5) {
                total_cents
            } else {
                i64::from(line.quantity) * self.catalog[line.sku].price_cents
            };
            Some((cents, self.rng.uniform(24.0, 240.0)))
        } else {
            None
        };
        if let Some((cents, after_hours)) = refund {
            let refunded_at = delivered_at + self.business_duration(after_hours);
            self.schedule(
                refunded_at,
                Action::Emit(Fact::Refund {
                    order: order.number,
                    cents,
                }),
            );
            if self.rng.chance(0.2) {
                self.caused_ticket(
                    refunded_at + self.business_duration(1.0),
                    BILLING,
                    Loudness::Routine,
                    order.number,
                );
            }
        }
        if self
            .rng
            .chance(self.scenario.chargeback_share * channel.chargeback_factor)
        {
            let charged_back_at = delivered_at + self.duration_between(120.0, 600.0);
            let fact = Fact::Chargeback {
                order: order.number,
                cents: total_cents,
            };
            self.schedule(charged_back_at, Action::Emit(fact));
            if self.rng.chance(0.5) {
                let opens_at = charged_back_at + self.duration_between(0.0, 24.0);
                self.caused_ticket(opens_at, BILLING, Loudness::Escalated, order.number);
            }
        }
        // Customers whose parcel is overdue ask where it is.
        if !on_time && self.rng.chance(0.3) {
            let opens_at = order.promised_by.max(now) + self.duration_between(0.25, 4.0);
            self.caused_ticket(
                opens_at.max(now + NANOS_PER_MILLI),
                SHIPPING,
                Loudness::Escalated,
                order.number,
            );
        }
    }

    fn defect_probability(&self, sku: usize, shipped_at: i64) -> f64 {
        self.spikes
            .iter()
            .find(|spike| spike.sku == sku && spike.from <= shipped_at && shipped_at < spike.until)
            .map_or(self.catalog[sku].defect_probability, |spike| {
                spike.probability
            })
    }
}
