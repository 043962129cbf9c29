//! What the aggregator hands the alerter at each closed tick.

use std::sync::Arc;

use crate::duration::Span;
use crate::kpi::{Kpi, KpiKind, ScopeDim, Stat};
use crate::time::Nanos;

/// One window the aggregator keeps per key: `window` long, ending `offset`
/// before the tick (offset 0: the rule's own window; otherwise a baseline).
/// Gauges have no window; their offset reads the gauge at `tick - offset`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WindowSpec {
    pub kpi: Kpi,
    pub scope: ScopeDim,
    pub window: Option<Span>,
    pub offset: Nanos,
}

impl WindowSpec {
    /// Whether backtest writes `kpi` records for it (baselines get none).
    pub fn is_reported(&self) -> bool {
        self.offset == 0
    }

    /// The identity used to share one window between rules.
    pub fn same_as(&self, other: &WindowSpec) -> bool {
        self.kpi == other.kpi
            && self.scope == other.scope
            && self.offset == other.offset
            && self.window.as_ref().map(Span::nanos) == other.window.as_ref().map(Span::nanos)
    }
}

/// A distribution's reported numbers (seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DistributionStats {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
}

/// A KPI's value for one key at one tick. Snapshots only carry keys with
/// samples (gauges: a value above 0); a missing key has no samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Measure {
    Ratio { value: f64, samples: u64 },
    Distribution(DistributionStats),
    Gauge { value: i64 },
}

impl Measure {
    pub fn kind(&self) -> KpiKind {
        match self {
            Measure::Ratio { .. } => KpiKind::Ratio,
            Measure::Distribution(_) => KpiKind::Distribution,
            Measure::Gauge { .. } => KpiKind::Gauge,
        }
    }

    /// The number a rule with `stat` compares.
    pub fn stat(&self, stat: Stat) -> f64 {
        match (self, stat) {
            (Measure::Ratio { value, .. }, _) => *value,
            (Measure::Gauge { value }, _) => *value as f64,
            (Measure::Distribution(d), Stat::Count) => d.count as f64,
            (Measure::Distribution(d), Stat::Mean | Stat::Value) => d.mean,
            (Measure::Distribution(d), Stat::P50) => d.p50,
            (Measure::Distribution(d), Stat::P90) => d.p90,
            (Measure::Distribution(d), Stat::P95) => d.p95,
            (Measure::Distribution(d), Stat::P99) => d.p99,
        }
    }

    /// `samples`; gauges have none.
    pub fn samples(&self) -> Option<u64> {
        match self {
            Measure::Ratio { samples, .. } => Some(*samples),
            Measure::Distribution(d) => Some(d.count),
            Measure::Gauge { .. } => None,
        }
    }
}

/// The values of one `WindowSpec` at a tick, keys in admission order.
#[derive(Clone, Debug, Default)]
pub struct SeriesValues {
    pub values: Vec<(Arc<str>, Measure)>,
}

/// Everything computed at one closed tick; `series[i]` belongs to the i-th
/// `WindowSpec` the aggregator was built with.
#[derive(Clone, Debug)]
pub struct TickSnapshot {
    pub tick: Nanos,
    pub series: Vec<SeriesValues>,
}
