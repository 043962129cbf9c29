//! The breaker state machine of contract section 6, on its own so it can be
//! table-tested without KPIs.

use tripgate_model::Band;

/// What a tick showed for one (rule, key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Observed {
    Band(Band),
    /// Too few samples, no baseline, or a null value: breaks every run.
    Insufficient,
}

/// One breaker: its state and the runs of observations that end at the
/// latest tick.
///
/// A transition needs the last n + 1 (or m + 1) observations to lie at or
/// beyond a band, so all that matters of the past is how many ticks in a row,
/// up to now, each such condition has held. Four counters say it with no
/// history kept: a breaker is a few words, whatever `for` and `recover_for`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Breaker {
    pub state: Band,
    /// Transitions so far; the next transition has version + 1.
    pub version: u64,
    /// Ticks in a row, ending now, seen red; yellow or red; green; green
    /// or yellow. Ticks before the breaker existed belong to no run, and an
    /// insufficient tick ends every run. They stop counting at `u32::MAX`.
    runs: Runs,
    /// Escalation needs n + 1 ticks in a row, de-escalation m + 1 (at most
    /// `u32::MAX`: 136 years of 1 s ticks).
    escalate_run: u32,
    recover_run: u32,
}

#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Runs {
    red: u32,
    yellow_or_worse: u32,
    green: u32,
    yellow_or_better: u32,
}

impl Runs {
    fn observe(&mut self, observed: Observed) {
        let Observed::Band(band) = observed else {
            *self = Runs::default();
            return;
        };
        let extend = |run: u32, holds: bool| if holds { run.saturating_add(1) } else { 0 };
        self.red = extend(self.red, band == Band::Red);
        self.yellow_or_worse = extend(self.yellow_or_worse, band >= Band::Yellow);
        self.green = extend(self.green, band == Band::Green);
        self.yellow_or_better = extend(self.yellow_or_better, band <= Band::Yellow);
    }
}

impl Breaker {
    /// `n = for ÷ tick`, `m = recover_for ÷ tick`.
    pub fn new(n: usize, m: usize) -> Breaker {
        let run = |ticks: usize| u32::try_from(ticks.saturating_add(1)).unwrap_or(u32::MAX);
        Breaker {
            state: Band::Green,
            version: 0,
            runs: Runs::default(),
            escalate_run: run(n),
            recover_run: run(m),
        }
    }

    /// Records one closed tick's observation; returns the new state if it changed.
    pub fn observe(&mut self, observed: Observed) -> Option<Band> {
        self.runs.observe(observed);
        let next = self.escalation().or_else(|| self.recovery())?;
        self.state = next;
        self.version += 1;
        Some(next)
    }

    /// The worst band worse than the state seen (or worse) at each of the last n + 1 ticks.
    fn escalation(&self) -> Option<Band> {
        [
            (Band::Red, self.runs.red),
            (Band::Yellow, self.runs.yellow_or_worse),
        ]
        .into_iter()
        .find(|(band, run)| *band > self.state && *run >= self.escalate_run)
        .map(|(band, _)| band)
    }

    /// The best band better than the state seen (or better) at each of the last m + 1 ticks.
    fn recovery(&self) -> Option<Band> {
        [
            (Band::Green, self.runs.green),
            (Band::Yellow, self.runs.yellow_or_better),
        ]
        .into_iter()
        .find(|(band, run)| *band < self.state && *run >= self.recover_run)
        .map(|(band, _)| band)
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

    /// The breaker as it was, with the last `max(n, m) + 1` observations
    /// kept and every run checked by walking them: the reference the
    /// counters must agree with.
    struct HistoryBreaker {
        state: Band,
        version: u64,
        history: std::collections::VecDeque<Observed>,
        escalate_run: usize,
        recover_run: usize,
    }

    impl HistoryBreaker {
        fn new(n: usize, m: usize) -> HistoryBreaker {
            HistoryBreaker {
                state: Band::Green,
                version: 0,
                history: std::collections::VecDeque::new(),
                escalate_run: n + 1,
                recover_run: m + 1,
            }
        }

        fn observe(&mut self, observed: Observed) -> Option<Band> {
            if self.history.len() == self.escalate_run.max(self.recover_run) {
                self.history.pop_front();
            }
            self.history.push_back(observed);
            let next = self.escalation().or_else(|| self.recovery())?;
            self.state = next;
            self.version += 1;
            Some(next)
        }

        fn escalation(&self) -> Option<Band> {
            [Band::Red, Band::Yellow]
                .into_iter()
                .filter(|band| *band > self.state)
                .find(|band| self.run_holds(self.escalate_run, |seen| seen >= *band))
        }

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

    fn observation() -> impl proptest::strategy::Strategy<Value = Observed> {
        use proptest::prelude::*;
        // Weighted so that long runs of one band, which make transitions, are common.
        prop_oneof![3 => Just(G), 2 => Just(Y), 2 => Just(R), 1 => Just(I)]
    }

    fn runs_of_observations() -> impl proptest::strategy::Strategy<Value = Vec<Observed>> {
        use proptest::prelude::*;
        proptest::collection::vec((observation(), 1usize..8), 0..40).prop_map(|runs| {
            runs.into_iter()
                .flat_map(|(observed, length)| std::iter::repeat_n(observed, length))
                .collect()
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]

        #[test]
        fn counters_agree_with_the_history(
            n in 0usize..7,
            m in 0usize..7,
            seen in proptest::prop_oneof![
                proptest::collection::vec(observation(), 0..200),
                runs_of_observations(),
            ],
        ) {
            let mut breaker = Breaker::new(n, m);
            let mut reference = HistoryBreaker::new(n, m);
            for (tick, observed) in seen.iter().enumerate() {
                proptest::prop_assert_eq!(
                    breaker.observe(*observed),
                    reference.observe(*observed),
                    "tick {} of {:?}", tick, seen
                );
                proptest::prop_assert_eq!(breaker.state, reference.state);
                proptest::prop_assert_eq!(breaker.version, reference.version);
            }
        }

        #[test]
        fn a_restored_breaker_carries_on_identically(
            n in 0usize..5,
            m in 0usize..5,
            before in runs_of_observations(),
            after in runs_of_observations(),
        ) {
            let mut breaker = Breaker::new(n, m);
            for observed in &before {
                breaker.observe(*observed);
            }
            let saved = serde_json::to_string(&breaker).unwrap();
            let mut restored: Breaker = serde_json::from_str(&saved).unwrap();
            for observed in &after {
                proptest::prop_assert_eq!(restored.observe(*observed), breaker.observe(*observed));
                proptest::prop_assert_eq!(restored.version, breaker.version);
            }
        }
    }

    #[test]
    fn a_breaker_is_small_and_owns_no_heap() {
        // state, version, four run counters and the two run lengths.
        assert!(std::mem::size_of::<Breaker>() <= 40);
    }
}
