//! `tripgate simulate`: a realistic business as contract events.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use tripgate_model::time::parse_rfc3339;

/// The default start of simulated time: a fixed instant, so the same
/// arguments always write the same file.
pub const DEFAULT_START: &str = "2025-01-06T00:00:00Z";

pub fn run(days: u32, seed: u64, start: &str, out: &Path) -> anyhow::Result<u64> {
    let start = parse_rfc3339(start).with_context(|| {
        format!("--start {start:?} is not an RFC 3339 timestamp with offset, like {DEFAULT_START}")
    })?;
    let output: Box<dyn Write> = if out == Path::new("-") {
        Box::new(io::stdout().lock())
    } else {
        Box::new(File::create(out).with_context(|| format!("cannot create {}", out.display()))?)
    };
    let mut output = BufWriter::with_capacity(1 << 20, output);
    let mut written = 0;
    for line in tripgate_simulator::simulate(days, seed, start) {
        output.write_all(line.as_bytes())?;
        output.write_all(b"\n")?;
        written += 1;
    }
    output
        .flush()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(written)
}
