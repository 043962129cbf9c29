//! A deliberately naive reading of contract sections 3 to 5 and 9: replay the
//! events one by one in event-time order into a list of what each one
//! counted for, then answer every (tick, window) by scanning that whole list.
//! Slow on purpose; nothing here shares code with the aggregator.

use std::collections::{BTreeMap, HashMap};

use tripgate_model::snapshot::WindowSpec;
use tripgate_model::time::NANOS_PER_SECOND;
use tripgate_model::{Event, EventBody, Kpi, KpiKind, Line, Money, Nanos, ScopeDim};

pub const OTHER: &str = "__other__";
const ALL: &str = "all";

/// What one applied event adds to one (KPI, scope, key).
#[derive(Clone, Debug)]
enum Amount {
    Ratio {
        numerator: i128,
        samples: u64,
    },
    Sample(Nanos),
    /// A gauge's first contribution; its value comes from the lifetimes.
    GaugeStart,
}

/// One applied event and everything it counts for.
#[derive(Clone, Debug)]
struct Fact {
    at: Nanos,
    counts: Vec<(Kpi, ScopeDim, String, Amount)>,
}

/// An order as the join knows it.
#[derive(Clone, Debug)]
struct Order {
    placed_at: Nanos,
    promised_by: Nanos,
    channel: String,
    region: String,
    warehouse: String,
    lines: Vec<Line>,
    carrier: Option<String>,
    shipped: bool,
    delivered: bool,
    cancelled: bool,
    /// First shipped, delivered or cancelled.
    left_backlog_at: Option<Nanos>,
}

#[derive(Clone, Debug)]
struct Ticket {
    opened_at: Nanos,
    category: String,
    priority: &'static str,
    responded: bool,
    resolved_at: Option<Nanos>,
}

/// The replayed history and the counts the aggregator should report.
pub struct Reference {
    ttl: Nanos,
    max_keys: usize,
    facts: Vec<Fact>,
    orders: Vec<Order>,
    tickets: Vec<Ticket>,
    /// Keys per (KPI, scope) in order of first contribution in event time.
    first_seen: HashMap<(Kpi, ScopeDim), Vec<String>>,
    pub semantic_duplicates: u64,
    pub unmatched: u64,
    pub earliest: Option<Nanos>,
    pub latest: Option<Nanos>,
}

/// The expected value of one key.
#[derive(Clone, Debug, PartialEq)]
pub enum Expected {
    Ratio {
        value: f64,
        samples: u64,
    },
    /// Every sample, sorted.
    Distribution(Vec<Nanos>),
    Gauge(i64),
}

fn sales(order: &Order) -> [(ScopeDim, String); 3] {
    [
        (ScopeDim::Global, ALL.to_string()),
        (ScopeDim::Channel, order.channel.clone()),
        (ScopeDim::Region, order.region.clone()),
    ]
}

fn ticket_scopes(ticket: &Ticket) -> [(ScopeDim, String); 3] {
    [
        (ScopeDim::Global, ALL.to_string()),
        (ScopeDim::Category, ticket.category.clone()),
        (ScopeDim::Priority, ticket.priority.to_string()),
    ]
}

fn each(
    kpi: Kpi,
    scopes: &[(ScopeDim, String)],
    amount: Amount,
) -> Vec<(Kpi, ScopeDim, String, Amount)> {
    scopes
        .iter()
        .map(|(scope, key)| (kpi, *scope, key.clone(), amount.clone()))
        .collect()
}

fn ratio(numerator: i128, samples: u64) -> Amount {
    Amount::Ratio { numerator, samples }
}

/// Index of the order or ticket `id` if it is known at `at`.
fn known(
    latest: &HashMap<String, usize>,
    starts: impl Fn(usize) -> Nanos,
    id: &str,
    at: Nanos,
    ttl: Nanos,
) -> Option<usize> {
    latest
        .get(id)
        .copied()
        .filter(|&index| at < starts(index) + ttl)
}

