//! Random but valid event sequences over small id spaces, so joins,
//! duplicates and semantic duplicates happen often.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use proptest::prelude::*;
use tripgate_model::time::{format_rfc3339, NANOS_PER_SECOND};
use tripgate_model::{Event, EventBody, Line, Money, Nanos, Priority, Text};

/// 2025-01-01T10:00:00Z; events fall in the 30 minutes after it.
pub const BASE: Nanos = 1_735_725_600 * NANOS_PER_SECOND;
pub const SPAN_SECONDS: i64 = 30 * 60;

const DIMENSIONS: u32 = 5;
const ORDERS: u32 = 30;
const TICKETS: u32 = 15;

/// A list of events that prints one line per event when a case fails.
#[derive(Clone)]
pub struct Script(pub Vec<Event>);

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[")?;
        for event in &self.0 {
            writeln!(f, "    {},", describe(event))?;
        }
        write!(f, "]")
    }
}

/// `e3 @10:01:07 Delivered { order_id: "o7" }`: short enough to read a
/// shrunk case at a glance.
pub fn describe(event: &Event) -> String {
    let time = format_rfc3339(event.occurred_at);
    let clock = time.get(11..19).unwrap_or(&time);
    let body = match &event.body {
        EventBody::OrderPlaced {
            order_id,
            channel,
            region,
            warehouse,
            promised_by,
            lines,
        } => {
            let lines: Vec<String> = lines
                .iter()
                .map(|l| {
                    format!(
                        "{}x{}@{}-{}",
                        l.quantity, l.sku, l.unit_price.0, l.unit_cost.0
                    )
                })
                .collect();
            let promise = (promised_by - event.occurred_at) / NANOS_PER_SECOND;
            format!(
                "OrderPlaced {order_id} {channel}/{region}/{warehouse} promise+{promise}s [{}]",
                lines.join(", ")
            )
        }
        other => format!("{other:?}"),
    };
    format!("{} @{clock} {body}", event.event_id)
}

fn pick(prefix: &'static str, size: u32) -> impl Strategy<Value = Text> {
    (0..size).prop_map(move |n| Text::from(format!("{prefix}{n}")))
}

fn order_id() -> impl Strategy<Value = Text> {
    pick("o", ORDERS)
}

fn ticket_id() -> impl Strategy<Value = Text> {
    pick("t", TICKETS)
}

fn sku() -> impl Strategy<Value = Text> {
    pick("sku", DIMENSIONS)
}

/// Whole cents, occasionally large; money is held in nano-units.
fn money() -> impl Strategy<Value = Money> {
    prop_oneof![
        9 => 0i64..=50_000,
        1 => 0i64..=100_000_000_000,
    ]
    .prop_map(|cents| Money(i128::from(cents) * (Money::SUBUNITS_PER_UNIT / 100)))
}

fn quantity() -> impl Strategy<Value = u32> {
    prop_oneof![9 => 1u32..=20, 1 => 1u32..=1_000_000]
}

fn line() -> impl Strategy<Value = Line> {
    (sku(), quantity(), money(), money()).prop_map(|(sku, quantity, unit_price, unit_cost)| Line {
        sku,
        quantity,
        unit_price,
        unit_cost,
    })
}

fn priority() -> impl Strategy<Value = Priority> {
    prop_oneof![
        Just(Priority::Low),
        Just(Priority::Normal),
        Just(Priority::High),
        Just(Priority::Urgent),
    ]
}

/// An order.placed whose `promised_by` is still relative to the event's
/// own time; `event_at` makes it absolute.
fn placed(order_id: impl Strategy<Value = Text>) -> impl Strategy<Value = EventBody> {
    (
        order_id,
        pick("ch", DIMENSIONS),
        pick("re", DIMENSIONS),
        pick("wh", DIMENSIONS),
        -300i64..1800,
        proptest::collection::vec(line(), 1..=3),
    )
        .prop_map(|(order_id, channel, region, warehouse, promise, lines)| {
            EventBody::OrderPlaced {
                order_id,
                channel,
                region,
                warehouse,
                promised_by: promise * NANOS_PER_SECOND,
                lines,
            }
        })
}

