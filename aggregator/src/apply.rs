//! How each event type changes the joins and the KPIs (contract sections 4
//! and 5). Called in event-time order, after expiry up to the event's time.

use smallvec::SmallVec;
use tripgate_model::{Event, EventBody, Kpi, Nanos};

use crate::engine::State;
use crate::entities::{Name, Order, Ticket};
use crate::kpis::{Delta, KpiState, ScopeKeys};

const ONE: Delta = Delta::Ratio {
    numerator: 1,
    samples: 0,
};
const SAMPLE: Delta = Delta::Ratio {
    numerator: 0,
    samples: 1,
};

pub(crate) fn apply(state: &mut State, event: &Event) {
    let at = event.occurred_at;
    let State {
        orders,
        tickets,
        kpis,
        counters,
        names,
    } = state;
    match &event.body {
        EventBody::OrderPlaced {
            order_id,
            channel,
            region,
            warehouse,
            promised_by,
            lines,
        } => {
            if orders.contains(order_id) {
                counters.semantic_duplicates += 1;
                return;
            }
            let margin: i128 = lines
                .iter()
                .map(|line| i128::from(line.quantity) * (line.unit_price.0 - line.unit_cost.0))
                .sum();
            let mut units: SmallVec<[(Name, u32); 1]> = SmallVec::with_capacity(lines.len());
            for line in lines {
                match units.iter_mut().find(|(sku, _)| **sku == *line.sku) {
                    Some((_, held)) => *held += line.quantity,
                    None => units.push((names.share(&line.sku), line.quantity)),
                }
            }
            let order = Order {
                placed_at: at,
                promised_by: *promised_by,
                channel: names.share(channel),
                region: names.share(region),
                warehouse: names.share(warehouse),
                total_units: units.iter().map(|(_, n)| n).sum(),
                units,
                carrier: None,
                shipped: false,
                delivered: false,
                cancelled: false,
                in_backlog: true,
            };
            let sales = sales_keys(&order);
            kpis.contribute(
                Kpi::ContributionMargin,
                at,
                &sales,
                Delta::Ratio {
                    numerator: margin,
                    samples: 1,
                },
            );
            kpis.contribute(Kpi::OrderRate, at, &sales, SAMPLE);
            kpis.contribute(
                Kpi::FulfillmentBacklog,
                at,
                &backlog_keys(&order),
                Delta::Gauge(1),
            );
            orders.insert(order_id, at, order);
        }
        EventBody::OrderCancelled { order_id } => match orders.get_mut(order_id) {
            None => counters.unmatched += 1,
            Some(order) if order.cancelled => counters.semantic_duplicates += 1,
            Some(order) => {
                order.cancelled = true;
                leave_backlog(kpis, at, order);
            }
        },
        EventBody::OrderRefunded { order_id, .. } => claim(
            kpis,
            orders.get_mut(order_id),
            at,
            Kpi::RefundRate,
            counters,
        ),
        EventBody::OrderChargeback { order_id, .. } => claim(
            kpis,
            orders.get_mut(order_id),
            at,
            Kpi::ChargebackRate,
            counters,
        ),
        EventBody::Shipped { order_id, carrier } => match orders.get_mut(order_id) {
            None => counters.unmatched += 1,
            Some(order) if order.shipped => counters.semantic_duplicates += 1,
            Some(order) => {
                order.shipped = true;
                order.carrier = Some(names.share(carrier));
                leave_backlog(kpis, at, order);
            }
        },
        EventBody::Delivered { order_id } => match orders.get_mut(order_id) {
            None => counters.unmatched += 1,
            Some(order) if order.delivered => counters.semantic_duplicates += 1,
            Some(order) => {
                order.delivered = true;
                leave_backlog(kpis, at, order);
                deliver(kpis, at, order);
            }
        },
        EventBody::DefectReported {
            order_id,
            sku,
            quantity,
            ..
        } => {
            let defects = Delta::Ratio {
                numerator: i128::from(*quantity),
                samples: 0,
            };
            // An unmatched defect still counts for global and sku (section 5).
            let warehouse = match orders.get_mut(order_id) {
                Some(order) => Some(&*order.warehouse),
                None => {
                    counters.unmatched += 1;
                    None
                }
            };
            let keys = ScopeKeys {
                global: true,
                sku: Some(sku),
                warehouse,
                ..ScopeKeys::default()
            };
            kpis.contribute(Kpi::DefectRate, at, &keys, defects);
        }
        EventBody::TicketOpened {
            ticket_id,
            category,
            priority,
            ..
        } => {
            if tickets.contains(ticket_id) {
                counters.semantic_duplicates += 1;
                return;
            }
            let ticket = Ticket {
                opened_at: at,
                category: names.share(category),
                priority: *priority,
                responded: false,
                resolved: false,
            };
            kpis.contribute(
                Kpi::SupportQueue,
                at,
                &ticket_keys(&ticket),
                Delta::Gauge(1),
            );
            tickets.insert(ticket_id, at, ticket);
        }
        EventBody::TicketFirstResponse { ticket_id } => match tickets.get_mut(ticket_id) {
            None => counters.unmatched += 1,
            Some(ticket) if ticket.responded => counters.semantic_duplicates += 1,
            Some(ticket) => {
                ticket.responded = true;
                kpis.contribute(
                    Kpi::FirstResponseTime,
                    at,
                    &ticket_keys(ticket),
                    Delta::Sample(at - ticket.opened_at),
                );
            }
        },
        EventBody::TicketResolved { ticket_id } => match tickets.get_mut(ticket_id) {
            None => counters.unmatched += 1,
            Some(ticket) if ticket.resolved => counters.semantic_duplicates += 1,
            Some(ticket) => {
                ticket.resolved = true;
                kpis.contribute(
                    Kpi::SupportQueue,
                    at,
                    &ticket_keys(ticket),
                    Delta::Gauge(-1),
                );
            }
        },
    }
}