impl Reference {
    pub fn replay(events: &[Event], ttl: Nanos, max_keys: usize) -> Reference {
        let mut sorted: Vec<&Event> = events.iter().collect();
        // stable: ties keep arrival order
        sorted.sort_by_key(|event| event.occurred_at);
        let mut this = Reference {
            ttl,
            max_keys,
            facts: Vec::new(),
            orders: Vec::new(),
            tickets: Vec::new(),
            first_seen: HashMap::new(),
            semantic_duplicates: 0,
            unmatched: 0,
            earliest: sorted.first().map(|event| event.occurred_at),
            latest: sorted.last().map(|event| event.occurred_at),
        };
        let mut order_ids: HashMap<String, usize> = HashMap::new();
        let mut ticket_ids: HashMap<String, usize> = HashMap::new();
        for event in sorted {
            let at = event.occurred_at;
            let orders = &this.orders;
            let order = |id: &str| known(&order_ids, |i| orders[i].placed_at, id, at, ttl);
            let tickets = &this.tickets;
            let ticket = |id: &str| known(&ticket_ids, |i| tickets[i].opened_at, id, at, ttl);
            let mut counts = Vec::new();
            match &event.body {
                EventBody::OrderPlaced {
                    order_id,
                    channel,
                    region,
                    warehouse,
                    promised_by,
                    lines,
                } => {
                    if order(order_id).is_some() {
                        this.semantic_duplicates += 1;
                        continue;
                    }
                    let placed = Order {
                        placed_at: at,
                        promised_by: *promised_by,
                        channel: channel.to_string(),
                        region: region.to_string(),
                        warehouse: warehouse.to_string(),
                        lines: lines.clone(),
                        carrier: None,
                        shipped: false,
                        delivered: false,
                        cancelled: false,
                        left_backlog_at: None,
                    };
                    let margin: i128 = lines
                        .iter()
                        .map(|l| i128::from(l.quantity) * (l.unit_price.0 - l.unit_cost.0))
                        .sum();
                    counts.extend(each(
                        Kpi::ContributionMargin,
                        &sales(&placed),
                        ratio(margin, 1),
                    ));
                    counts.extend(each(Kpi::OrderRate, &sales(&placed), ratio(0, 1)));
                    let backlog = [
                        (ScopeDim::Global, ALL.to_string()),
                        (ScopeDim::Warehouse, warehouse.to_string()),
                    ];
                    counts.extend(each(Kpi::FulfillmentBacklog, &backlog, Amount::GaugeStart));
                    order_ids.insert(order_id.to_string(), this.orders.len());
                    this.orders.push(placed);
                }
                EventBody::OrderCancelled { order_id } => match order(order_id) {
                    None => this.unmatched += 1,
                    Some(i) if this.orders[i].cancelled => this.semantic_duplicates += 1,
                    Some(i) => {
                        this.orders[i].cancelled = true;
                        this.orders[i].left_backlog_at.get_or_insert(at);
                    }
                },
                EventBody::Shipped { order_id, carrier } => match order(order_id) {
                    None => this.unmatched += 1,
                    Some(i) if this.orders[i].shipped => this.semantic_duplicates += 1,
                    Some(i) => {
                        this.orders[i].shipped = true;
                        this.orders[i].carrier = Some(carrier.to_string());
                        this.orders[i].left_backlog_at.get_or_insert(at);
                    }
                },
                EventBody::Delivered { order_id } => match order(order_id) {
                    None => this.unmatched += 1,
                    Some(i) if this.orders[i].delivered => this.semantic_duplicates += 1,
                    Some(i) => {
                        this.orders[i].delivered = true;
                        this.orders[i].left_backlog_at.get_or_insert(at);
                        counts = delivery(&this.orders[i], at);
                    }
                },
                EventBody::DefectReported {
                    order_id,
                    sku,
                    quantity,
                    ..
                } => {
                    let mut scopes = vec![
                        (ScopeDim::Global, ALL.to_string()),
                        (ScopeDim::Sku, sku.to_string()),
                    ];
                    match order(order_id) {
                        Some(i) => {
                            scopes.push((ScopeDim::Warehouse, this.orders[i].warehouse.clone()))
                        }
                        None => this.unmatched += 1,
                    }
                    counts = each(Kpi::DefectRate, &scopes, ratio(i128::from(*quantity), 0));
                }
                EventBody::OrderRefunded { order_id, .. }
                | EventBody::OrderChargeback { order_id, .. } => {
                    let kpi = match event.body {
                        EventBody::OrderRefunded { .. } => Kpi::RefundRate,
                        _ => Kpi::ChargebackRate,
                    };
                    let scopes = match order(order_id) {
                        Some(i) => sales(&this.orders[i]).to_vec(),
                        None => {
                            this.unmatched += 1;
                            vec![(ScopeDim::Global, ALL.to_string())]
                        }
                    };
                    counts = each(kpi, &scopes, ratio(1, 0));
                }
                EventBody::TicketOpened {
                    ticket_id,
                    category,
                    priority,
                    ..
                } => {
                    if ticket(ticket_id).is_some() {
                        this.semantic_duplicates += 1;
                        continue;
                    }
                    let opened = Ticket {
                        opened_at: at,
                        category: category.to_string(),
                        priority: priority.as_str(),
                        responded: false,
                        resolved_at: None,
                    };
                    counts = each(
                        Kpi::SupportQueue,
                        &ticket_scopes(&opened),
                        Amount::GaugeStart,
                    );
                    ticket_ids.insert(ticket_id.to_string(), this.tickets.len());
                    this.tickets.push(opened);
                }
                EventBody::TicketFirstResponse { ticket_id } => match ticket(ticket_id) {
                    None => this.unmatched += 1,
                    Some(i) if this.tickets[i].responded => this.semantic_duplicates += 1,
                    Some(i) => {
                        this.tickets[i].responded = true;
                        let wait = Amount::Sample(at - this.tickets[i].opened_at);
                        counts = each(
                            Kpi::FirstResponseTime,
                            &ticket_scopes(&this.tickets[i]),
                            wait,
                        );
                    }
                },
                EventBody::TicketResolved { ticket_id } => match ticket(ticket_id) {
                    None => this.unmatched += 1,
                    Some(i) if this.tickets[i].resolved_at.is_some() => {
                        this.semantic_duplicates += 1
                    }
                    Some(i) => this.tickets[i].resolved_at = Some(at),
                },
            }
            for (kpi, scope, key, _) in &counts {
                let keys = this.first_seen.entry((*kpi, *scope)).or_default();
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
            this.facts.push(Fact { at, counts });
        }
        this
    }

    /// The key `key` reports under once `max_keys` is applied.
    pub fn fold(&self, kpi: Kpi, scope: ScopeDim, key: &str) -> String {
        let rank = self
            .first_seen
            .get(&(kpi, scope))
            .and_then(|keys| keys.iter().position(|k| k == key));
        match rank {
            Some(rank) if rank < self.max_keys => key.to_string(),
            _ => OTHER.to_string(),
        }
    }

    /// Every key of `spec` with samples (gauges: a value above 0) at `tick`.
    pub fn expected(&self, spec: &WindowSpec, tick: Nanos) -> BTreeMap<String, Expected> {
        let end = tick - spec.offset;
        if spec.kpi.kind() == KpiKind::Gauge {
            return self.gauge(spec, end);
        }
        let length = spec
            .window
            .as_ref()
            .expect("windowed KPIs have a window")
            .nanos();
        let mut ratios: BTreeMap<String, (i128, u64)> = BTreeMap::new();
        let mut samples: BTreeMap<String, Vec<Nanos>> = BTreeMap::new();
        for fact in self
            .facts
            .iter()
            .filter(|fact| end - length <= fact.at && fact.at < end)
        {
            for (kpi, scope, key, amount) in &fact.counts {
                if (*kpi, *scope) != (spec.kpi, spec.scope) {
                    continue;
                }
                let key = self.fold(*kpi, *scope, key);
                match amount {
                    Amount::Ratio { numerator, samples } => {
                        let totals = ratios.entry(key).or_default();
                        totals.0 += numerator;
                        totals.1 += samples;
                    }
                    Amount::Sample(nanos) => samples.entry(key).or_default().push(*nanos),
                    Amount::GaugeStart => unreachable!("gauges have no window"),
                }
            }
        }
        let mut out = BTreeMap::new();
        for (key, (numerator, count)) in ratios.into_iter().filter(|(_, (_, count))| *count > 0) {
            let value = match spec.kpi {
                Kpi::OrderRate => count as f64 * 3600.0 / (length as f64 / NANOS_PER_SECOND as f64),
                Kpi::ContributionMargin => {
                    numerator as f64 / Money::SUBUNITS_PER_UNIT as f64 / count as f64
                }
                _ => numerator as f64 / count as f64,
            };
            out.insert(
                key,
                Expected::Ratio {
                    value,
                    samples: count,
                },
            );
        }
        for (key, mut values) in samples {
            values.sort_unstable();
            out.insert(key, Expected::Distribution(values));
        }
        out
    }

    /// Gauges at `at`: what was placed/opened before `at`, still known at
    /// `at`, and not shipped, delivered, cancelled or resolved before `at`.
    fn gauge(&self, spec: &WindowSpec, at: Nanos) -> BTreeMap<String, Expected> {
        let mut open: Vec<Vec<(ScopeDim, String)>> = Vec::new();
        match spec.kpi {
            Kpi::FulfillmentBacklog => {
                for order in &self.orders {
                    let waiting = !matches!(order.left_backlog_at, Some(left) if left < at);
                    if order.placed_at < at && at < order.placed_at + self.ttl && waiting {
                        open.push(vec![
                            (ScopeDim::Global, ALL.to_string()),
                            (ScopeDim::Warehouse, order.warehouse.clone()),
                        ]);
                    }
                }
            }
            Kpi::SupportQueue => {
                for ticket in &self.tickets {
                    let waiting = !matches!(ticket.resolved_at, Some(resolved) if resolved < at);
                    if ticket.opened_at < at && at < ticket.opened_at + self.ttl && waiting {
                        open.push(ticket_scopes(ticket).to_vec());
                    }
                }
            }
            other => unreachable!("{other} is not a gauge"),
        }
        let mut out: BTreeMap<String, i64> = BTreeMap::new();
        for scopes in open {
            let (_, key) = scopes
                .iter()
                .find(|(scope, _)| *scope == spec.scope)
                .expect("scope of the gauge");
            *out.entry(self.fold(spec.kpi, spec.scope, key)).or_default() += 1;
        }
        out.into_iter()
            .map(|(key, value)| (key, Expected::Gauge(value)))
            .collect()
    }
}

/// A matched delivery: it counts in every delivery KPI.
fn delivery(order: &Order, at: Nanos) -> Vec<(Kpi, ScopeDim, String, Amount)> {
    let mut scopes = vec![
        (ScopeDim::Global, ALL.to_string()),
        (ScopeDim::Warehouse, order.warehouse.clone()),
        (ScopeDim::Region, order.region.clone()),
        (ScopeDim::Channel, order.channel.clone()),
    ];
    if let Some(carrier) = &order.carrier {
        scopes.push((ScopeDim::Carrier, carrier.clone()));
    }
    let mut counts = each(
        Kpi::CycleTime,
        &scopes,
        Amount::Sample(at - order.placed_at),
    );
    counts.extend(each(
        Kpi::OnTimeRate,
        &scopes,
        ratio(i128::from(at <= order.promised_by), 1),
    ));
    let units: u64 = order.lines.iter().map(|l| u64::from(l.quantity)).sum();
    let whole = [
        (ScopeDim::Global, ALL.to_string()),
        (ScopeDim::Warehouse, order.warehouse.clone()),
    ];
    counts.extend(each(Kpi::DefectRate, &whole, ratio(0, units)));
    // per sku, in order of first appearance in the lines
    for line in &order.lines {
        counts.push((
            Kpi::DefectRate,
            ScopeDim::Sku,
            line.sku.to_string(),
            ratio(0, u64::from(line.quantity)),
        ));
    }
    counts.extend(each(Kpi::RefundRate, &sales(order), ratio(0, 1)));
    counts.extend(each(Kpi::ChargebackRate, &sales(order), ratio(0, 1)));
    counts
}