/// Any body, over the small id spaces.
fn body() -> impl Strategy<Value = EventBody> {
    prop_oneof![
        25 => placed(order_id()),
        4 => order_id().prop_map(|order_id| EventBody::OrderCancelled { order_id }),
        5 => (order_id(), money()).prop_map(|(order_id, amount)| EventBody::OrderRefunded { order_id, amount }),
        4 => (order_id(), money())
            .prop_map(|(order_id, amount)| EventBody::OrderChargeback { order_id, amount }),
        12 => (order_id(), pick("ca", DIMENSIONS))
            .prop_map(|(order_id, carrier)| EventBody::Shipped { order_id, carrier }),
        16 => order_id().prop_map(|order_id| EventBody::Delivered { order_id }),
        6 => (order_id(), sku(), quantity()).prop_map(|(order_id, sku, quantity)| {
            EventBody::DefectReported { order_id, sku, quantity, reason: "damaged".into() }
        }),
        10 => (ticket_id(), pick("cat", DIMENSIONS), priority(), proptest::option::of(order_id()))
            .prop_map(|(ticket_id, category, priority, order_id)| EventBody::TicketOpened {
                ticket_id,
                category,
                priority,
                order_id,
            }),
        8 => ticket_id().prop_map(|ticket_id| EventBody::TicketFirstResponse { ticket_id }),
        6 => ticket_id().prop_map(|ticket_id| EventBody::TicketResolved { ticket_id }),
    ]
}

/// An event at `seconds` after `BASE` (may be negative for late events).
pub fn event_at(event_id: impl Into<Text>, seconds: i64, mut body: EventBody) -> Event {
    let occurred_at = BASE + seconds * NANOS_PER_SECOND;
    if let EventBody::OrderPlaced { promised_by, .. } = &mut body {
        *promised_by += occurred_at;
    }
    Event {
        event_id: event_id.into(),
        occurred_at,
        body,
    }
}

/// A body and a second offset, not yet an event (no id).
pub fn timed_body() -> impl Strategy<Value = (i64, EventBody)> {
    (0..SPAN_SECONDS, body())
}

/// A body only, for events whose time the property decides.
pub fn any_body() -> impl Strategy<Value = EventBody> {
    body()
}

/// Seconds after the previous step; 0 makes ties in event time.
fn gap() -> impl Strategy<Value = i64> {
    prop_oneof![1 => Just(0i64), 6 => 1i64..600]
}

/// An order placed, then maybe shipped, delivered, reported defective,
/// refunded, charged back or cancelled, in a plausible order: independent
/// events alone rarely join.
fn order_story() -> impl Strategy<Value = Vec<(i64, EventBody)>> {
    let steps = (
        proptest::option::weighted(0.8, (gap(), pick("ca", DIMENSIONS))),
        proptest::option::weighted(0.8, gap()),
        proptest::option::weighted(0.2, (gap(), sku(), quantity())),
        proptest::option::weighted(0.2, gap()),
        proptest::option::weighted(0.1, gap()),
        proptest::option::weighted(0.1, gap()),
    );
    let opening =
        order_id().prop_flat_map(|id| (Just(id.clone()), placed(Just(id)), any::<bool>()));
    (0..SPAN_SECONDS, opening, steps).prop_map(
        |(start, (id, mut placed, delivered_on_promise), steps)| {
            let (shipped, delivered, defect, refund, chargeback, cancel) = steps;
            let mut at = start;
            let order_id = || id.clone();
            let mut story = Vec::new();
            if let Some((gap, carrier)) = shipped {
                at += gap;
                story.push((
                    at,
                    EventBody::Shipped {
                        order_id: order_id(),
                        carrier,
                    },
                ));
            }
            if let Some(gap) = delivered {
                at += gap;
                story.push((
                    at,
                    EventBody::Delivered {
                        order_id: order_id(),
                    },
                ));
                // on_time_rate's boundary: delivered exactly at promised_by is on time
                if let (true, EventBody::OrderPlaced { promised_by, .. }) =
                    (delivered_on_promise, &mut placed)
                {
                    *promised_by = (at - start) * NANOS_PER_SECOND;
                }
            }
            story.insert(0, (start, placed));
            if let Some((gap, sku, quantity)) = defect {
                let reason = "damaged".to_string();
                story.push((
                    at + gap,
                    EventBody::DefectReported {
                        order_id: order_id(),
                        sku,
                        quantity,
                        reason: reason.into(),
                    },
                ));
            }
            if let Some(gap) = refund {
                story.push((
                    at + gap,
                    EventBody::OrderRefunded {
                        order_id: order_id(),
                        amount: Money(1),
                    },
                ));
            }
            if let Some(gap) = chargeback {
                story.push((
                    at + gap,
                    EventBody::OrderChargeback {
                        order_id: order_id(),
                        amount: Money(1),
                    },
                ));
            }
            if let Some(gap) = cancel {
                story.push((
                    start + gap,
                    EventBody::OrderCancelled {
                        order_id: order_id(),
                    },
                ));
            }
            story
        },
    )
}

