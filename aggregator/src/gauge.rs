//! Gauges: a current value per key, plus the values at past ticks when a
//! baseline reads the gauge at `T - offset`.

/// The gauge values of one (KPI, scope).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Gauges {
    current: Vec<i64>,
    /// The offset (in ticks) each position reads: 0 is the value at the
    /// tick itself, more is a baseline's past value.
    offsets: Vec<i64>,
    /// Per key, a ring of (tick index, value at that tick's close); empty
    /// when no position reads the past.
    history: Vec<Vec<(i64, i64)>>,
    history_len: i64,
}

impl Gauges {
    pub fn new(offsets: Vec<i64>) -> Gauges {
        let history_len = offsets.iter().copied().max().unwrap_or(0) + 1;
        Gauges {
            current: Vec::new(),
            offsets,
            history: Vec::new(),
            history_len,
        }
    }

    pub fn change(&mut self, key: u32, delta: i64) {
        let key = key as usize;
        if self.current.len() <= key {
            self.current.resize(key + 1, 0);
        }
        self.current[key] += delta;
    }

    /// Records the values at tick index `tick_index` and calls
    /// `visit(key, position, value)` with the value each position reads.
    pub fn close(&mut self, tick_index: i64, mut visit: impl FnMut(u32, usize, i64)) {
        let keep_history = self.history_len > 1;
        if keep_history && self.history.len() < self.current.len() {
            self.history.resize(
                self.current.len(),
                vec![(i64::MIN, 0); self.history_len as usize],
            );
        }
        for (key, &value) in self.current.iter().enumerate() {
            if keep_history {
                self.history[key][tick_index.rem_euclid(self.history_len) as usize] =
                    (tick_index, value);
            }
            for (position, &offset) in self.offsets.iter().enumerate() {
                let read = if offset == 0 {
                    value
                } else {
                    let past = tick_index - offset;
                    let (at, held) = self.history[key][past.rem_euclid(self.history_len) as usize];
                    // No record: the key had no value yet then, so 0.
                    if at == past {
                        held
                    } else {
                        0
                    }
                };
                visit(key as u32, position, read);
            }
        }
    }
}
