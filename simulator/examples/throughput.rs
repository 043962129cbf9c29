//! Measures how many events `simulate` produces per simulated day and per second of wall time.
//!
//! `cargo run --release -p tripgate-simulator --example throughput -- [DAYS]`

use std::collections::BTreeMap;
use std::time::Instant;

const START: i64 = 1_735_689_600_000_000_000; // 2025-01-01T00:00:00Z
const DAY_PREFIX_LENGTH: usize = "2025-01-01".len();

fn main() {
    let days: u32 = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(7);
    let started = Instant::now();
    let mut per_day: BTreeMap<[u8; DAY_PREFIX_LENGTH], u64> = BTreeMap::new();
    let mut bytes = 0usize;
    for line in tripgate_simulator::simulate(days, 1, START) {
        bytes += line.len() + 1;
        // occurred_at always follows `"occurred_at":"`, written by the simulator itself.
        let at = line
            .find("\"occurred_at\":\"")
            .map_or(0, |position| position + 15);
        let mut day = [0u8; DAY_PREFIX_LENGTH];
        day.copy_from_slice(&line.as_bytes()[at..at + DAY_PREFIX_LENGTH]);
        *per_day.entry(day).or_default() += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total: u64 = per_day.values().sum();
    for (day, count) in &per_day {
        println!("{} {count} events", String::from_utf8_lossy(day));
    }
    println!(
        "{total} events ({:.1} MB) in {elapsed:.2}s: {:.0} events/s",
        bytes as f64 / 1e6,
        total as f64 / elapsed
    );
}
