//! KPI names, kinds, scopes, statistics and bands (contract sections 5 and 6).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The ten KPIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kpi {
    CycleTime,
    OnTimeRate,
    DefectRate,
    FulfillmentBacklog,
    SupportQueue,
    FirstResponseTime,
    RefundRate,
    ChargebackRate,
    ContributionMargin,
    OrderRate,
}

/// How a KPI aggregates, which decides its stats and output fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KpiKind {
    Ratio,
    Distribution,
    Gauge,
}

impl Kpi {
    pub const ALL: [Kpi; 10] = [
        Kpi::CycleTime,
        Kpi::OnTimeRate,
        Kpi::DefectRate,
        Kpi::FulfillmentBacklog,
        Kpi::SupportQueue,
        Kpi::FirstResponseTime,
        Kpi::RefundRate,
        Kpi::ChargebackRate,
        Kpi::ContributionMargin,
        Kpi::OrderRate,
    ];

    pub fn kind(self) -> KpiKind {
        match self {
            Kpi::CycleTime | Kpi::FirstResponseTime => KpiKind::Distribution,
            Kpi::FulfillmentBacklog | Kpi::SupportQueue => KpiKind::Gauge,
            _ => KpiKind::Ratio,
        }
    }

    /// The scopes the contract defines for this KPI.
    pub fn scopes(self) -> &'static [ScopeDim] {
        use ScopeDim::*;
        match self {
            Kpi::CycleTime | Kpi::OnTimeRate => &[Global, Warehouse, Region, Channel, Carrier],
            Kpi::DefectRate => &[Global, Sku, Warehouse],
            Kpi::FulfillmentBacklog => &[Global, Warehouse],
            Kpi::SupportQueue | Kpi::FirstResponseTime => &[Global, Category, Priority],
            Kpi::RefundRate | Kpi::ChargebackRate | Kpi::ContributionMargin | Kpi::OrderRate => {
                &[Global, Channel, Region]
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kpi::CycleTime => "cycle_time",
            Kpi::OnTimeRate => "on_time_rate",
            Kpi::DefectRate => "defect_rate",
            Kpi::FulfillmentBacklog => "fulfillment_backlog",
            Kpi::SupportQueue => "support_queue",
            Kpi::FirstResponseTime => "first_response_time",
            Kpi::RefundRate => "refund_rate",
            Kpi::ChargebackRate => "chargeback_rate",
            Kpi::ContributionMargin => "contribution_margin",
            Kpi::OrderRate => "order_rate",
        }
    }
}

impl fmt::Display for Kpi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope dimension; `Global` has the single key `all`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeDim {
    Global,
    Warehouse,
    Region,
    Channel,
    Carrier,
    Sku,
    Category,
    Priority,
}

impl ScopeDim {
    pub const GLOBAL_KEY: &'static str = "all";

    pub fn as_str(self) -> &'static str {
        match self {
            ScopeDim::Global => "global",
            ScopeDim::Warehouse => "warehouse",
            ScopeDim::Region => "region",
            ScopeDim::Channel => "channel",
            ScopeDim::Carrier => "carrier",
            ScopeDim::Sku => "sku",
            ScopeDim::Category => "category",
            ScopeDim::Priority => "priority",
        }
    }
}

impl fmt::Display for ScopeDim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which number of a KPI a rule compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    #[default]
    Value,
    Count,
    Mean,
    P50,
    P90,
    P95,
    P99,
}

impl Stat {
    pub fn as_str(self) -> &'static str {
        match self {
            Stat::Value => "value",
            Stat::Count => "count",
            Stat::Mean => "mean",
            Stat::P50 => "p50",
            Stat::P90 => "p90",
            Stat::P95 => "p95",
            Stat::P99 => "p99",
        }
    }

    /// The percentile this stat asks for, if it is one.
    pub fn percentile(self) -> Option<u32> {
        match self {
            Stat::P50 => Some(50),
            Stat::P90 => Some(90),
            Stat::P95 => Some(95),
            Stat::P99 => Some(99),
            _ => None,
        }
    }

    pub fn valid_for(self, kind: KpiKind) -> bool {
        match kind {
            KpiKind::Distribution => self != Stat::Value,
            KpiKind::Ratio | KpiKind::Gauge => self == Stat::Value,
        }
    }
}

/// An observed band or a breaker state. Ordered from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Green,
    Yellow,
    Red,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Green => "green",
            Band::Yellow => "yellow",
            Band::Red => "red",
        }
    }

    /// The value of `tripgate_breaker_band`.
    pub fn metric_value(self) -> f64 {
        match self {
            Band::Green => 0.0,
            Band::Yellow => 1.0,
            Band::Red => 2.0,
        }
    }
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
