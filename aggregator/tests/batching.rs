//! Offering events in batches (`offer_all`) and advancing once per batch,
//! as backtest does, gives exactly what offering and advancing one event at
//! a time gives: the same snapshots, the same counters, and replayed ids
//! forgotten at the same moment (the dedup horizon counts from the
//! watermark at each offer, not at the last advance).

#[allow(dead_code)] // each test binary uses a part of the shared support
mod support;

use proptest::prelude::*;
use proptest::sample::Index;
use tripgate_aggregator::Aggregator;
use tripgate_model::time::NANOS_PER_SECOND;
use tripgate_model::Event;

use support::generate::sorted_events;
use support::harness::{all_specs, flatten, pipeline, run};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn batches_change_nothing(
        events in sorted_events(80),
        copies in proptest::collection::vec((any::<Index>(), 0i64..1800), 0..20),
        sizes in proptest::collection::vec(1usize..40, 1..8),
        horizon in prop_oneof![Just("5m"), Just("20m"), Just("24h")],
        lateness in prop_oneof![Just("0s"), Just("2m")],
    ) {
        // Copies of earlier events' ids, stamped up to half an hour later:
        // within the dedup horizon they are duplicates, beyond it new events.
        let mut arrivals = events.0.clone();
        if !events.0.is_empty() {
            for (source, later) in &copies {
                let mut copy = events.0[source.index(events.0.len())].clone();
                copy.occurred_at += later * NANOS_PER_SECOND;
                arrivals.push(copy);
            }
        }
        arrivals.sort_by_key(|event| event.occurred_at);
        let pipeline = pipeline(&format!(
            "dedup_horizon = \"{horizon}\"\nallowed_lateness = \"{lateness}\""
        ));
        let specs = all_specs();
        let one_by_one = run(&pipeline, &specs, &arrivals, true);

        let mut aggregator = Aggregator::new(&pipeline, &specs);
        let mut snapshots = Vec::new();
        let mut rest: &[Event] = &arrivals;
        for size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (batch, after) = rest.split_at((*size).min(rest.len()));
            let mut batch = batch.to_vec();
            aggregator.offer_all(&mut batch);
            prop_assert!(batch.is_empty());
            aggregator.advance(|snapshot| snapshots.push(snapshot));
            rest = after;
        }
        aggregator.finish(|snapshot| snapshots.push(snapshot));

        prop_assert_eq!(aggregator.counters(), &one_by_one.counters);
        prop_assert_eq!(flatten(&snapshots), flatten(&one_by_one.snapshots));
    }
}
