//! `tripgate backtest`: a JSON Lines file through the engine, deterministically.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::Context;
use bstr::io::BufReadExt;
use indicatif::{ProgressBar, ProgressStyle};
use tripgate_alerter::records::write_tick;
use tripgate_model::config::Config;
use tripgate_model::TickSnapshot;

use crate::engine::Engine;
use crate::report::Report;

/// Input above this size gets a progress bar on stderr.
const PROGRESS_THRESHOLD_BYTES: u64 = 16 * 1024 * 1024;

/// Events decoded before they are offered together.
const BATCH: usize = 32;

/// Replays `events`; when `report` is given it sees every closed tick too.
pub fn run(
    events: &Path,
    config: &Config,
    out: &Path,
    mut report: Option<&mut Report>,
) -> anyhow::Result<Engine> {
    let (input, size): (Box<dyn Read>, Option<u64>) = if events == Path::new("-") {
        (Box::new(io::stdin().lock()), None)
    } else {
        let file = File::open(events)
            .with_context(|| format!("cannot open events file {}", events.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    let progress = match size {
        Some(size) if size >= PROGRESS_THRESHOLD_BYTES => {
            let bar = ProgressBar::new(size);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .expect("static template"),
            );
            bar
        }
        _ => ProgressBar::hidden(),
    };
    let output: Box<dyn Write> = if out == Path::new("-") {
        Box::new(io::stdout().lock())
    } else {
        Box::new(
            File::create(out)
                .with_context(|| format!("cannot create output file {}", out.display()))?,
        )
    };
    // Written 256 KiB at a time: a 14-day backtest writes 161 MB, and in
    // the default 8 KiB writes the kernel's cost per `write` was 0.1 s of it.
    let mut output = BufWriter::with_capacity(1 << 18, output);
    let mut engine = Engine::new(config);
    let specs = engine.specs().to_vec();
    let mut reader = BufReader::with_capacity(1 << 20, progress.wrap_read(input));
    let mut write_error: Option<io::Error> = None;
    let mut sink = |snapshot: TickSnapshot, outcome: &_, alerter: &_| {
        if let Some(report) = report.as_deref_mut() {
            report.observe(&snapshot, outcome, alerter);
        }
        if write_error.is_none() {
            if let Err(error) = write_tick(&mut output, &specs, &snapshot, outcome) {
                write_error = Some(error);
            }
        }
    };
    // Each line is read where it lies in the read buffer (copied only when
    // it straddles two reads), without its `\n` or `\r\n`.
    // Events go to the engine in batches: ticks close as the watermark
    // reaches them whenever the engine advances, so offering and advancing
    // every few events gives the same output as after each, and lets a
    // batch's table lookups overlap (`Aggregator::offer_all`, and
    // `release_before` for the events an advance releases).
    let mut batch = Vec::with_capacity(BATCH);
    reader
        .for_byte_line(|bytes| {
            // A blank line separates nothing in JSON Lines; it is not an event.
            if !bytes.iter().all(u8::is_ascii_whitespace) {
                batch.extend(engine.decode(bytes));
                if batch.len() == BATCH {
                    engine.offer_all(&mut batch);
                    engine.advance(&mut sink);
                }
            }
            Ok(true)
        })
        .context("cannot read events")?;
    engine.offer_all(&mut batch);
    engine.finish(&mut sink);
    progress.finish_and_clear();
    if let Some(error) = write_error {
        return Err(error).with_context(|| format!("cannot write {}", out.display()));
    }
    output
        .flush()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(engine)
}

/// The end-of-run summary printed on stderr.
pub fn summary(engine: &Engine) -> String {
    let counters = engine.counters();
    let stats = &engine.stats;
    let rejected: u64 = stats.rejected.values().sum();
    let mut text = format!("events read: {}\n", stats.read);
    text += &format!("rejected: {rejected}");
    if rejected > 0 {
        let reasons: Vec<String> = stats
            .rejected
            .iter()
            .map(|(reason, n)| format!("{reason} {n}"))
            .collect();
        text += &format!(" ({})", reasons.join(", "));
    }
    text += &format!(
        "\nduplicates: {} ({} repeated event_id, {} semantic)\nlate: {}\nunmatched: {}\nticks: {}\n",
        counters.duplicate_ids + counters.semantic_duplicates,
        counters.duplicate_ids,
        counters.semantic_duplicates,
        counters.late,
        counters.unmatched,
        counters.ticks
    );
    let transitions: u64 = stats.transitions_per_rule.values().sum();
    text += &format!("transitions: {transitions}\n");
    for (rule, n) in &stats.transitions_per_rule {
        text += &format!("  rule {rule}: {n}\n");
    }
    let gates: u64 = stats.transitions_per_gate.values().sum();
    text += &format!("gate transitions: {gates}\n");
    for (gate, n) in &stats.transitions_per_gate {
        text += &format!("  gate {gate}: {n}\n");
    }
    text
}
