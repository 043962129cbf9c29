//! Crash injection for the recovery tests: `TRIPGATE_FAILPOINT=NAME[:N]`
//! aborts the process (as SIGKILL would) the Nth time (default first) the
//! code passes the point NAME. Unset in production; reading it costs one
//! atomic load after the first call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

static ARMED: OnceLock<Option<(String, u64)>> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);

pub fn hit(name: &str) {
    let armed = ARMED.get_or_init(|| {
        let value = std::env::var("TRIPGATE_FAILPOINT").ok()?;
        let (point, count) = match value.split_once(':') {
            Some((point, count)) => (point.to_string(), count.parse().unwrap_or(1)),
            None => (value, 1),
        };
        Some((point, count))
    });
    let Some((point, count)) = armed else { return };
    if point == name && HITS.fetch_add(1, Ordering::Relaxed) + 1 == *count {
        eprintln!("failpoint {name} reached: aborting");
        std::process::abort();
    }
}
