//! Number and text formatting shared by the status page and the backtest
//! report, so a KPI reads the same in both (and as the contract defines it).

use std::fmt::Write as _;

use tripgate_model::config::Threshold;
use tripgate_model::{Kpi, Stat};

/// Escapes text for HTML element content and attribute values. Keys come
/// from events, so everything shown is escaped, never trusted.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A KPI value in the unit a person thinks in: rates of orders as percent,
/// durations as minutes and seconds, everything else as a plain number.
pub fn kpi_value(kpi: Kpi, stat: Stat, value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    match (kpi, stat) {
        (_, Stat::Count) => format!("{value:.0}"),
        (Kpi::OnTimeRate | Kpi::DefectRate | Kpi::RefundRate | Kpi::ChargebackRate, _) => {
            format!("{:.1}%", value * 100.0)
        }
        (Kpi::CycleTime | Kpi::FirstResponseTime, _) => duration(value),
        (Kpi::OrderRate, _) => format!("{value:.1}/h"),
        (Kpi::FulfillmentBacklog | Kpi::SupportQueue, _) => format!("{value:.0}"),
        (Kpi::ContributionMargin, _) => format!("{value:.2}"),
    }
}

/// Seconds as `1h 02m`, `41m 40s` or `12s`.
pub fn duration(seconds: f64) -> String {
    let total = seconds.round() as i64;
    let (hours, minutes, secs) = (total / 3600, (total % 3600) / 60, total % 60);
    if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else if minutes > 0 {
        format!("{minutes}m {secs:02}s")
    } else {
        format!("{secs}s")
    }
}

/// A threshold as the rule says it: `below 95.0%` or `above baseline +25%`.
pub fn threshold(kpi: Kpi, stat: Stat, threshold: Threshold) -> String {
    match threshold {
        Threshold::Above(limit) => format!("above {}", kpi_value(kpi, stat, limit)),
        Threshold::Below(limit) => format!("below {}", kpi_value(kpi, stat, limit)),
        Threshold::AboveBaselineBy(by) => format!("above baseline +{:.0}%", by * 100.0),
        Threshold::BelowBaselineBy(by) => format!("below baseline −{:.0}%", by * 100.0),
    }
}

/// The limit a threshold compares with when it needs no baseline.
pub fn fixed_limit(threshold: Option<Threshold>) -> Option<f64> {
    threshold
        .filter(|t| !t.needs_baseline())
        .and_then(|t| t.limit(None))
}

/// `2025-01-06 09:42` from a tick (event time, UTC).
pub fn tick_label(tick: i64) -> String {
    let text = tripgate_model::time::format_rfc3339(tick);
    let mut out = String::new();
    let _ = write!(out, "{} {}", &text[..10], &text[11..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_in_their_unit() {
        assert_eq!(kpi_value(Kpi::OnTimeRate, Stat::Value, 0.9214), "92.1%");
        assert_eq!(kpi_value(Kpi::CycleTime, Stat::P95, 2500.0), "41m 40s");
        assert_eq!(kpi_value(Kpi::CycleTime, Stat::Count, 12.0), "12");
        assert_eq!(
            kpi_value(Kpi::ContributionMargin, Stat::Value, f64::NAN),
            "n/a"
        );
        assert_eq!(duration(3720.0), "1h 02m");
        assert_eq!(
            threshold(
                Kpi::DefectRate,
                Stat::Value,
                Threshold::AboveBaselineBy(0.25)
            ),
            "above baseline +25%"
        );
        assert_eq!(escape("<b a='x'>&"), "&lt;b a=&#39;x&#39;&gt;&amp;");
        assert_eq!(tick_label(1_735_725_600_000_000_000), "2025-01-01 10:00");
    }
}
