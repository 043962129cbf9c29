//! The backtest report as one HTML string: inline CSS and SVG, no scripts,
//! no external assets, so it can be mailed or archived as is.

use std::fmt::Write as _;

use tripgate_model::{Band, Nanos};

use super::svg::{self, band_color, Frame, KeyLine, KpiChart, Segment, PALETTE};
use super::{GateTrack, KeyTrack, Report, RuleTrack};
use crate::status::format::{duration, escape, kpi_value, threshold, tick_label};
use crate::status::render::STYLE;

/// Keys drawn per rule chart: more lines than this cannot be told apart.
const KEYS_CHARTED: usize = 6;
/// Rows per rule table: every key that left green, up to this many...
const KEYS_LISTED: usize = 20;
/// ...and at least this many, so a quiet rule still shows its keys.
const KEYS_LISTED_MIN: usize = 5;

pub fn page(report: &Report) -> String {
    let mut html = String::with_capacity(256 * 1024);
    let period = match (report.first_tick, report.last_tick) {
        (Some(first), Some(last)) => format!(
            "{} to {} UTC · {:.1} days",
            tick_label(first),
            tick_label(last),
            report.days()
        ),
        _ => "no tick closed: the input had no events".to_string(),
    };
    let _ = write!(
        html,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>tripgate backtest report</title><style>{STYLE}
.chart,.strips{{display:block;margin:6px 0}}.legend span{{margin-right:14px;font-size:13px}}.swatch{{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:5px}}
@media print{{header{{background:#fff;color:#000}}.card{{break-inside:avoid;box-shadow:none;border:1px solid #ccc}}}}</style></head><body>
<header><h1>tripgate backtest report</h1><span>{}</span></header><main>"#,
        escape(&period)
    );
    let Some((t0, t1)) = report.first_tick.zip(report.last_tick) else {
        html.push_str(r#"<p class="empty">Nothing to show.</p></main></body></html>"#);
        return html;
    };
    let frame = || Frame::new(t0, t1 + report.tick_nanos, 0.0, 1.0);
    summary(&mut html, report);
    gates(&mut html, report, &frame());
    html.push_str("<h2>Rules</h2>");
    for rule in &report.rules {
        rule_card(&mut html, report, rule, t0, t1 + report.tick_nanos);
    }
    html.push_str("</main></body></html>\n");
    html
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".to_string()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

fn summary(html: &mut String, report: &Report) {
    html.push_str(r#"<h2>Summary</h2><div class="card"><table><tr><th>rule</th><th>scope</th><th>keys</th><th>transitions</th><th>flaps per day</th><th>key-time yellow</th><th>key-time red</th></tr>"#);
    for rule in &report.rules {
        let ticks: [u64; 3] = rule.keys.iter().fold([0; 3], |acc, k| {
            [
                acc[0] + k.ticks_in[0],
                acc[1] + k.ticks_in[1],
                acc[2] + k.ticks_in[2],
            ]
        });
        let total: u64 = ticks.iter().sum();
        let _ = write!(
            html,
            r##"<tr><td><a href="#rule-{0}">{0}</a></td><td>{1}</td><td class="num">{2}</td><td class="num">{3}</td><td class="num">{4:.1}</td><td class="num">{5}</td><td class="num">{6}</td></tr>"##,
            escape(&rule.name),
            rule.scope.as_str(),
            rule.keys.len() + rule.untracked_keys,
            rule.transitions_total,
            rule.transitions_total as f64 / report.days(),
            percent(ticks[1], total),
            percent(ticks[2], total)
        );
    }
    html.push_str(r#"</table><p class="meta">Flaps per day: breaker transitions per day of data, all keys of the rule together. Key-time: the share of (key, tick) pairs the breakers spent in that band.</p></div>"#);
}

fn gates(html: &mut String, report: &Report, frame: &Frame) {
    html.push_str("<h2>Gates over time</h2>");
    if report.gates.is_empty() {
        html.push_str(r#"<p class="empty">No gates configured.</p>"#);
        return;
    }
    let end = frame.t1;
    let rows: Vec<(String, Vec<Segment>)> = report
        .gates
        .iter()
        .map(|gate| (gate.name.clone(), gate_segments(gate, frame.t0, end)))
        .collect();
    let _ = write!(
        html,
        r#"<div class="card">{}<table><tr><th>gate</th><th>closings</th><th>time closed</th></tr>"#,
        svg::strips(frame, &rows)
    );
    for gate in &report.gates {
        let closings = gate.changes.iter().filter(|(_, opened)| !opened).count();
        let _ = write!(
            html,
            r#"<tr><td>{}</td><td class="num">{closings}</td><td class="num">{} ({})</td></tr>"#,
            escape(&gate.name),
            percent(gate.closed_ticks, gate.ticks),
            duration(gate.closed_ticks as f64 * report.tick_nanos as f64 / 1e9)
        );
    }
    html.push_str(
        r#"</table><p class="meta">Green: open; red: closed (its actions engaged).</p></div>"#,
    );
}

fn gate_segments(gate: &GateTrack, start: Nanos, end: Nanos) -> Vec<Segment> {
    let mut segments = Vec::new();
    let (mut from, mut open) = (start, true);
    for (tick, opened) in gate
        .changes
        .iter()
        .copied()
        .chain(std::iter::once((end, true)))
    {
        if tick > from {
            let word = if open { "open" } else { "closed" };
            let color = if open { svg::GREEN } else { svg::RED };
            segments.push((
                from,
                tick,
                color,
                format!(
                    "{} {word} from {} to {}",
                    gate.name,
                    tick_label(from),
                    tick_label(tick)
                ),
            ));
        }
        from = tick;
        open = opened;
    }
    segments
}

/// The keys worth drawing: longest in red, then yellow, then most transitions.
fn ranked(rule: &RuleTrack) -> Vec<&KeyTrack> {
    let mut keys: Vec<&KeyTrack> = rule.keys.iter().collect();
    keys.sort_by_key(|k| std::cmp::Reverse((k.ticks_in[2], k.ticks_in[1], k.transitions)));
    keys
}

fn rule_card(html: &mut String, report: &Report, rule: &RuleTrack, t0: Nanos, t1: Nanos) {
    let limits: Vec<String> = [("yellow", rule.yellow), ("red", rule.red)]
        .into_iter()
        .filter_map(|(name, t)| t.map(|t| format!("{name} {}", threshold(rule.kpi, rule.stat, t))))
        .collect();
    let stat = if rule.stat == tripgate_model::Stat::Value {
        String::new()
    } else {
        format!(" {}", rule.stat.as_str())
    };
    let window = rule
        .window
        .as_deref()
        .map_or(String::new(), |w| format!(" over {w}"));
    let _ = write!(
        html,
        r#"<div class="card rule" id="rule-{0}" style="margin-bottom:14px"><h3>{0}</h3><div class="meta">{1}{stat}{window} per {2} · {3}</div>"#,
        escape(&rule.name),
        rule.kpi.as_str(),
        rule.scope.as_str(),
        escape(&limits.join(", "))
    );
    let keys = ranked(rule);
    let charted: Vec<&KeyTrack> = keys
        .iter()
        .copied()
        .filter(|k| !k.values.is_empty())
        .take(KEYS_CHARTED)
        .collect();
    if charted.is_empty() {
        html.push_str(r#"<p class="empty">No key ever had enough samples to evaluate.</p></div>"#);
        return;
    }
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for key in &charted {
        for (l, h) in [key.values.range(), key.baselines.range()]
            .into_iter()
            .flatten()
        {
            (low, high) = (low.min(l), high.max(h));
        }
    }
    for t in [rule.yellow, rule.red].into_iter().flatten() {
        if let Some(limit) = t.limit(None) {
            (low, high) = (low.min(limit), high.max(limit));
        } else if let Some((l, h)) = charted[0].baselines.range() {
            for bound in [t.limit(Some(l)), t.limit(Some(h))].into_iter().flatten() {
                (low, high) = (low.min(bound), high.max(bound));
            }
        }
    }
    let format = |v: f64| kpi_value(rule.kpi, rule.stat, v);
    let charted_names: Vec<&str> = charted.iter().map(|k| &*k.key).collect();
    let marks = rule
        .transitions
        .iter()
        .filter(|(_, key, _, _)| charted_names.contains(&&**key))
        .map(|(tick, key, from, to)| {
            (
                *tick,
                format!("{} {key}: {from} → {to}", tick_label(*tick)),
                *to,
            )
        })
        .collect();
    let chart = KpiChart {
        frame: Frame::new(t0, t1, low, high),
        lines: charted
            .iter()
            .zip(PALETTE)
            .map(|(key, color)| KeyLine {
                label: &key.key,
                color,
                values: key.values.buckets(),
                baselines: key.baselines.buckets(),
            })
            .collect(),
        yellow: rule.yellow,
        red: rule.red,
        marks,
        format: &format,
    };
    html.push_str(&svg::kpi_chart(&chart));
    html.push_str(r#"<div class="legend">"#);
    for (key, color) in charted.iter().zip(PALETTE) {
        let _ = write!(
            html,
            r#"<span><i class="swatch" style="background:{color}"></i>{}</span>"#,
            escape(&key.key)
        );
    }
    let _ = write!(
        html,
        r#"<span><i class="swatch" style="background:{}"></i>yellow limit</span><span><i class="swatch" style="background:{}"></i>red limit</span>{}<span>▼ transition</span></div>"#,
        svg::YELLOW,
        svg::RED,
        if charted[0].baselines.is_empty() {
            ""
        } else {
            r##"<span><i class="swatch" style="background:#6b7280"></i>baseline</span>"##
        }
    );
    let rows: Vec<(String, Vec<Segment>)> = charted
        .iter()
        .map(|key| (key.key.to_string(), breaker_segments(rule, key, t0, t1)))
        .collect();
    html.push_str(&svg::strips(&Frame::new(t0, t1, 0.0, 1.0), &rows));
    key_table(html, report, rule, &keys);
    html.push_str("</div>");
}

/// The breaker state of one key over time, from its transitions.
fn breaker_segments(rule: &RuleTrack, key: &KeyTrack, t0: Nanos, t1: Nanos) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut from = key.values.buckets().first().map_or(t0, |b| b.start);
    let mut state = Band::Green;
    let changes = rule
        .transitions
        .iter()
        .filter(|(_, k, _, _)| *k == key.key)
        .map(|(tick, _, _, to)| (*tick, *to));
    for (tick, to) in changes.chain(std::iter::once((t1, Band::Green))) {
        if tick > from {
            let tip = format!(
                "{} {} from {} to {}",
                key.key,
                state.as_str(),
                tick_label(from),
                tick_label(tick)
            );
            segments.push((from, tick, band_color(state), tip));
        }
        from = tick;
        state = to;
    }
    segments
}

fn key_table(html: &mut String, report: &Report, rule: &RuleTrack, keys: &[&KeyTrack]) {
    html.push_str(r#"<table><tr><th>key</th><th>green</th><th>yellow</th><th>red</th><th>transitions</th><th>flaps per day</th></tr>"#);
    let tick_seconds = report.tick_nanos as f64 / 1e9;
    let eventful = keys
        .iter()
        .filter(|k| k.ticks_in[1] + k.ticks_in[2] + k.transitions > 0)
        .count();
    let listed = eventful.clamp(KEYS_LISTED_MIN, KEYS_LISTED).min(keys.len());
    for key in keys.iter().take(listed) {
        let total: u64 = key.ticks_in.iter().sum();
        let cell = |ticks: u64| {
            format!(
                "{} <small>({})</small>",
                percent(ticks, total),
                duration(ticks as f64 * tick_seconds)
            )
        };
        let _ = write!(
            html,
            r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{:.1}</td></tr>"#,
            escape(&key.key),
            cell(key.ticks_in[0]),
            cell(key.ticks_in[1]),
            cell(key.ticks_in[2]),
            key.transitions,
            key.transitions as f64 / report.days()
        );
    }
    let more = keys.len() - listed;
    if more > 0 {
        let never = if eventful <= listed {
            "all green throughout"
        } else {
            "none longer in red or yellow"
        };
        let _ = write!(
            html,
            r#"<tr><td colspan="6" class="empty">and {more} more keys, {never}</td></tr>"#
        );
    }
    if rule.untracked_keys > 0 {
        let _ = write!(
            html,
            r#"<tr><td colspan="6" class="empty">and {} keys beyond the first {} seen: counted in the summary's transitions, not drawn</td></tr>"#,
            rule.untracked_keys,
            super::KEYS_TRACKED
        );
    }
    html.push_str("</table>");
}
