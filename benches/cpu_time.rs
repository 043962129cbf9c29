//! A criterion measurement of the benchmark thread's own CPU time, shared by
//! the crates' benches (`#[path]`-included, so it is not a crate of its own).
//!
//! The targets are per core: work ÷ CPU-seconds. Wall time on this
//! 2-core machine also counts whatever else runs (builds, a broker), so a
//! loaded machine would report a slower tripgate; thread CPU time does not.
//! Criterion still prints it under "time:".

use std::time::Duration;

use ::cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// Wall time's formatter prints durations, which CPU time also is.
static WALL_TIME: WallTime = WallTime;

pub struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }

    fn end(&self, started: ThreadTime) -> Duration {
        started.elapsed()
    }

    fn add(&self, first: &Duration, second: &Duration) -> Duration {
        *first + *second
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        WALL_TIME.formatter()
    }
}
