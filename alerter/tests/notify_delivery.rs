//! Delivery until accepted, in controlled time (tokio's paused clock, which
//! the delivery loop's timers and the injected wall clock both follow),
//! against real local HTTP receivers.

mod delivery_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use delivery_support::{policy, run_until, slack, transition, webhook, TestReceiver};
use tokio::time::Instant;
use tripgate_alerter::notify::{Dispatcher, Outbox, Outgoing, TokioClock, WallClock};

const MINUTE: Duration = Duration::from_secs(60);

fn enqueue(outbox: &Outbox, versions: std::ops::RangeInclusive<u64>, notify: &[&str]) {
    for version in versions {
        outbox
            .enqueue(Outgoing::Transition(transition(version, notify)))
            .unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_receiver_down_for_ten_minutes_gets_every_transition_once_back() {
    let receiver = TestReceiver::start(|_, _| (200, vec![])).await;
    receiver.set_down(true);
    let outbox = Arc::new(Outbox::in_memory());
    let handle = Dispatcher::new(vec![webhook("hook", &receiver.url)])
        .unwrap()
        .start(outbox.clone());
    let start = Instant::now();
    enqueue(&outbox, 1..=3, &["hook"]);
    tokio::time::sleep(3 * MINUTE).await;
    enqueue(&outbox, 4..=6, &["hook"]); // more transitions during the outage
    tokio::time::sleep_until(start + 10 * MINUTE).await;
    receiver.set_down(false);
    run_until(10 * MINUTE, || outbox.pending_count() == 0).await;
    handle.stop().await;

    let accepted = receiver.accepted();
    let ids: Vec<String> = accepted
        .iter()
        .map(|s| s.header("webhook-id").to_string())
        .collect();
    let expected: Vec<String> = (1..=6).map(|v| format!("tg_test_{v:04}")).collect();
    assert_eq!(ids, expected, "each transition accepted once, in order");
    assert!(accepted[0].at >= start + 10 * MINUTE);
    assert_eq!(receiver.seen().len(), 6, "no request reached it twice");
    // Attempts while down were connections the receiver dropped; the gap
    // between attempts n and n+1 is retry n's backoff, within its jitter
    // bounds, and the last one before recovery is at most the cap apart.
    let mut attempts = receiver.refused_at();
    assert!(
        attempts.len() >= 10,
        "retried throughout the outage: {}",
        attempts.len()
    );
    assert!(
        attempts[0] - start < Duration::from_millis(50),
        "first attempt at once"
    );
    attempts.push(accepted[0].at);
    for (retry, pair) in attempts.windows(2).enumerate() {
        let (low, high) = policy().bounds(retry as u32 + 1);
        let gap = pair[1] - pair[0];
        assert!(
            gap >= low && gap <= high + Duration::from_millis(50),
            "retry {}: {gap:?} not in [{low:?}, {high:?}]",
            retry + 1
        );
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_in_seconds_and_as_a_date_is_never_anticipated() {
    let origin = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let clock = TokioClock::starting_at(origin);
    let script_clock = clock;
    let receiver = TestReceiver::start(move |_, index| match index {
        0 | 1 => (429, vec![("retry-after", "7".to_string())]),
        2 => (
            503,
            vec![(
                "retry-after",
                httpdate::fmt_http_date(script_clock.now() + Duration::from_secs(20)),
            )],
        ),
        3 => (
            429,
            vec![(
                "retry-after",
                httpdate::fmt_http_date(script_clock.now() + Duration::from_secs(95)),
            )],
        ),
        _ => (200, vec![]),
    })
    .await;
    let outbox = Arc::new(Outbox::in_memory());
    let notifier = webhook("hook", &receiver.url).with_clock(Arc::new(clock));
    let handle = Dispatcher::new(vec![notifier])
        .unwrap()
        .start(outbox.clone());
    enqueue(&outbox, 1..=2, &["hook"]);
    run_until(10 * MINUTE, || outbox.pending_count() == 0).await;
    handle.stop().await;

    let seen = receiver.seen();
    let asked = [7, 7, 20, 95];
    for (index, wait) in asked.iter().enumerate() {
        let gap = seen[index + 1].at - seen[index].at;
        assert!(
            gap >= Duration::from_secs(*wait),
            "request {} came {gap:?} after a Retry-After of {wait}s",
            index + 1
        );
    }
    let ids: BTreeSet<&str> = seen
        .iter()
        .filter(|s| s.status == 200)
        .map(|s| s.header("webhook-id"))
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(["tg_test_0001", "tg_test_0002"]),
        "nothing lost"
    );
    assert!(seen.iter().all(|s| !s.header("webhook-id").is_empty()));
    let _: SystemTime = clock.now();
}

#[tokio::test(start_paused = true)]
async fn slack_gets_at_most_one_post_a_second_and_a_429_storm_loses_nothing() {
    let receiver = TestReceiver::start(|_, index| match index {
        0..=4 => (429, vec![("retry-after", "2".to_string())]),
        _ => (200, vec![]),
    })
    .await;
    let outbox = Arc::new(Outbox::in_memory());
    let handle = Dispatcher::new(vec![slack("ops-slack", &receiver.url)])
        .unwrap()
        .start(outbox.clone());
    // A burst of 120 transitions, and a trickle while Slack throttles.
    enqueue(&outbox, 1..=120, &["ops-slack"]);
    for version in 121..=140 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        enqueue(&outbox, version..=version, &["ops-slack"]);
    }
    run_until(10 * MINUTE, || outbox.pending_count() == 0).await;
    handle.stop().await;

    let seen = receiver.seen();
    for pair in seen.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_secs(1), "two posts {gap:?} apart");
        if pair[0].status == 429 {
            assert!(
                gap >= Duration::from_secs(2),
                "a post {gap:?} after Retry-After: 2"
            );
        }
    }
    let mut carried = BTreeMap::new();
    for accepted in seen.iter().filter(|s| s.status == 200) {
        let text = String::from_utf8_lossy(&accepted.body).to_string();
        for version in 1..=140u64 {
            if text.contains(&format!("tg_test_{version:04}")) {
                *carried.entry(version).or_insert(0) += 1;
            }
        }
    }
    assert_eq!(carried.len(), 140, "every transition reached Slack");
    assert!(carried.values().all(|&n| n == 1), "and each once");
    assert!(
        seen.len() < 20,
        "coalesced into digests: {} posts",
        seen.len()
    );
}

