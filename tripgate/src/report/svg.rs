//! Inline SVG charts for the report: a KPI over time with its limits, and
//! state strips (breaker bands, gates). Plain strings, no dependencies, so
//! the report opens anywhere, offline.

use std::fmt::Write as _;

use tripgate_model::config::Threshold;
use tripgate_model::{Band, Nanos};

use super::series::Bucket;
use crate::status::format::escape;

pub const WIDTH: f64 = 1040.0;
const LEFT: f64 = 110.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 10.0;
const PLOT_HEIGHT: f64 = 220.0;
/// Line colours for keys: none is yellow or red, which mean bands.
pub const PALETTE: [&str; 6] = [
    "#2563eb", "#7c3aed", "#0d9488", "#a16207", "#334155", "#db2777",
];
pub const YELLOW: &str = "#d4a000";
pub const RED: &str = "#d62728";
pub const GREEN: &str = "#2ca02c";

pub fn band_color(band: Band) -> &'static str {
    match band {
        Band::Green => GREEN,
        Band::Yellow => YELLOW,
        Band::Red => RED,
    }
}

/// Maps time and value to pixels.
pub struct Frame {
    pub t0: Nanos,
    pub t1: Nanos,
    low: f64,
    high: f64,
}

impl Frame {
    pub fn new(t0: Nanos, t1: Nanos, low: f64, high: f64) -> Frame {
        let pad = if high > low {
            (high - low) * 0.06
        } else {
            low.abs().max(1.0) * 0.1
        };
        // KPIs that cannot go negative should not get a negative axis from padding.
        let floor = if low >= 0.0 {
            (low - pad).max(0.0)
        } else {
            low - pad
        };
        Frame {
            t0,
            t1: t1.max(t0 + 1),
            low: floor,
            high: high + pad,
        }
    }

    pub fn x(&self, t: Nanos) -> f64 {
        LEFT + (t - self.t0) as f64 / (self.t1 - self.t0) as f64 * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, v: f64) -> f64 {
        TOP + (self.high - v) / (self.high - self.low) * PLOT_HEIGHT
    }
}

/// One key's line: its buckets, and the baseline-relative limits if any.
pub struct KeyLine<'a> {
    pub label: &'a str,
    pub color: &'a str,
    pub values: &'a [Bucket],
    pub baselines: &'a [Bucket],
}

/// Everything one KPI chart draws.
pub struct KpiChart<'a> {
    pub frame: Frame,
    pub lines: Vec<KeyLine<'a>>,
    pub yellow: Option<Threshold>,
    pub red: Option<Threshold>,
    /// (tick, label, band moved to): vertical markers.
    pub marks: Vec<(Nanos, String, Band)>,
    pub format: &'a dyn Fn(f64) -> String,
}

