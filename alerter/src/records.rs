//! The JSON Lines output of contract section 8 ("Backtest"), shared by
//! `tripgate backtest` and `tripgate run --out` so the two can be compared.
//!
//! Lines are written by hand rather than through serde structs: a kpi record
//! per key and tick is most of backtest's output, and serde's per-field
//! machinery cost more than computing the windows. The bytes are exactly
//! what `serde_json::to_writer` made of the record structs before (the tests
//! keep those structs and compare): numbers go through serde_json's own
//! formatter, strings through its escaping whenever one needs escaping.

use std::io::{self, Write};

use serde_json::ser::{CompactFormatter, Formatter};
use tripgate_model::time::format_rfc3339;
use tripgate_model::{Measure, TickSnapshot, WindowSpec};

use crate::engine::Outcome;

fn gate_word(open: bool) -> &'static str {
    if open {
        "open"
    } else {
        "closed"
    }
}

/// Writes one tick: its kpi records (reported windows only), then its
/// transitions, then its gate changes. Each line is built in memory and
/// handed to `out` whole, so `out` should be buffered (both callers' are).
// Kept out of line (it runs once a tick) so that profiles show its cost.
#[inline(never)]
pub fn write_tick(
    out: &mut impl Write,
    specs: &[WindowSpec],
    snapshot: &TickSnapshot,
    outcome: &Outcome,
) -> io::Result<()> {
    let mut tick = Vec::with_capacity(64);
    write_str(&mut tick, &format_rfc3339(snapshot.tick));
    // Small enough to come from the allocator's per-thread cache: a buffer
    // for the whole tick cost more to allocate than writing lines saves.
    let mut line: Vec<u8> = Vec::with_capacity(512);
    // Everything before the key is the same for every line of a spec, and
    // so is the window after it.
    let mut prefix: Vec<u8> = Vec::with_capacity(128);
    let mut window: Vec<u8> = Vec::with_capacity(32);
    for (spec, series) in specs.iter().zip(&snapshot.series) {
        if !spec.is_reported() {
            continue;
        }
        prefix.clear();
        prefix.extend_from_slice(br#"{"kind":"kpi","tick":"#);
        prefix.extend_from_slice(&tick);
        prefix.extend_from_slice(br#","kpi":"#);
        write_name(&mut prefix, spec.kpi.as_str());
        prefix.extend_from_slice(br#","scope":"#);
        write_name(&mut prefix, spec.scope.as_str());
        prefix.extend_from_slice(br#","key":"#);
        window.clear();
        if let Some(span) = &spec.window {
            window.extend_from_slice(br#","window":"#);
            write_str(&mut window, span.text());
        }
        for (key, measure) in &series.values {
            line.extend_from_slice(&prefix);
            write_str(&mut line, key);
            line.extend_from_slice(&window);
            write_kpi_fields(&mut line, measure);
            line.extend_from_slice(b"}\n");
            out.write_all(&line)?;
            line.clear();
        }
    }
    for transition in &outcome.transitions {
        line.extend_from_slice(br#"{"kind":"transition","tick":"#);
        line.extend_from_slice(&tick);
        line.extend_from_slice(br#","rule":"#);
        write_str(&mut line, &transition.rule);
        line.extend_from_slice(br#","scope":"#);
        write_name(&mut line, transition.scope.as_str());
        line.extend_from_slice(br#","key":"#);
        write_str(&mut line, &transition.key);
        line.extend_from_slice(br#","from":"#);
        write_name(&mut line, transition.from.as_str());
        line.extend_from_slice(br#","to":"#);
        write_name(&mut line, transition.to.as_str());
        line.extend_from_slice(br#","value":"#);
        // Gauges print as integers, everything else as floats.
        match transition.samples {
            None => write_i64(&mut line, transition.value as i64),
            Some(_) => write_f64(&mut line, transition.value),
        }
        // Always written; `null` for gauges.
        line.extend_from_slice(br#","samples":"#);
        match transition.samples {
            None => line.extend_from_slice(b"null"),
            Some(samples) => write_u64(&mut line, samples),
        }
        line.extend_from_slice(b"}\n");
        out.write_all(&line)?;
        line.clear();
    }
    for gate in &outcome.gates {
        line.extend_from_slice(br#"{"kind":"gate","tick":"#);
        line.extend_from_slice(&tick);
        line.extend_from_slice(br#","gate":"#);
        write_str(&mut line, &gate.gate);
        line.extend_from_slice(br#","from":"#);
        write_name(&mut line, gate_word(!gate.opened));
        line.extend_from_slice(br#","to":"#);
        write_name(&mut line, gate_word(gate.opened));
        line.extend_from_slice(b"}\n");
        out.write_all(&line)?;
        line.clear();
    }
    Ok(())
}

/// The fields after `window`: gauges print their value as an integer, ratios
/// samples and value, distributions samples and their statistics.
fn write_kpi_fields(buffer: &mut Vec<u8>, measure: &Measure) {
    match measure {
        Measure::Ratio { value, samples } => {
            buffer.extend_from_slice(br#","samples":"#);
            write_u64(buffer, *samples);
            buffer.extend_from_slice(br#","value":"#);
            write_f64(buffer, *value);
        }
        Measure::Gauge { value } => {
            buffer.extend_from_slice(br#","value":"#);
            write_i64(buffer, *value);
        }
        Measure::Distribution(stats) => {
            buffer.extend_from_slice(br#","samples":"#);
            write_u64(buffer, stats.count);
            buffer.extend_from_slice(br#","count":"#);
            write_u64(buffer, stats.count);
            for (name, value) in [
                (&br#","mean":"#[..], stats.mean),
                (br#","p50":"#, stats.p50),
                (br#","p90":"#, stats.p90),
                (br#","p95":"#, stats.p95),
                (br#","p99":"#, stats.p99),
            ] {
                buffer.extend_from_slice(name);
                write_f64(buffer, value);
            }
        }
    }
}

/// A JSON string as serde_json writes it. Keys come from events, so any
/// byte may need escaping; the common case needs none and is copied.
fn write_str(buffer: &mut Vec<u8>, value: &str) {
    // No early exit, so the check runs over whole vectors of bytes.
    let needs_escape = value.bytes().fold(false, |needs, byte| {
        needs | (byte < 0x20) | (byte == b'"') | (byte == b'\\')
    });
    if !needs_escape {
        buffer.push(b'"');
        buffer.extend_from_slice(value.as_bytes());
        buffer.push(b'"');
    } else {
        serde_json::to_writer(buffer, value).expect("a string serializes into memory");
    }
}

/// A name of tripgate's own (a KPI, scope, band or gate state): snake_case
/// words that never need escaping.
fn write_name(buffer: &mut Vec<u8>, name: &'static str) {
    debug_assert!(name
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_'));
    buffer.push(b'"');
    buffer.extend_from_slice(name.as_bytes());
    buffer.push(b'"');
}

/// serde_json's rendering of an f64: the shortest round-trip form, `null`
/// for NaN and the infinities.
fn write_f64(buffer: &mut Vec<u8>, value: f64) {
    let written = if value.is_finite() {
        CompactFormatter.write_f64(buffer, value)
    } else {
        CompactFormatter.write_null(buffer)
    };
    written.expect("writing into memory cannot fail");
}

fn write_i64(buffer: &mut Vec<u8>, value: i64) {
    CompactFormatter
        .write_i64(buffer, value)
        .expect("writing into memory cannot fail");
}

fn write_u64(buffer: &mut Vec<u8>, value: u64) {
    CompactFormatter
        .write_u64(buffer, value)
        .expect("writing into memory cannot fail");
}

#[cfg(test)]
mod tests;