/// A refund or chargeback: matched ones count per channel and region too.
fn claim(
    kpis: &mut KpiState,
    order: Option<&mut Order>,
    at: Nanos,
    kpi: Kpi,
    counters: &mut crate::engine::Counters,
) {
    let keys = match order {
        Some(order) => sales_keys(order),
        None => {
            counters.unmatched += 1;
            ScopeKeys {
                global: true,
                ..ScopeKeys::default()
            }
        }
    };
    kpis.contribute(kpi, at, &keys, ONE);
}

fn deliver(kpis: &mut KpiState, at: Nanos, order: &Order) {
    let keys = ScopeKeys {
        global: true,
        warehouse: Some(&*order.warehouse),
        region: Some(&*order.region),
        channel: Some(&*order.channel),
        carrier: order.carrier.as_deref(),
        ..ScopeKeys::default()
    };
    kpis.contribute(
        Kpi::CycleTime,
        at,
        &keys,
        Delta::Sample(at - order.placed_at),
    );
    let on_time = i128::from(at <= order.promised_by);
    kpis.contribute(
        Kpi::OnTimeRate,
        at,
        &keys,
        Delta::Ratio {
            numerator: on_time,
            samples: 1,
        },
    );
    let units = ScopeKeys {
        global: true,
        warehouse: Some(&*order.warehouse),
        ..ScopeKeys::default()
    };
    kpis.contribute(
        Kpi::DefectRate,
        at,
        &units,
        Delta::Ratio {
            numerator: 0,
            samples: u64::from(order.total_units),
        },
    );
    for (sku, count) in &order.units {
        let keys = ScopeKeys {
            sku: Some(sku),
            ..ScopeKeys::default()
        };
        kpis.contribute(
            Kpi::DefectRate,
            at,
            &keys,
            Delta::Ratio {
                numerator: 0,
                samples: u64::from(*count),
            },
        );
    }
    let sales = sales_keys(order);
    kpis.contribute(Kpi::RefundRate, at, &sales, SAMPLE);
    kpis.contribute(Kpi::ChargebackRate, at, &sales, SAMPLE);
}

fn leave_backlog(kpis: &mut KpiState, at: Nanos, order: &mut Order) {
    if order.in_backlog {
        order.in_backlog = false;
        kpis.contribute(
            Kpi::FulfillmentBacklog,
            at,
            &backlog_keys(order),
            Delta::Gauge(-1),
        );
    }
}

pub(crate) fn forget_order(kpis: &mut KpiState, now: Nanos, order: &Order) {
    if order.in_backlog {
        kpis.contribute(
            Kpi::FulfillmentBacklog,
            now,
            &backlog_keys(order),
            Delta::Gauge(-1),
        );
    }
}

pub(crate) fn forget_ticket(kpis: &mut KpiState, now: Nanos, ticket: &Ticket) {
    if !ticket.resolved {
        kpis.contribute(
            Kpi::SupportQueue,
            now,
            &ticket_keys(ticket),
            Delta::Gauge(-1),
        );
    }
}

fn sales_keys(order: &Order) -> ScopeKeys<'_> {
    ScopeKeys {
        global: true,
        channel: Some(&*order.channel),
        region: Some(&*order.region),
        ..ScopeKeys::default()
    }
}

fn backlog_keys(order: &Order) -> ScopeKeys<'_> {
    ScopeKeys {
        global: true,
        warehouse: Some(&*order.warehouse),
        ..ScopeKeys::default()
    }
}

fn ticket_keys(ticket: &Ticket) -> ScopeKeys<'_> {
    ScopeKeys {
        global: true,
        category: Some(&*ticket.category),
        priority: Some(ticket.priority.as_str()),
        ..ScopeKeys::default()
    }
}