pub fn kpi_chart(chart: &KpiChart) -> String {
    let frame = &chart.frame;
    let height = TOP + PLOT_HEIGHT + 26.0;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">"#
    );
    grid(&mut svg, frame, chart.format);
    for mark in &chart.marks {
        let x = frame.x(mark.0);
        let _ = write!(
            svg,
            r#"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}" stroke="{}" stroke-opacity="0.35" stroke-width="1"><title>{}</title></line><path d="M{:.1},{TOP} l-4,-7 h8 z" fill="{1}"><title>{2}</title></path>"#,
            TOP + PLOT_HEIGHT,
            band_color(mark.2),
            escape(&mark.1),
            x
        );
    }
    for (threshold, color, name) in [(chart.yellow, YELLOW, "yellow"), (chart.red, RED, "red")] {
        let Some(threshold) = threshold else { continue };
        match threshold.limit(None) {
            Some(limit) => {
                let y = frame.y(limit);
                let _ = write!(
                    svg,
                    r#"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2" stroke-dasharray="8 5"><title>{name} limit {}</title></line>"#,
                    WIDTH - RIGHT,
                    (chart.format)(limit)
                );
            }
            // A baseline rule's limit moves with the first key's baseline.
            None => {
                if let Some(line) = chart.lines.first() {
                    let points = polyline(frame, line.baselines, |b| threshold.limit(Some(b.last)));
                    let _ = write!(
                        svg,
                        r#"<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="8 5"><title>{name} limit for {}</title></polyline>"#,
                        escape(line.label)
                    );
                }
            }
        }
    }
    if let Some(line) = chart.lines.first().filter(|l| !l.baselines.is_empty()) {
        let points = polyline(frame, line.baselines, |b| Some(b.last));
        let _ = write!(
            svg,
            r##"<polyline points="{points}" fill="none" stroke="#6b7280" stroke-width="1.5" stroke-dasharray="2 4"><title>baseline of {}</title></polyline>"##,
            escape(line.label)
        );
    }
    for line in &chart.lines {
        // The spread of each bucket (min to max), then the line through its latest value.
        for b in line.values.iter().filter(|b| b.max > b.min) {
            let x = frame.x(b.start);
            let _ = write!(
                svg,
                r#"<line x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}" stroke="{}" stroke-opacity="0.3"/>"#,
                frame.y(b.max),
                frame.y(b.min),
                line.color
            );
        }
        let points = polyline(frame, line.values, |b| Some(b.last));
        let _ = write!(
            svg,
            r#"<polyline points="{points}" fill="none" stroke="{}" stroke-width="1.8"><title>{}</title></polyline>"#,
            line.color,
            escape(line.label)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn polyline(frame: &Frame, buckets: &[Bucket], value: impl Fn(&Bucket) -> Option<f64>) -> String {
    let mut points = String::new();
    for bucket in buckets {
        if let Some(v) = value(bucket).filter(|v| v.is_finite()) {
            let _ = write!(points, "{:.1},{:.1} ", frame.x(bucket.start), frame.y(v));
        }
    }
    points
}

/// Axes: five value lines labelled on the left, six time labels below.
fn grid(svg: &mut String, frame: &Frame, format: &dyn Fn(f64) -> String) {
    for i in 0..=4 {
        let v = frame.low + (frame.high - frame.low) * f64::from(i) / 4.0;
        let y = frame.y(v);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" fill="#4b5563">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            escape(&format(v))
        );
    }
    time_axis(svg, frame, TOP + PLOT_HEIGHT + 16.0);
}

pub fn time_axis(svg: &mut String, frame: &Frame, y: f64) {
    let long = frame.t1 - frame.t0 > 3 * 86_400_000_000_000;
    for i in 0..=5 {
        let t = frame.t0 + (frame.t1 - frame.t0) / 5 * i;
        let text = tripgate_model::time::format_rfc3339(t);
        let label = if long {
            text[5..10].to_string()
        } else {
            format!("{} {}", &text[5..10], &text[11..16])
        };
        let anchor = match i {
            0 => "start",
            5 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="11" fill="#4b5563">{label}</text>"##,
            frame.x(t)
        );
    }
}

/// A stretch of time in one colour: (from, to, colour, tooltip).
pub type Segment = (Nanos, Nanos, &'static str, String);

/// Rows of coloured segments, each with its label.
pub fn strips(frame: &Frame, rows: &[(String, Vec<Segment>)]) -> String {
    let row_height = 16.0;
    let height = rows.len() as f64 * (row_height + 4.0) + 20.0;
    let mut svg = format!(
        r#"<svg class="strips" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (row, (label, segments)) in rows.iter().enumerate() {
        let y = row as f64 * (row_height + 4.0);
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" fill="#1f2937">{}</text>"##,
            LEFT - 6.0,
            y + 12.0,
            escape(&truncate(label, 16))
        );
        for (from, to, color, tip) in segments {
            let (x0, x1) = (frame.x(*from), frame.x(*to));
            let _ = write!(
                svg,
                r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{row_height}" fill="{color}"><title>{}</title></rect>"#,
                (x1 - x0).max(1.0),
                escape(tip)
            );
        }
    }
    time_axis(&mut svg, frame, height - 4.0);
    svg.push_str("</svg>");
    svg
}

fn truncate(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(chars - 1).collect::<String>())
    }
}
