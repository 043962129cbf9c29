//! Properties of the aggregator (contract sections 3 to 5 and 9): its KPIs
//! equal a naive recomputation from the raw events, and arrival order,
//! replayed duplicates and late events change nothing.

mod support;

use proptest::prelude::*;
use proptest::sample::Index;
use tripgate_aggregator::{Admission, Aggregator, OTHER_KEY};
use tripgate_model::time::NANOS_PER_SECOND;
use tripgate_model::{EventBody, Kpi, KpiKind, ScopeDim, Text, WindowSpec};

use support::generate::{any_body, arrivals, event_at, permuted, sorted_events, BASE};
use support::harness::{all_specs, check_against_reference, flatten, pipeline, run};
use support::reference::Reference;

fn order_ttl() -> impl Strategy<Value = &'static str> {
    // 30d never expires within a case; the short ones expire orders and
    // tickets mid-case, so re-placed orders and forgotten gauges happen
    prop_oneof![2 => Just("30d"), 1 => Just("7m"), 1 => Just("13m")]
}

/// A random selection of `all_specs()`, in random order, with repeats; a
/// gauge baseline always comes with its gauge (as every rule's own spec is
/// compiled; a test below covers a baseline alone).
fn spec_selection() -> impl Strategy<Value = Vec<WindowSpec>> {
    let pool = all_specs();
    let size = pool.len();
    (
        proptest::sample::subsequence(pool.clone(), 0..=size),
        proptest::collection::vec(any::<Index>(), 0..4),
    )
        .prop_flat_map(move |(mut chosen, repeats)| {
            if !chosen.is_empty() {
                for repeat in repeats {
                    chosen.push(chosen[repeat.index(chosen.len())].clone());
                }
            }
            for spec in chosen.clone() {
                let current = WindowSpec {
                    offset: 0,
                    ..spec.clone()
                };
                if spec.kpi.kind() == KpiKind::Gauge && !chosen.iter().any(|s| s.same_as(&current))
                {
                    chosen.push(current);
                }
            }
            Just(chosen).prop_shuffle()
        })
}

/// How a replayed copy differs from the event whose id it repeats.
#[derive(Clone, Debug)]
enum Replay {
    Exact,
    /// Earlier, often below the watermark: the id check comes first.
    Earlier(i64),
    OtherBody(EventBody),
}

