//! Shared by the live-mode tests: a real broker (from scripts/test.sh),
//! unique topics per test, tripgate as a child process, a local webhook
//! receiver, and the backtest output live mode must reproduce.
#![allow(dead_code)]

mod http;
// Not every test uses the HTTP helpers (see `dead_code` above).
#[allow(unused_imports)]
pub use http::*;

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const TRIPGATE: &str = env!("CARGO_BIN_EXE_tripgate");
pub const WEBHOOK_SECRET: &str = "whsec_dHJpcGdhdGUtbGl2ZS10ZXN0LXNpZ25pbmcta2V5ISE=";

/// The broker address, or `None` (with the message the suite promises)
/// when the tests run without scripts/test.sh.
pub fn bootstrap() -> Option<String> {
    match std::env::var("TRIPGATE_KAFKA_BOOTSTRAP") {
        Ok(address) if !address.is_empty() => Some(address),
        _ => {
            // Straight to the process's stderr: the test harness captures eprintln!,
            // and a skipped check must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "TRIPGATE_KAFKA_BOOTSTRAP not set: broker tests not run"
            );
            None
        }
    }
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A scratch directory plus the configs of one test's pipeline.
pub struct Scenario {
    pub dir: PathBuf,
    pub name: String,
    pub rules: PathBuf,
    pub kafka: PathBuf,
}

/// Rules chosen so a simulated day makes breakers and a gate move (so
/// transitions and notifications are checked, not only KPIs). The huge
/// idle_timeout keeps the clock from closing ticks while the topics are
/// idle, so what a run writes depends on the events alone.
pub fn rules_toml(notify: bool) -> String {
    let notify = if notify { "notify = [\"hook\"]" } else { "" };
    format!(
        r#"
[pipeline]
idle_timeout = "3650d"

[[rule]]
name = "orders-busy"
kpi = "order_rate"
scope = "region"
window = "10m"
yellow = {{ above = 400 }}
red = {{ above = 700 }}
for = "2m"
{notify}

[[rule]]
name = "backlog"
kpi = "fulfillment_backlog"
scope = "warehouse"
yellow = {{ above = 300 }}
red = {{ above = 600 }}
{notify}

[[rule]]
name = "support"
kpi = "support_queue"
scope = "global"
yellow = {{ above = 20 }}
red = {{ above = 50 }}
{notify}

[[rule]]
name = "response"
kpi = "first_response_time"
stat = "mean"
scope = "global"
window = "30m"
yellow = {{ above = 28 }}
{notify}

[[gate]]
name = "readiness"
rules = ["support", "response"]
min_green = 2
{notify}
"#
    )
}

impl Scenario {
    pub fn new(prefix: &str, bootstrap: &str, webhook: Option<&str>) -> Scenario {
        let name = unique(prefix);
        let dir = std::env::temp_dir().join(format!("tripgate-{name}"));
        fs::create_dir_all(&dir).unwrap();
        let mut rules = rules_toml(webhook.is_some());
        if let Some(url) = webhook {
            rules += &format!(
                "\n[notifier.hook]\nkind = \"webhook\"\nurl = \"{url}\"\nsecret = \"{WEBHOOK_SECRET}\"\ntimeout = \"2s\"\n"
            );
        }
        let kafka = format!(
            r#"
[kafka]
bootstrap = "{bootstrap}"
group_id = "{name}-group"
dead_letter_topic = "{name}-dlq"
state_topic = "{name}-state"
checkpoint_interval = "1s"
statistics_interval = "1s"
partition_idle = "300ms"
shutdown_deadline = "20s"
partitions = 3
[kafka.topics]
orders = "{name}-orders"
fulfillment = "{name}-fulfillment"
tickets = "{name}-tickets"
"#
        );
        let rules_path = dir.join("rules.toml");
        let kafka_path = dir.join("kafka.toml");
        fs::write(&rules_path, rules).unwrap();
        fs::write(&kafka_path, kafka).unwrap();
        Scenario {
            dir,
            name,
            rules: rules_path,
            kafka: kafka_path,
        }
    }

    pub fn topic(&self, which: &str) -> String {
        format!("{}-{which}", self.name)
    }

    /// A simulated day (about 63,000 events), cut to `lines` if given.
    pub fn simulate(&self, seed: u64, lines: Option<usize>) -> PathBuf {
        let full = self.simulate_days(1, seed);
        let events = self.dir.join("events.jsonl");
        match lines {
            Some(lines) => {
                let text = fs::read_to_string(&full).unwrap();
                let cut: Vec<&str> = text.lines().take(lines).collect();
                fs::write(&events, cut.join("\n") + "\n").unwrap();
            }
            None => fs::rename(&full, &events).unwrap(),
        }
        events
    }

    /// `days` simulated days (about 55,000 to 63,000 events a day).
    pub fn simulate_days(&self, days: u32, seed: u64) -> PathBuf {
        let events = self.dir.join(format!("events-{days}d.jsonl"));
        run_ok(
            Command::new(TRIPGATE)
                .args(["simulate", "--days", &days.to_string()])
                .args(["--seed", &seed.to_string()])
                .arg("--out")
                .arg(&events),
        );
        events
    }

    pub fn produce(&self, events: &Path) {
        run_ok(
            Command::new(TRIPGATE)
                .arg("produce")
                .arg("--events")
                .arg(events)
                .arg("--config")
                .arg(&self.rules)
                .arg("--config")
                .arg(&self.kafka),
        );
    }

