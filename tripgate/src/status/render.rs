//! The status page as one HTML string: no scripts, no external assets, a
//! meta refresh. Pure, so tests check exactly what a person would read.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tripgate_model::{Band, ScopeDim};

use super::format::{escape, fixed_limit, kpi_value, threshold, tick_label};
use super::{GateStatus, RuleStatus, StatusSnapshot};

/// Seconds between automatic reloads: a tick is a minute by default, so
/// this shows every tick while costing the server next to nothing.
pub const REFRESH_SECONDS: u32 = 5;

/// The CSS both the status page and the backtest report use.
pub const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:14px 24px;display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:20px;margin:0}header span{color:#b8c0d0;font-size:14px}
main{padding:16px 24px;max-width:1200px}
h2{font-size:17px;margin:22px 0 10px}h3{font-size:15px;margin:0 0 6px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.12);flex:1 1 380px;overflow-x:auto}
.meta{color:#5b6475;font-size:13px;margin-bottom:6px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e6e8ec}th{color:#5b6475;font-weight:600}
.band{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:700;text-transform:uppercase}
.green{background:#d7f5dd;color:#11632a}.yellow{background:#fff1b8;color:#7a5800}.red{background:#ffd6d6;color:#9b1111}
.open{background:#d7f5dd;color:#11632a}.closed{background:#ffd6d6;color:#9b1111}.none{background:#e6e8ec;color:#5b6475}
.empty{color:#5b6475;font-style:italic}.num{font-variant-numeric:tabular-nums;white-space:nowrap}
"#;

fn band(band: Band) -> String {
    format!(r#"<span class="band {0}">{0}</span>"#, band.as_str())
}

/// The whole page for one snapshot.
pub fn page(status: &StatusSnapshot) -> String {
    let mut html = String::with_capacity(16 * 1024);
    let tick = status.tick.map_or("no tick closed yet".to_string(), |t| {
        format!("latest tick {} UTC", tick_label(t))
    });
    let _ = write!(
        html,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>tripgate status</title><style>{STYLE}</style></head><body>
<header><h1>tripgate status</h1><span>mode: {}</span><span>{}</span><span>refreshes every {REFRESH_SECONDS} s · <a style="color:#b8c0d0" href="/metrics">/metrics</a></span></header><main>"#,
        escape(status.mode),
        escape(&tick)
    );
    gates(&mut html, &status.gates);
    actions(&mut html, status);
    rules(&mut html, &status.rules);
    transitions(&mut html, status);
    html.push_str("</main></body></html>\n");
    html
}

fn gates(html: &mut String, gates: &[GateStatus]) {
    html.push_str("<h2>Gates</h2>");
    if gates.is_empty() {
        html.push_str(r#"<p class="empty">No gates configured.</p>"#);
        return;
    }
    html.push_str(r#"<div class="cards">"#);
    for gate in gates {
        let word = if gate.open { "open" } else { "closed" };
        let members: Vec<String> = gate
            .members
            .iter()
            .map(|(rule, state)| format!("{} {}", escape(rule), band(*state)))
            .collect();
        let actions = if gate.actions_when_closed.is_empty() {
            "none".to_string()
        } else {
            escape(&gate.actions_when_closed.join(", "))
        };
        let _ = write!(
            html,
            r#"<div class="card gate"><h3>{} <span class="band {word}">{word}</span></h3>
<div class="meta">open while at least {} members are green and none is worse than {}; when closed: {actions}</div><div>{}</div></div>"#,
            escape(&gate.name),
            gate.min_green,
            gate.worst.as_str(),
            members.join(" · ")
        );
    }
    html.push_str("</div>");
}

fn actions(html: &mut String, status: &StatusSnapshot) {
    html.push_str("<h2>Engaged actions</h2>");
    if status.actions.is_empty() {
        html.push_str(r#"<p class="empty">No action engaged: every breaker is green and every gate open.</p>"#);
        return;
    }
    html.push_str(
        r#"<div class="card"><table><tr><th>action</th><th>level</th><th>engaged by</th></tr>"#,
    );
    for action in &status.actions {
        let _ = write!(
            html,
            r#"<tr><td>{}</td><td class="num">{:.0}%</td><td>{}</td></tr>"#,
            escape(&action.action),
            action.level * 100.0,
            escape(&action.by)
        );
    }
    html.push_str("</table></div>");
}

/// Rules grouped by scope, global first, each with its worst keys.
fn rules(html: &mut String, rules: &[RuleStatus]) {
    html.push_str("<h2>KPIs and breakers</h2>");
    if rules.is_empty() {
        html.push_str(r#"<p class="empty">No rules loaded yet.</p>"#);
        return;
    }
    let mut by_scope: BTreeMap<ScopeDim, Vec<&RuleStatus>> = BTreeMap::new();
    for rule in rules {
        by_scope.entry(rule.scope).or_default().push(rule);
    }
    for (scope, rules) in by_scope {
        let _ = write!(
            html,
            r#"<h3 style="margin-top:14px">per {}</h3><div class="cards">"#,
            scope.as_str()
        );
        for rule in rules {
            rule_card(html, rule);
        }
        html.push_str("</div>");
    }
}

fn rule_card(html: &mut String, rule: &RuleStatus) {
    let limits: Vec<String> = [("yellow", rule.yellow), ("red", rule.red)]
        .into_iter()
        .filter_map(|(name, t)| t.map(|t| format!("{name} {}", threshold(rule.kpi, rule.stat, t))))
        .collect();
    let window = rule
        .window
        .as_deref()
        .map_or(String::new(), |w| format!(" over {w}"));
    let stat = if rule.stat == tripgate_model::Stat::Value {
        String::new()
    } else {
        format!(" {}", rule.stat.as_str())
    };
    let [green, yellow, red] = rule.counts;
    let _ = write!(
        html,
        r#"<div class="card rule"><h3>{}</h3><div class="meta">{}{stat}{window} · {} · breakers: {red} red, {yellow} yellow, {green} green</div>"#,
        escape(&rule.name),
        rule.kpi.as_str(),
        escape(&limits.join(", "))
    );
    if rule.keys.is_empty() {
        html.push_str(r#"<p class="empty">No key has had samples yet.</p></div>"#);
        return;
    }
    let yellow_limit = fixed_limit(rule.yellow);
    let red_limit = fixed_limit(rule.red);
    html.push_str(r#"<table><tr><th>key</th><th>breaker</th><th>value</th><th>this tick</th><th>engaged</th></tr>"#);
    for key in &rule.keys {
        let value = key
            .value
            .map_or("n/a".to_string(), |v| kpi_value(rule.kpi, rule.stat, v));
        let observed = match key.observed {
            Some(observed) => band(observed),
            None => r#"<span class="band none">too few samples</span>"#.to_string(),
        };
        // The limit the value is nearest to crossing, so "vs" reads right.
        let limit = match key.state {
            Band::Green => yellow_limit.or(red_limit),
            _ => red_limit.or(yellow_limit),
        };
        let versus = limit.map_or(String::new(), |l| {
            format!(" <small>vs {}</small>", kpi_value(rule.kpi, rule.stat, l))
        });
        let engaged: Vec<String> = key
            .engaged
            .iter()
            .map(|(a, level)| format!("{a} {:.0}%", level * 100.0))
            .collect();
        let _ = write!(
            html,
            r#"<tr><td>{}</td><td>{}</td><td class="num">{value}{versus}</td><td>{observed}</td><td>{}</td></tr>"#,
            escape(&key.key),
            band(key.state),
            escape(&engaged.join(", "))
        );
    }
    let total: usize = rule.counts.iter().sum();
    if total > rule.keys.len() {
        let _ = write!(
            html,
            r#"<tr><td colspan="5" class="empty">and {} more keys, none worse</td></tr>"#,
            total - rule.keys.len()
        );
    }
    html.push_str("</table></div>");
}

fn transitions(html: &mut String, status: &StatusSnapshot) {
    html.push_str("<h2>Latest transitions</h2>");
    if status.transitions.is_empty() {
        html.push_str(r#"<p class="empty">No transition yet.</p>"#);
        return;
    }
    html.push_str(r#"<div class="card"><table><tr><th>tick (UTC)</th><th>breaker or gate</th><th>change</th><th>value</th><th>actions</th></tr>"#);
    for line in &status.transitions {
        let (from, to) = (escape(&line.from), escape(&line.to));
        let _ = write!(
            html,
            r#"<tr><td class="num">{}</td><td>{}</td><td><span class="band {from}">{from}</span> → <span class="band {to}">{to}</span></td><td class="num">{}</td><td>{}</td></tr>"#,
            tick_label(line.tick),
            escape(&line.subject),
            escape(&line.detail),
            escape(&line.actions)
        );
    }
    html.push_str("</table></div>");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tripgate_alerter::Alerter;
    use tripgate_model::config::Config;
    use tripgate_model::{Measure, SeriesValues, TickSnapshot};

    use super::*;

    const RULES: &str = r#"
[[rule]]
name = "on-time"
kpi = "on_time_rate"
window = "5m"
yellow = { below = 0.95 }
red = { below = 0.80 }
actions.red = [{ name = "throttle_acquisition", level = 0.8 }]

[[rule]]
name = "defects"
kpi = "defect_rate"
scope = "sku"
window = "5m"
red = { above = 0.1 }

[[gate]]
name = "expansion"
rules = ["on-time"]
actions_when_closed = [{ name = "pause_expansion" }]
"#;

    /// A status built the way the run loop builds it: real alerter, real ticks.
    fn status_after(on_time: f64, defects: &[(&str, f64)]) -> StatusSnapshot {
        let config = Config::from_toml(RULES).unwrap();
        let mut alerter = Alerter::new(&config);
        let series = |values: Vec<(&str, f64)>| SeriesValues {
            values: values
                .into_iter()
                .map(|(k, v)| {
                    (
                        Arc::from(k),
                        Measure::Ratio {
                            value: v,
                            samples: 100,
                        },
                    )
                })
                .collect(),
        };
        let snapshot = TickSnapshot {
            tick: 1_735_725_600_000_000_000,
            series: vec![series(vec![("all", on_time)]), series(defects.to_vec())],
        };
        let outcome = alerter.evaluate(&snapshot);
        let mut status = StatusSnapshot::new("demo");
        status.record(snapshot.tick, &outcome);
        status.rebuild(&alerter);
        status
    }

    #[test]
    fn a_red_breaker_shows_its_value_actions_gate_and_transition() {
        let html = page(&status_after(0.5, &[("SKU-1", 0.01), ("<SKU-2>", 0.2)]));
        assert!(html.contains(r#"<meta http-equiv="refresh" content="5">"#));
        assert!(html.contains("<h3>on-time</h3>"));
        assert!(
            html.contains("50.0% <small>vs 80.0%</small>"),
            "value against the red limit"
        );
        assert!(html.contains(r#"expansion <span class="band closed">closed</span>"#));
        assert!(html.contains("pause_expansion"));
        assert!(html.contains("throttle_acquisition</td><td class=\"num\">80%"));
        assert!(html.contains("on-time [global=all]"));
        assert!(html.contains("50.0% vs limit 80.0%"));
        assert!(
            html.contains("&lt;SKU-2&gt;"),
            "keys from events are escaped"
        );
        assert!(!html.contains("<SKU-2>"));
        // Worst first: the red SKU is listed before the green one.
        assert!(html.find("&lt;SKU-2&gt;").unwrap() < html.find("SKU-1").unwrap());
    }

    #[test]
    fn a_quiet_system_says_so() {
        let html = page(&status_after(0.99, &[]));
        assert!(html.contains(r#"expansion <span class="band open">open</span>"#));
        assert!(html.contains("No action engaged"));
        assert!(html.contains("No transition yet."));
        let empty = page(&StatusSnapshot::new("live"));
        assert!(empty.contains("no tick closed yet") && empty.contains("No rules loaded yet."));
    }
}
