//! Broker outages against a real broker: tripgate started while the broker
//! is down stays up and reports degraded on /readyz; the broker stopped for
//! 70 s mid-stream and started again; the output is still identical to
//! backtest's. Its own test binary, because pausing the shared broker would
//! disturb tests running beside it (cargo runs test binaries one at a time).

mod live_common;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use live_common::*;

fn kafka_script(command: &str) {
    let script = std::env::var("TRIPGATE_KAFKA_SCRIPT")
        .expect("TRIPGATE_KAFKA_SCRIPT is set with the broker");
    run_ok(Command::new("bash").arg(script).arg(command));
}

#[test]
fn broker_down_at_start_and_for_70s_mid_stream() {
    let Some(bootstrap) = bootstrap() else { return };
    let scenario = Scenario::new("outage", &bootstrap, None);
    // A week: more than tripgate buffers (the merge holds 20,000 records a
    // partition), so the outage below falls mid-stream however fast it reads.
    let events = scenario.simulate_days(7, 31);
    let expected = scenario.expected_live_output(&events);
    let expected_lines = expected.lines().count();
    scenario.produce(&events);
    let out = scenario.dir.join("live.jsonl");
    let port = free_port();

    kafka_script("pause");
    let mut child = scenario.start(&out, port, &[]);
    let resume_on_failure = scopeguard(|| {
        let _ = Command::new("bash")
            .arg(std::env::var("TRIPGATE_KAFKA_SCRIPT").unwrap())
            .arg("resume")
            .status();
    });
    wait_readyz(port, 503, "degraded", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(10));
    assert!(
        child.try_wait().unwrap().is_none(),
        "tripgate must wait for the broker\n{}",
        tail(&scenario.log())
    );
    assert_eq!(
        http_get(port, "/healthz").map(|(status, _)| status),
        Some(200)
    );
    kafka_script("resume");
    wait_readyz(port, 200, "ready", Duration::from_secs(120));

    // Mid-stream: some ticks out, most still to come.
    let started = Instant::now();
    while lines_in(&out) < expected_lines / 10 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no progress\n{}",
            tail(&scenario.log())
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "{}",
            tail(&scenario.log())
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    kafka_script("pause");
    let paused_at = Instant::now();
    wait_readyz(port, 503, "degraded", Duration::from_secs(60));
    let remaining = Duration::from_secs(70).saturating_sub(paused_at.elapsed());
    std::thread::sleep(remaining);
    assert!(
        child.try_wait().unwrap().is_none(),
        "tripgate must survive the outage\n{}",
        tail(&scenario.log())
    );
    assert!(
        lines_in(&out) < expected_lines,
        "the outage should have been mid-stream"
    );
    kafka_script("resume");
    drop(resume_on_failure);

    scenario.wait_caught_up(&mut child, &out, &expected);
    wait_readyz(port, 200, "ready", Duration::from_secs(60));
    let status = terminate(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status}\n{}", tail(&scenario.log()));
    assert_eq!(fs::read_to_string(&out).unwrap(), expected);
}

/// Runs `f` on drop unless defused: a failed assertion must not leave the
/// shared broker paused for the tests after this one.
struct Guard<F: FnMut()>(Option<F>);

impl<F: FnMut()> Drop for Guard<F> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(mut f) = self.0.take() {
                f();
            }
        }
    }
}

fn scopeguard<F: FnMut()>(f: F) -> Guard<F> {
    Guard(Some(f))
}