    /// What `run --out` must write once caught up: backtest's records
    /// without the ticks only the end of input closes. Backtest moves the
    /// watermark to the last event at end of input; a live run's stays
    /// `allowed_lateness` (2m = 2 ticks) behind it, as the contract says.
    pub fn expected_live_output(&self, events: &Path) -> String {
        let text = self.backtest_output(events);
        let ticks: Vec<&str> = text.lines().map(tick_of).collect();
        let last = ticks.last().copied().unwrap_or_default().to_string();
        let mut distinct: Vec<&str> = ticks.clone();
        distinct.dedup();
        assert!(distinct.len() > 3, "backtest closed too few ticks");
        // Ticks are RFC 3339 UTC strings of one format: they sort as text.
        let keep_until = distinct[distinct.len() - 3];
        assert!(keep_until < last.as_str());
        up_to_tick(&text, keep_until)
    }

    /// `tripgate backtest` of `events` with the scenario's rules.
    pub fn backtest_output(&self, events: &Path) -> String {
        let out = self.dir.join("backtest.jsonl");
        run_ok(
            Command::new(TRIPGATE)
                .arg("backtest")
                .arg("--events")
                .arg(events)
                .arg("--config")
                .arg(&self.rules)
                .arg("--out")
                .arg(&out),
        );
        fs::read_to_string(&out).unwrap()
    }

    /// Waits (4 minutes at most) until `out` holds exactly `expected`.
    pub fn wait_caught_up(&self, child: &mut Child, out: &Path, expected: &str) {
        wait_for_output(self, child, out, expected, Duration::from_secs(240));
    }

    /// Replaces the `[pipeline]` settings (by default a huge idle_timeout
    /// only) before tripgate starts.
    pub fn set_pipeline(&self, settings: &str) {
        let rules = fs::read_to_string(&self.rules).unwrap();
        let replaced = rules.replacen("idle_timeout = \"3650d\"", settings, 1);
        assert_ne!(rules, replaced);
        fs::write(&self.rules, replaced).unwrap();
    }

    /// Starts `tripgate run --out` with its log in the scenario directory.
    pub fn start(&self, out: &Path, port: u16, extra_env: &[(&str, &str)]) -> Tripgate {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("tripgate.log"))
            .unwrap();
        let mut command = Command::new(TRIPGATE);
        command
            .arg("run")
            .arg("--config")
            .arg(&self.rules)
            .arg("--config")
            .arg(&self.kafka)
            .arg("--out")
            .arg(out)
            .env("TRIPGATE__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env_remove("TRIPGATE_FAILPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (key, value) in extra_env {
            command.env(key, value);
        }
        Tripgate(command.spawn().unwrap())
    }

    /// tripgate's stderr so far, without terminal colour codes.
    pub fn log(&self) -> String {
        let raw = fs::read_to_string(self.dir.join("tripgate.log")).unwrap_or_default();
        let mut plain = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for skipped in chars.by_ref() {
                    if skipped.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                plain.push(c);
            }
        }
        plain
    }
}

/// A passing test leaves nothing behind; a failing one keeps its directory
/// (configs, logs, outputs) for whoever investigates.
impl Drop for Scenario {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A running tripgate, killed when dropped so a failed test leaves no
/// process behind.
pub struct Tripgate(pub Child);

impl std::ops::Deref for Tripgate {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Tripgate {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Tripgate {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

pub fn tick_of(line: &str) -> &str {
    let start = line.find("\"tick\":\"").expect("every record has a tick") + 8;
    &line[start..start + line[start..].find('"').unwrap()]
}

pub fn run_ok(command: &mut Command) {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `out` holds exactly `expected`; panics with the log after
/// `timeout`, or at once if tripgate exits.
pub fn wait_for_output(
    scenario: &Scenario,
    child: &mut Child,
    out: &Path,
    expected: &str,
    timeout: Duration,
) {
    wait_for_output_where(scenario, child, out, expected, timeout, |written| {
        written.to_string()
    });
}

/// Like `wait_for_output`, comparing what `view` makes of the output.
pub fn wait_for_output_where(
    scenario: &Scenario,
    child: &mut Child,
    out: &Path,
    expected: &str,
    timeout: Duration,
    view: impl Fn(&str) -> String,
) {
    let started = Instant::now();
    loop {
        let written = view(&fs::read_to_string(out).unwrap_or_default());
        if written == expected {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "tripgate exited ({status}) before catching up\n{}",
                tail(&scenario.log())
            );
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            panic!(
                "output not identical after {timeout:?}: {} of {} bytes, first difference at byte {:?}\n{}",
                written.len(),
                expected.len(),
                written.bytes().zip(expected.bytes()).position(|(a, b)| a != b),
                tail(&scenario.log())
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The lines of `text` whose tick is at most `last` (RFC 3339 UTC ticks of
/// one format sort as text).
pub fn up_to_tick(text: &str, last: &str) -> String {
    let kept: Vec<&str> = text.lines().filter(|line| tick_of(line) <= last).collect();
    kept.join("\n") + "\n"
}

/// The non-empty lines of a file, as bytes (logs may hold invalid UTF-8).
pub fn read_lines(path: &Path) -> Vec<Vec<u8>> {
    fs::read(path)
        .unwrap()
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Lines of `out` so far (0 if missing).
pub fn lines_in(out: &Path) -> usize {
    fs::read_to_string(out)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

pub fn terminate(child: &mut Child, timeout: Duration) -> ExitStatus {
    run_ok(
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string()),
    );
    wait_exit(child, timeout).expect("tripgate did not stop after SIGTERM in time")
}

pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}
