//! The wall clock delivery reads, injected so tests control it.
//!
//! Delivery waits with tokio's timers (which tests pause and advance), but a
//! `Retry-After` given as an HTTP date needs the wall clock to turn into a
//! wait. [`TokioClock`] derives wall time from tokio's clock, so in a test
//! with paused time the date and the timers move together.

use std::fmt;
use std::time::{Duration, SystemTime};

pub trait WallClock: Send + Sync {
    fn now(&self) -> SystemTime;
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Wall time = `origin` + time elapsed on tokio's clock since creation.
#[derive(Clone, Copy)]
pub struct TokioClock {
    origin: SystemTime,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// Must be created inside a runtime (tokio's clock belongs to it).
    pub fn starting_at(origin: SystemTime) -> TokioClock {
        TokioClock {
            origin,
            start: tokio::time::Instant::now(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

impl WallClock for TokioClock {
    fn now(&self) -> SystemTime {
        self.origin + self.start.elapsed()
    }
}

impl fmt::Debug for TokioClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioClock")
            .field("now", &self.now())
            .finish()
    }
}