#[tokio::test]
async fn a_crash_between_the_200_and_recording_it_resends_the_same_id() {
    let path = std::env::temp_dir().join(format!("tripgate-outbox-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let receiver = TestReceiver::start(|_, _| (200, vec![])).await;
    {
        let outbox = Arc::new(Outbox::open_file(&path).unwrap());
        enqueue(&outbox, 1..=2, &["hook"]);
        outbox.simulate_crash_before_recording();
        let handle = Dispatcher::new(vec![webhook("hook", &receiver.url)])
            .unwrap()
            .start(outbox.clone());
        run_until(Duration::from_secs(10), || !receiver.accepted().is_empty()).await;
        handle.stop().await;
        assert_eq!(outbox.pending_count(), 2, "the delivery was never recorded");
    }
    // The restart: a new outbox from the same journal, a new dispatcher.
    let outbox = Arc::new(Outbox::open_file(&path).unwrap());
    assert_eq!(outbox.pending_count(), 2);
    let handle = Dispatcher::new(vec![webhook("hook", &receiver.url)])
        .unwrap()
        .start(outbox.clone());
    run_until(Duration::from_secs(10), || outbox.pending_count() == 0).await;
    handle.stop().await;
    let ids: Vec<String> = receiver
        .accepted()
        .iter()
        .map(|s| s.header("webhook-id").to_string())
        .collect();
    assert_eq!(
        ids,
        ["tg_test_0001", "tg_test_0001", "tg_test_0002"],
        "re-sent with the same id"
    );
    drop(outbox);
    assert_eq!(
        Outbox::open_file(&path).unwrap().pending_count(),
        0,
        "recorded once delivered"
    );
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(start_paused = true)]
async fn a_4xx_is_parked_a_410_disables_the_endpoint_and_redirects_are_not_followed() {
    let refusing = TestReceiver::start(|_, index| match index {
        0 => (400, vec![]),
        1 => (
            302,
            vec![("location", "http://127.0.0.1:9/elsewhere".to_string())],
        ),
        _ => (410, vec![]),
    })
    .await;
    let healthy = TestReceiver::start(|_, _| (200, vec![])).await;
    let outbox = Arc::new(Outbox::in_memory());
    let dispatcher = Dispatcher::new(vec![
        webhook("refusing", &refusing.url),
        webhook("healthy", &healthy.url),
    ])
    .unwrap();
    let stats = dispatcher.stats();
    let handle = dispatcher.start(outbox.clone());
    enqueue(&outbox, 1..=5, &["refusing", "healthy"]);
    run_until(MINUTE, || outbox.pending_count() == 0).await;
    handle.stop().await;

    assert_eq!(
        refusing.seen().len(),
        3,
        "400, 302 and 410 each tried once; nothing after the 410"
    );
    assert_eq!(healthy.accepted().len(), 5);
    let parked = outbox.parked();
    assert_eq!(parked.len(), 5);
    assert!(parked[0].error.contains("400"), "{:?}", parked[0]);
    assert!(
        parked[1].error.contains("redirects are not followed"),
        "{:?}",
        parked[1]
    );
    assert!(parked[3].error.contains("disabled"), "{:?}", parked[3]);
    assert_eq!(stats.disabled(), ["refusing"]);
    assert_eq!(stats.counts("refusing").unwrap().failed, 5);
}
