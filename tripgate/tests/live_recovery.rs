//! Crash recovery against a real broker: tripgate is killed at several
//! points (inside a checkpoint before and after its manifest, just before
//! one, mid-stream, during startup) and restarted each time. The output
//! must be byte-identical to an uninterrupted run, and the webhook receiver
//! must have seen every transition, none under a second id.

mod live_common;

use std::fs;
use std::time::{Duration, Instant};

use live_common::*;

/// Runs until the failpoint aborts it.
fn crash_at(scenario: &Scenario, out: &std::path::Path, failpoint: &str) {
    let mut child = scenario.start(out, free_port(), &[("TRIPGATE_FAILPOINT", failpoint)]);
    let status = wait_exit(&mut child, Duration::from_secs(90)).unwrap_or_else(|| {
        panic!(
            "failpoint {failpoint} never reached\n{}",
            tail(&scenario.log())
        )
    });
    assert!(
        !status.success(),
        "expected an abort at {failpoint}, got {status}"
    );
    assert!(scenario.log().contains(&format!(
        "failpoint {}",
        failpoint.split(':').next().unwrap()
    )));
}

fn out_bytes(out: &std::path::Path) -> u64 {
    std::fs::metadata(out).map_or(0, |m| m.len())
}

fn kill_after(mut child: Tripgate, after: Duration) {
    std::thread::sleep(after);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn sigkill_anywhere_then_restart_gives_identical_output_and_notifications() {
    let Some(bootstrap) = bootstrap() else { return };
    // Slow enough that checkpoints (and crashes) find notifications undelivered.
    let receiver = Receiver::start_with_delay(Duration::from_millis(40));
    let scenario = Scenario::new("crash", &bootstrap, Some(&receiver.url));
    // Checkpoints every 50ms: the crash points below fall mid-stream
    // however fast tripgate reads (a day took under a second).
    let kafka = fs::read_to_string(&scenario.kafka).unwrap();
    let often = kafka.replace(
        "checkpoint_interval = \"1s\"",
        "checkpoint_interval = \"50ms\"",
    );
    assert_ne!(kafka, often);
    fs::write(&scenario.kafka, often).unwrap();
    let events = scenario.simulate_days(3, 23);
    let expected = scenario.expected_live_output(&events);
    let transitions = transitions_in_output(&expected);
    assert!(transitions.len() > 20, "the rules must make transitions");
    scenario.produce(&events);
    let out = scenario.dir.join("live.jsonl");

    // Inside the first checkpoint, chunks written and manifest not: the
    // restart finds no checkpoint. Then after a manifest, before superseded
    // chunks are deleted and offsets committed; then just before one.
    crash_at(&scenario, &out, "checkpoint-before-manifest:1");
    crash_at(&scenario, &out, "checkpoint-after-manifest:1");
    crash_at(&scenario, &out, "checkpoint-start:2");
    // Mid-stream, between checkpoints: SIGKILL as soon as the restarted run
    // writes past where the last one stopped (however fast it runs).
    let before = out_bytes(&out);
    let mut child = scenario.start(&out, free_port(), &[]);
    let started = Instant::now();
    while out_bytes(&out) <= before {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the restarted run wrote nothing\n{}",
            tail(&scenario.log())
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        lines_in(&out) < expected.lines().count(),
        "the kills should have been mid-stream"
    );
    // During startup and restore.
    kill_after(
        scenario.start(&out, free_port(), &[]),
        Duration::from_millis(300),
    );

    let port = free_port();
    let mut child = scenario.start(&out, port, &[]);
    // Restored and running before the output is judged: the file may hold
    // records from the killed run beyond its checkpoint, which this run
    // first truncates and then writes again.
    wait_readyz(port, 200, "ready", Duration::from_secs(60));
    scenario.wait_caught_up(&mut child, &out, &expected);
    let started = Instant::now();
    while receiver.by_id().len() < transitions.len() && started.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = terminate(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status}\n{}", tail(&scenario.log()));
    assert_eq!(fs::read_to_string(&out).unwrap(), expected);

    let by_id = receiver.by_id();
    let notified = transitions_in_bodies(by_id.values());
    assert_eq!(
        notified.len(),
        transitions.len(),
        "one id per transition ({} requests in all)",
        receiver.received.lock().unwrap().len()
    );
    assert_eq!(
        notified, transitions,
        "every transition notified, none twice under another id"
    );
    let log = scenario.log();
    assert!(
        log.contains("pending_notifications")
            && log.lines().any(|line| line.contains("checkpoint restored")
                && !line.contains("pending_notifications=0")),
        "no restart had undelivered notifications to re-send"
    );
    let restarts = scenario.log().matches("checkpoint restored").count();
    assert!(
        restarts >= 3,
        "expected restarts from checkpoints, saw {restarts}"
    );
    assert!(scenario
        .log()
        .contains("no checkpoint: starting from the beginning"));
}
