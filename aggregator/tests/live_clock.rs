//! The live watermark's clock (contract section 3, "In live mode it also
//! moves with the wall clock"; docs/CONTRACT-NOTES.md says how tripgate
//! reads `now`).

#[allow(dead_code)] // each test binary uses a part of the shared support
mod support;

use tripgate_aggregator::{Admission, Aggregator};
use tripgate_model::time::NANOS_PER_SECOND;
use tripgate_model::{EventBody, Nanos};

use support::generate::{event_at, BASE};
use support::harness::{all_specs, pipeline};

const SECOND: Nanos = NANOS_PER_SECOND;
const MINUTE: Nanos = 60 * SECOND;

fn cancelled(id: &str) -> EventBody {
    EventBody::OrderCancelled {
        order_id: id.into(),
    }
}

fn live() -> Aggregator {
    let pipeline = pipeline("allowed_lateness = \"2m\"\nidle_timeout = \"30s\"");
    Aggregator::new(&pipeline, &all_specs())
}

/// Events stamped as they arrive: the floor is the contract's,
/// now - lateness - idle_timeout, and it closes ticks while input is idle.
#[test]
fn a_live_stream_idles_forward_with_the_wall_clock() {
    let mut aggregator = live();
    let arrival = BASE + 10 * SECOND;
    assert_eq!(
        aggregator.offer(event_at("a", 10, cancelled("o1"))),
        Admission::Accepted
    );
    aggregator.observe_wall_clock(arrival, 30 * SECOND);
    assert_eq!(aggregator.watermark(), Some(arrival - 2 * MINUTE));
    let later = arrival + 10 * MINUTE;
    aggregator.observe_wall_clock(later, 30 * SECOND);
    assert_eq!(
        aggregator.watermark(),
        Some(later - 2 * MINUTE - 30 * SECOND)
    );
    let mut ticks = Vec::new();
    aggregator.advance(|snapshot| ticks.push(snapshot.tick));
    assert_eq!(ticks.len(), 7, "10:01 to 10:07 close: {ticks:?}");
    assert_eq!(
        aggregator.offer(event_at("b", 60, cancelled("o2"))),
        Admission::Late
    );
}

/// A replay of events far older than the wall clock: none is late because
/// of the clock, and once input stops the ticks close from the last event
/// on at the wall clock's pace rather than jumping to today.
#[test]
fn a_replay_of_old_events_is_not_late_and_closes_its_last_ticks() {
    let mut aggregator = live();
    let wall = BASE + 400 * 24 * 60 * MINUTE;
    for (index, seconds) in [0, 90, 200, 330].into_iter().enumerate() {
        let id = format!("e{index}");
        assert_eq!(
            aggregator.offer(event_at(id.clone(), seconds, cancelled(&id))),
            Admission::Accepted
        );
        aggregator.observe_wall_clock(wall + seconds * SECOND / 1000, 30 * SECOND);
    }
    let newest = BASE + 330 * SECOND;
    assert_eq!(aggregator.watermark(), Some(newest - 2 * MINUTE));
    // Idle for lateness + idle_timeout: the floor reaches the newest event.
    aggregator.observe_wall_clock(wall + 330 * SECOND / 1000 + 150 * SECOND, 30 * SECOND);
    assert_eq!(aggregator.watermark(), Some(newest));
    let mut ticks = Vec::new();
    aggregator.advance(|snapshot| ticks.push(snapshot.tick));
    assert_eq!(ticks.last(), Some(&(BASE + 5 * MINUTE)));
    assert_eq!(ticks.len(), 5);
}

/// Before any event there is no clock floor: the first event of a replay
/// is never late.
#[test]
fn the_first_event_is_never_late_because_of_the_clock() {
    let mut aggregator = live();
    aggregator.observe_wall_clock(BASE + 1000 * MINUTE, 30 * SECOND);
    assert_eq!(aggregator.watermark(), None);
    assert_eq!(
        aggregator.offer(event_at("a", 0, cancelled("o1"))),
        Admission::Accepted
    );
}