/// A ticket opened, then maybe answered and resolved.
fn ticket_story() -> impl Strategy<Value = Vec<(i64, EventBody)>> {
    let opened = (ticket_id(), pick("cat", DIMENSIONS), priority());
    let steps = (
        proptest::option::weighted(0.8, gap()),
        proptest::option::weighted(0.6, gap()),
    );
    (0..SPAN_SECONDS, opened, steps).prop_map(
        |(start, (ticket_id, category, priority), (answer, resolve))| {
            let mut story = vec![(
                start,
                EventBody::TicketOpened {
                    ticket_id: ticket_id.clone(),
                    category,
                    priority,
                    order_id: None,
                },
            )];
            let mut at = start;
            if let Some(gap) = answer {
                at += gap;
                story.push((
                    at,
                    EventBody::TicketFirstResponse {
                        ticket_id: ticket_id.clone(),
                    },
                ));
            }
            if let Some(gap) = resolve {
                story.push((at + gap, EventBody::TicketResolved { ticket_id }));
            }
            story
        },
    )
}

/// Events from up to `max` drafts (single events or short stories), with
/// ids `e0, e1, …`, sorted by `occurred_at` (stable, so the generated
/// order breaks ties): nothing is late.
pub fn sorted_events(max: usize) -> impl Strategy<Value = Script> {
    let draft = prop_oneof![
        6 => timed_body().prop_map(|single| vec![single]),
        2 => order_story(),
        1 => ticket_story(),
    ];
    proptest::collection::vec(draft, 0..=max).prop_map(|drafts| {
        let mut events: Vec<Event> = drafts
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(index, (seconds, body))| event_at(format!("e{index}"), seconds, body))
            .collect();
        events.sort_by_key(|event| event.occurred_at);
        Script(events)
    })
}

/// Arrival order: each event arrives at its time plus a jitter of at most
/// the allowed lateness, so no event is late; events with the same
/// `occurred_at` keep their relative order (the contract breaks such ties
/// by arrival, so swapping them may legitimately change results).
pub fn arrivals(events: &[Event], jitter_seconds: &[i64]) -> Vec<Event> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| {
        (
            events[i].occurred_at + jitter_seconds[i] * NANOS_PER_SECOND,
            i,
        )
    });
    let mut ties: BTreeMap<Nanos, VecDeque<usize>> = BTreeMap::new();
    for (i, event) in events.iter().enumerate() {
        ties.entry(event.occurred_at).or_default().push_back(i);
    }
    order
        .iter()
        .map(|&i| {
            let next = ties
                .get_mut(&events[i].occurred_at)
                .and_then(VecDeque::pop_front);
            events[next.expect("one slot per event")].clone()
        })
        .collect()
}

/// Events in time order, an allowed lateness in seconds, and a jitter per
/// event for `arrivals`.
pub fn permuted() -> impl Strategy<Value = (Script, i64, Vec<i64>)> {
    let lateness = prop_oneof![Just(0i64), Just(30), Just(60), Just(300), Just(7200)];
    (sorted_events(80), lateness).prop_flat_map(|(events, lateness)| {
        let jitter = proptest::collection::vec(0..=lateness, events.0.len());
        (Just(events), Just(lateness), jitter)
    })
}
