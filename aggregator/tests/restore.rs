//! A saved and restored aggregator carries on exactly as the original
//! would: what a checkpoint holds (`Engine::save_state` writes the
//! aggregator with bincode) is everything its later output depends on:
//! held events in and out of arrival order, the watermark, dedup memory,
//! orders and tickets with their expiry, windows and gauges.

#[allow(dead_code)] // each test binary uses a part of the shared support
mod support;

use proptest::prelude::*;
use tripgate_aggregator::Aggregator;

use support::generate::{arrivals, permuted};
use support::harness::{all_specs, flatten, pipeline, run};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_restored_aggregator_carries_on_as_the_original(
        (events, lateness, jitter) in permuted(),
        ttl in prop_oneof![Just("30d"), Just("7m")],
        saves in proptest::collection::vec(any::<bool>(), 0..200),
    ) {
        let shuffled = arrivals(&events.0, &jitter);
        let pipeline = pipeline(&format!(
            "order_ttl = \"{ttl}\"\nallowed_lateness = \"{lateness}s\"\ndedup_horizon = \"5m\""
        ));
        let specs = all_specs();
        let original = run(&pipeline, &specs, &shuffled, true);

        let mut aggregator = Aggregator::new(&pipeline, &specs);
        let mut snapshots = Vec::new();
        for (index, event) in shuffled.iter().enumerate() {
            aggregator.offer(event.clone());
            aggregator.advance(|snapshot| snapshots.push(snapshot));
            if saves.get(index).copied().unwrap_or(false) {
                let saved = bincode::serialize(&aggregator).expect("the state serializes");
                aggregator = bincode::deserialize(&saved).expect("and reads back");
            }
        }
        aggregator.finish(|snapshot| snapshots.push(snapshot));

        prop_assert_eq!(aggregator.counters(), &original.counters);
        prop_assert_eq!(flatten(&snapshots), flatten(&original.snapshots));
    }
}