fn replay() -> impl Strategy<Value = Replay> {
    prop_oneof![
        4 => Just(Replay::Exact),
        1 => (1i64..3600).prop_map(Replay::Earlier),
        1 => any_body().prop_map(Replay::OtherBody),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Property 1: every KPI of every scope, window and baseline at every
    /// closed tick equals a recomputation from the raw events, and the
    /// ticks run from the first after the earliest event to the last at or
    /// before the latest.
    #[test]
    fn kpis_equal_a_naive_recomputation(
        events in sorted_events(100),
        ttl in order_ttl(),
        tick in prop_oneof![3 => Just("1m"), 1 => Just("30s")],
        advance_each in any::<bool>(),
    ) {
        let pipeline = pipeline(&format!("order_ttl = \"{ttl}\"\ntick = \"{tick}\""));
        let specs = all_specs();
        let run = run(&pipeline, &specs, &events.0, advance_each);
        prop_assert_eq!(run.counters.accepted, events.0.len() as u64);
        prop_assert_eq!((run.counters.late, run.counters.duplicate_ids), (0, 0));
        prop_assert_eq!(run.counters.ticks, run.snapshots.len() as u64);
        let reference = Reference::replay(&events.0, pipeline.order_ttl.nanos(), pipeline.max_keys);
        check_against_reference(&run, &reference, &specs, pipeline.tick.nanos()).map_err(TestCaseError::fail)?;
    }

    /// Property 2: any arrival order in which nothing is late gives the
    /// same snapshots, exactly (percentiles included), whatever the
    /// allowed lateness and however often ticks are closed.
    #[test]
    fn arrival_order_changes_nothing(
        (events, lateness, jitter) in permuted(),
        ttl in order_ttl(),
        advance_each in any::<bool>(),
    ) {
        let specs = all_specs();
        let in_order = run(&pipeline(&format!("order_ttl = \"{ttl}\"")), &specs, &events.0, true);
        let shuffled = arrivals(&events.0, &jitter);
        let settings = format!("order_ttl = \"{ttl}\"\nallowed_lateness = \"{lateness}s\"");
        let reordered = run(&pipeline(&settings), &specs, &shuffled, advance_each);
        prop_assert_eq!(reordered.counters.late, 0, "the generator promised no late event");
        prop_assert_eq!(&reordered.counters, &in_order.counters);
        prop_assert_eq!(flatten(&reordered.snapshots), flatten(&in_order.snapshots));
    }

    /// Property 3: copies of already-offered events (same `event_id`),
    /// interleaved, appended, or offered after the end of input, change
    /// nothing and are counted as duplicate ids, even when the copy would
    /// be late or differs in content.
    #[test]
    fn replayed_duplicates_change_nothing(
        events in sorted_events(60),
        copies in proptest::collection::vec((any::<Index>(), any::<Index>(), replay()), 0..30),
        after_end in proptest::collection::vec(any::<Index>(), 0..5),
    ) {
        let pipeline = pipeline("");
        let specs = all_specs();
        let original = run(&pipeline, &specs, &events.0, true);
        let mut arrivals = events.0.clone();
        let mut copied: u64 = 0;
        if !events.0.is_empty() {
            for (source, position, change) in &copies {
                let mut copy = events.0[source.index(events.0.len())].clone();
                let first = arrivals.iter().position(|e| e.event_id == copy.event_id).expect("original offered");
                match change {
                    Replay::Exact => {}
                    Replay::Earlier(seconds) => copy.occurred_at -= seconds * NANOS_PER_SECOND,
                    Replay::OtherBody(body) => copy = event_at(copy.event_id, 0, body.clone()),
                }
                arrivals.insert(first + 1 + position.index(arrivals.len() - first), copy);
                copied += 1;
            }
        }
        let mut aggregator = Aggregator::new(&pipeline, &specs);
        let mut snapshots = Vec::new();
        let mut admissions = Vec::new();
        for event in &arrivals {
            admissions.push(aggregator.offer(event.clone()));
            aggregator.advance(|snapshot| snapshots.push(snapshot));
        }
        aggregator.finish(|snapshot| snapshots.push(snapshot));
        if !events.0.is_empty() {
            for index in &after_end {
                let copy = events.0[index.index(events.0.len())].clone();
                prop_assert_eq!(aggregator.offer(copy), Admission::DuplicateId);
                aggregator.advance(|snapshot| snapshots.push(snapshot));
                copied += 1;
            }
        }
        let duplicates = admissions.iter().filter(|a| **a == Admission::DuplicateId).count();
        prop_assert_eq!(duplicates, arrivals.len() - events.0.len());
        let mut counters = aggregator.counters().clone();
        prop_assert_eq!(counters.duplicate_ids, copied);
        counters.duplicate_ids = 0;
        prop_assert_eq!(&counters, &original.counters);
        prop_assert_eq!(flatten(&snapshots), flatten(&original.snapshots));
    }

    /// Property 4: an event below the watermark when it arrives changes
    /// nothing (not even the first tick, when it is earlier than every
    /// other event) and is counted as late.
    #[test]
    fn late_events_change_nothing(
        events in sorted_events(60),
        lateness in prop_oneof![Just(0i64), Just(60), Just(120), Just(300)],
        late in proptest::collection::vec((any::<Index>(), 0i64..600, any_body()), 0..20),
        advance_each in any::<bool>(),
    ) {
        let pipeline = pipeline(&format!("allowed_lateness = \"{lateness}s\""));
        let specs = all_specs();
        let on_time = run(&pipeline, &specs, &events.0, advance_each);
        let mut arrivals = events.0.clone();
        let mut inserted = Vec::new();
        if !events.0.is_empty() {
            for (n, (position, back, body)) in late.iter().enumerate() {
                let at = position.index(arrivals.len()) + 1;
                let latest = arrivals[..at].iter().map(|e| e.occurred_at).max().expect("non-empty prefix");
                let watermark_seconds = (latest - BASE) / NANOS_PER_SECOND - lateness;
                arrivals.insert(at, event_at(format!("late{n}"), watermark_seconds - 1 - back, body.clone()));
                inserted.push(Text::from(format!("late{n}")));
            }
        }
        // a late event's id is remembered (only rejected events are
        // forgotten), so a replay of it is a duplicate, not late again
        if let Some(first_late) = arrivals.iter().find(|e| e.event_id.starts_with("late")).cloned() {
            arrivals.push(first_late);
        }
        let with_late = run(&pipeline, &specs, &arrivals, advance_each);
        let mut seen = std::collections::HashSet::new();
        for (event, admission) in arrivals.iter().zip(&with_late.admissions) {
            let expected = match (seen.insert(&event.event_id), inserted.contains(&event.event_id)) {
                (false, _) => Admission::DuplicateId,
                (true, true) => Admission::Late,
                (true, false) => Admission::Accepted,
            };
            prop_assert_eq!(*admission, expected, "{}", support::generate::describe(event));
        }
        let mut counters = with_late.counters.clone();
        prop_assert_eq!(counters.late, inserted.len() as u64);
        prop_assert_eq!(counters.duplicate_ids, u64::from(!inserted.is_empty()));
        (counters.late, counters.duplicate_ids) = (0, 0);
        prop_assert_eq!(&counters, &on_time.counters);
        prop_assert_eq!(flatten(&with_late.snapshots), flatten(&on_time.snapshots));
    }

    /// Which other windows are computed, in which order and how often,
    /// changes no spec's values.
    #[test]
    fn other_specs_change_nothing(events in sorted_events(60), specs in spec_selection()) {
        let pipeline = pipeline("");
        let every = all_specs();
        let full = flatten(&run(&pipeline, &every, &events.0, true).snapshots);
        let selected = flatten(&run(&pipeline, &specs, &events.0, true).snapshots);
        prop_assert_eq!(selected.len(), full.len());
        for ((tick, series), (full_tick, full_series)) in selected.iter().zip(&full) {
            prop_assert_eq!(tick, full_tick);
            prop_assert_eq!(series.len(), specs.len());
            for (spec, values) in specs.iter().zip(series) {
                let same = every.iter().position(|s| s.same_as(spec)).expect("selected from all_specs");
                prop_assert_eq!(values, &full_series[same], "{:?}", spec);
            }
        }
    }

    /// Property 5: with a small `max_keys`, keys beyond the cap (in order
    /// of first contribution in event time) fold into `__other__`, every
    /// value still matches the reference, and per (KPI, scope) the samples
    /// (gauges: values) over all keys add up to the global ones.
    #[test]
    fn max_keys_folds_and_preserves_totals(
        events in sorted_events(100),
        max_keys in 1usize..=3,
        ttl in order_ttl(),
    ) {
        let pipeline = pipeline(&format!("max_keys = {max_keys}\norder_ttl = \"{ttl}\""));
        let specs = all_specs();
        let run = run(&pipeline, &specs, &events.0, true);
        let reference = Reference::replay(&events.0, pipeline.order_ttl.nanos(), max_keys);
        check_against_reference(&run, &reference, &specs, pipeline.tick.nanos()).map_err(TestCaseError::fail)?;
        let total = |measure: &tripgate_model::Measure| match measure.kind() {
            KpiKind::Gauge => measure.stat(tripgate_model::Stat::Value) as u64,
            _ => measure.samples().expect("windowed KPIs have samples"),
        };
        for snapshot in &run.snapshots {
            for (spec, values) in specs.iter().zip(&snapshot.series) {
                let named = values.values.iter().filter(|(key, _)| &**key != OTHER_KEY).count();
                prop_assert!(named <= max_keys, "{} keys of {:?} beyond max_keys", named, spec);
                if spec.scope == ScopeDim::Global {
                    continue;
                }
                let global = specs
                    .iter()
                    .position(|g| g.scope == ScopeDim::Global && g.kpi == spec.kpi && g.window == spec.window && g.offset == spec.offset);
                let Some(global) = global else { continue };
                let global_total: u64 = snapshot.series[global].values.iter().map(|(_, m)| total(m)).sum();
                let keyed_total: u64 = values.values.iter().map(|(_, m)| total(m)).sum();
                // an order delivered without a shipped event has no carrier
                if spec.scope == ScopeDim::Carrier {
                    prop_assert!(keyed_total <= global_total, "{:?}: {} > {}", spec, keyed_total, global_total);
                } else {
                    prop_assert_eq!(keyed_total, global_total, "{:?}", spec);
                }
            }
        }
    }
}

/// Contract section 9: an event exactly at the watermark is not late, and a
/// tick closes when the watermark reaches it.
#[test]
fn an_event_exactly_at_the_watermark_is_not_late() {
    let pipeline = pipeline("allowed_lateness = \"2m\"");
    let specs = all_specs();
    let mut aggregator = Aggregator::new(&pipeline, &specs);
    let mut ticks = Vec::new();
    let body = |id: &str| EventBody::OrderCancelled {
        order_id: id.into(),
    };
    assert_eq!(
        aggregator.offer(event_at("a", 30, body("o1"))),
        Admission::Accepted
    );
    assert_eq!(
        aggregator.offer(event_at("b", 180, body("o2"))),
        Admission::Accepted
    );
    aggregator.advance(|snapshot| ticks.push(snapshot.tick));
    // watermark 10:01:00 closes the tick 10:01
    assert_eq!(ticks, vec![BASE + 60 * NANOS_PER_SECOND]);
    assert_eq!(
        aggregator.offer(event_at("c", 60, body("o3"))),
        Admission::Accepted
    );
    assert_eq!(
        aggregator.offer(event_at("d", 59, body("o4"))),
        Admission::Late
    );
    assert_eq!(aggregator.counters().late, 1);
}

/// `Aggregator::new` promises `series[i]` for the i-th spec, whatever the
/// list; a gauge baseline (offset > 0) listed without the current gauge of
/// its (KPI, scope) should read the gauge at T − offset.
#[test]

fn a_gauge_baseline_without_its_current_spec_reads_the_past() {
    let baseline = WindowSpec {
        kpi: Kpi::SupportQueue,
        scope: ScopeDim::Global,
        window: None,
        offset: 3 * 60 * NANOS_PER_SECOND,
    };
    let mut aggregator = Aggregator::new(&pipeline(""), &[baseline]);
    let opened = EventBody::TicketOpened {
        ticket_id: "t1".into(),
        category: "billing".into(),
        priority: tripgate_model::Priority::Low,
        order_id: None,
    };
    aggregator.offer(event_at("a", 10, opened));
    aggregator.offer(event_at(
        "b",
        300,
        EventBody::TicketFirstResponse {
            ticket_id: "t1".into(),
        },
    ));
    let mut snapshots = Vec::new();
    aggregator.finish(|snapshot| snapshots.push(snapshot));
    // ticks 10:01 … 10:05; the queue at T − 3m is 0 up to 10:03 and 1 after
    let values: Vec<usize> = snapshots.iter().map(|s| s.series[0].values.len()).collect();
    assert_eq!(values, vec![0, 0, 0, 1, 1]);
}
