//! The breaker state machine of contract section 6, on its own so it can be
//! table-tested without KPIs.

use std::collections::VecDeque;

use tripgate_model::Band;

/// What a tick showed for one (rule, key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Observed {
    Band(Band),
    /// Too few samples, no baseline, or a null value: breaks every run.
    Insufficient,
}

/// One breaker: its state and the observations since it was created.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Breaker {
    pub state: Band,
    /// Transitions so far; the next transition has version + 1.
    pub version: u64,
    /// The last `max(n, m) + 1` observations, newest last. Ticks before the
    /// breaker existed belong to no run, so they are never in here.
    history: VecDeque<Observed>,
    /// Escalation needs n + 1 ticks in a row, de-escalation m + 1.
    escalate_run: usize,
    recover_run: usize,
}

impl Breaker {
    /// `n = for ÷ tick`, `m = recover_for ÷ tick`.
    pub fn new(n: usize, m: usize) -> Breaker {
        Breaker {
            state: Band::Green,
            version: 0,
            history: VecDeque::with_capacity(n.max(m) + 1),
            escalate_run: n + 1,
            recover_run: m + 1,
        }
    }

    /// Records one closed tick's observation; returns the new state if it changed.
    pub fn observe(&mut self, observed: Observed) -> Option<Band> {
        if self.history.len() == self.escalate_run.max(self.recover_run) {
            self.history.pop_front();
        }
        self.history.push_back(observed);
        let next = self.escalation().or_else(|| self.recovery())?;
        self.state = next;
        self.version += 1;
        Some(next)
    }

    /// The worst band worse than the state seen (or worse) at each of the last n + 1 ticks.
    fn escalation(&self) -> Option<Band> {
        [Band::Red, Band::Yellow]
            .into_iter()
            .filter(|band| *band > self.state)
            .find(|band| self.run_holds(self.escalate_run, |seen| seen >= *band))
    }

    /// The best band better than the state seen (or better) at each of the last m + 1 ticks.
    fn recovery(&self) -> Option<Band> {
        [Band::Green, Band::Yellow]
            .into_iter()
            .filter(|band| *band < self.state)
            .find(|band| self.run_holds(self.recover_run, |seen| seen <= *band))
    }

    fn run_holds(&self, length: usize, holds: impl Fn(Band) -> bool) -> bool {
        self.history.len() >= length
            && self
                .history
                .iter()
                .rev()
                .take(length)
                .all(|observed| match observed {
                    Observed::Band(band) => holds(*band),
                    Observed::Insufficient => false,
                })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Observed = Observed::Band(Band::Green);
    const Y: Observed = Observed::Band(Band::Yellow);
    const R: Observed = Observed::Band(Band::Red);
    const I: Observed = Observed::Insufficient;

    /// Runs observations and returns the state after each tick.
    fn run(n: usize, m: usize, seen: &[Observed]) -> Vec<Band> {
        let mut breaker = Breaker::new(n, m);
        seen.iter()
            .map(|observed| {
                breaker.observe(*observed);
                breaker.state
            })
            .collect()
    }

    use Band::{Green as g, Red as r, Yellow as y};

    #[test]
    fn state_machine_table() {
        // (name, n, m, observations, states after each tick)
        type Case<'a> = (&'a str, usize, usize, &'a [Observed], &'a [Band]);
        let cases: &[Case] = &[
            ("immediate with for 0", 0, 0, &[Y, R, G], &[y, r, g]),
            (
                "escalation waits n+1 ticks",
                1,
                1,
                &[R, R, G, G],
                &[g, r, r, g],
            ),
            (
                "the worst band held throughout wins",
                1,
                1,
                &[R, Y, R],
                &[g, y, y],
            ),
            (
                "red then yellow run escalates to yellow",
                1,
                0,
                &[Y, R, R],
                &[g, y, r],
            ),
            (
                "insufficient breaks an escalation run",
                1,
                1,
                &[R, I, R, R],
                &[g, g, g, r],
            ),
            (
                "insufficient breaks a recovery run",
                0,
                1,
                &[R, G, I, G, G],
                &[r, r, r, r, g],
            ),
            (
                "contract example ontime",
                1,
                2,
                &[G, R, R, Y, Y, Y, G],
                &[g, g, r, r, r, y, y],
            ),
            (
                "recovery to the best band held",
                0,
                1,
                &[R, G, Y],
                &[r, r, y],
            ),
            (
                "de-escalate to green needs all green",
                0,
                2,
                &[R, G, Y, G],
                &[r, r, r, y],
            ),
            ("ticks before creation are no run", 2, 0, &[R, R], &[g, g]),
        ];
        for (name, n, m, seen, expected) in cases {
            assert_eq!(&run(*n, *m, seen), expected, "{name}");
        }
    }

    #[test]
    fn versions_count_transitions() {
        let mut breaker = Breaker::new(0, 0);
        assert_eq!(breaker.observe(Y), Some(Band::Yellow));
        assert_eq!(breaker.observe(Y), None);
        assert_eq!(breaker.observe(G), Some(Band::Green));
        assert_eq!(breaker.version, 2);
    }
}
