//! Dirty mode: the imperfections a real event stream has, for testing a pipeline.
//!
//! Applied to finished lines, with its own generator, so the clean events underneath are
//! exactly those of a clean run with the same seed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::business::NANOS_PER_MILLI;
use crate::rng::Rng;

/// Share of lines repeated exactly (same event_id) a little later.
const DUPLICATE_SHARE: f64 = 0.005;
/// Share of lines held back 5 s to 2 min, so they arrive after later events.
const LATE_SHARE: f64 = 0.02;
/// Share of lines preceded by a broken copy carrying the same event_id: a pipeline must reject
/// the copy without letting it suppress the good line (contract section 9).
const MALFORMED_SHARE: f64 = 0.001;

pub(crate) struct Dirt {
    rng: Rng,
    /// Lines waiting for their release instant, ordered by (release, arrival order).
    held: BinaryHeap<Reverse<(i64, u64, String)>>,
    next_sequence: u64,
}

impl Dirt {
    pub(crate) fn new(seed: u64) -> Dirt {
        Dirt {
            rng: Rng::new(seed),
            held: BinaryHeap::new(),
            next_sequence: 0,
        }
    }

    pub(crate) fn emit(&mut self, at: i64, line: String, out: &mut Vec<String>) {
        self.release(at, out);
        if self.rng.chance(MALFORMED_SHARE) {
            let kind = self.rng.below(3);
            out.push(corrupt(&line, kind));
        }
        if self.rng.chance(DUPLICATE_SHARE) {
            let delay = self.delay(1_000, 60_000);
            self.hold(at + delay, line.clone());
        }
        if self.rng.chance(LATE_SHARE) {
            let delay = self.delay(5_000, 120_000);
            self.hold(at + delay, line);
        } else {
            out.push(line);
        }
    }

    /// Emits every held line due by `until`.
    pub(crate) fn release(&mut self, until: i64, out: &mut Vec<String>) {
        while self
            .held
            .peek()
            .is_some_and(|Reverse((due, _, _))| *due <= until)
        {
            if let Some(Reverse((_, _, line))) = self.held.pop() {
                out.push(line);
            }
        }
    }

    fn delay(&mut self, shortest_millis: u64, longest_millis: u64) -> i64 {
        let millis =
            shortest_millis + self.rng.below((longest_millis - shortest_millis) as usize) as u64;
        millis as i64 * NANOS_PER_MILLI
    }

    fn hold(&mut self, due: i64, line: String) {
        self.held.push(Reverse((due, self.next_sequence, line)));
        self.next_sequence += 1;
    }
}

/// A broken copy of a well-formed line: cut in half (malformed JSON), without `occurred_at`
/// (missing field), or with a quantity written as a string (invalid field, "10" is not 10).
fn corrupt(line: &str, kind: usize) -> String {
    if kind == 0 {
        // Lines are ASCII, so any byte index is a character boundary.
        return line[..line.len() / 2].to_string();
    }
    if kind == 2 {
        if let Some(field) = line.find("\"quantity\":") {
            let value_start = field + "\"quantity\":".len();
            let value_end = line[value_start..]
                .find([',', '}'])
                .map_or(line.len(), |end| value_start + end);
            return format!(
                "{}\"{}\"{}",
                &line[..value_start],
                &line[value_start..value_end],
                &line[value_end..]
            );
        }
    }
    let Some(field) = line.find(",\"occurred_at\":\"") else {
        return line[..line.len() / 2].to_string();
    };
    let value_start = field + ",\"occurred_at\":\"".len();
    let value_end = line[value_start..]
        .find('"')
        .map_or(line.len(), |end| value_start + end + 1);
    format!("{}{}", &line[..field], &line[value_end..])
}

#[cfg(test)]
mod tests {
    use super::corrupt;

    const PLACED: &str = r#"{"event_id":"ev-1","type":"order.placed","occurred_at":"2025-01-01T00:00:00.000Z","lines":[{"sku":"SKU-001","quantity":10,"unit_price":1.00,"unit_cost":0.50}]}"#;

    #[test]
    fn each_corruption_breaks_the_line_in_its_own_way() {
        assert!(serde_json::from_str::<serde_json::Value>(&corrupt(PLACED, 0)).is_err());
        let quoted: serde_json::Value = serde_json::from_str(&corrupt(PLACED, 2)).unwrap();
        assert_eq!(quoted["lines"][0]["quantity"], "10");
        let missing: serde_json::Value = serde_json::from_str(&corrupt(PLACED, 1)).unwrap();
        assert!(missing.get("occurred_at").is_none());
        assert_eq!(missing["event_id"], "ev-1");
    }
}
