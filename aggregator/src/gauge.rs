//! Gauges: a current value per key, plus the values at past ticks when a
//! baseline reads the gauge at `T - offset`.

/// The gauge values of one (KPI, scope).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Gauges {
    current: Vec<i64>,
    /// Offsets (in ticks) read by baselines; empty when none.
    offsets: Vec<i64>,
    /// Per key, a ring of (tick index, value at that tick's close).
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
    /// `visit(key, offset position, value)` for the current values (position
    /// 0) and each baseline offset (position i + 1).
    pub fn close(&mut self, tick_index: i64, mut visit: impl FnMut(u32, usize, i64)) {
        let keep_history = !self.offsets.is_empty();
        if keep_history && self.history.len() < self.current.len() {
            self.history.resize(
                self.current.len(),
                vec![(i64::MIN, 0); self.history_len as usize],
            );
        }
        for (key, &value) in self.current.iter().enumerate() {
            visit(key as u32, 0, value);
            if !keep_history {
                continue;
            }
            let ring = &mut self.history[key];
            ring[tick_index.rem_euclid(self.history_len) as usize] = (tick_index, value);
            for (position, offset) in self.offsets.iter().enumerate() {
                let past = tick_index - offset;
                let (at, value) = ring[past.rem_euclid(self.history_len) as usize];
                visit(key as u32, position + 1, if at == past { value } else { 0 });
            }
        }
    }
}
