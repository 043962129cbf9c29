//! Every tracked (KPI, scope): its keys and its windows or gauges, and how a
//! contribution reaches them.

use tripgate_model::snapshot::{DistributionStats, Measure, SeriesValues, WindowSpec};
use tripgate_model::time::NANOS_PER_SECOND;
use tripgate_model::{Kpi, KpiKind, Money, Nanos, ScopeDim};

use crate::gauge::Gauges;
use crate::keys::{Admission, ScopeNames};
use crate::window::{DistributionTotals, RatioTotals, WindowShape, Windows};

/// What one event adds to a KPI.
#[derive(Clone, Copy, Debug)]
pub enum Delta {
    Ratio {
        numerator: i128,
        samples: u64,
    },
    /// A distribution sample in nanoseconds.
    Sample(i64),
    Gauge(i64),
}

/// The keys an event contributes under, per scope; `None` skips that scope.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScopeKeys<'a> {
    pub global: bool,
    pub warehouse: Option<&'a str>,
    pub region: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub carrier: Option<&'a str>,
    pub sku: Option<&'a str>,
    pub category: Option<&'a str>,
    pub priority: Option<&'a str>,
}

impl<'a> ScopeKeys<'a> {
    fn key(&self, scope: ScopeDim) -> Option<&'a str> {
        match scope {
            ScopeDim::Global => self.global.then_some(ScopeDim::GLOBAL_KEY),
            ScopeDim::Warehouse => self.warehouse,
            ScopeDim::Region => self.region,
            ScopeDim::Channel => self.channel,
            ScopeDim::Carrier => self.carrier,
            ScopeDim::Sku => self.sku,
            ScopeDim::Category => self.category,
            ScopeDim::Priority => self.priority,
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
enum Data {
    Ratio(Windows<RatioTotals>),
    Distribution(Windows<DistributionTotals>),
    Gauge(Gauges),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Series {
    kpi: Kpi,
    scope: ScopeDim,
    /// Which of `KpiState::names` numbers this series' keys.
    names: usize,
    keys: Admission,
    /// Indexed by key row in `names`.
    data: Data,
    /// Per window (gauges: per offset): the spec it reports
    /// into and its length in nanoseconds.
    targets: Vec<(usize, Nanos)>,
    /// The row of the global scope's one key, once resolved: most events
    /// contribute under it, and admission is permanent, so it never changes.
    #[serde(skip)]
    global_row: Option<u32>,
}

/// A window contribution waiting for its delta to be added, and perhaps for
/// its key to be resolved (see `KpiState::flush`).
#[derive(Clone, Copy, Debug)]
struct Waiting {
    series: u32,
    key: Key,
    bucket: i64,
    delta: Delta,
}

#[derive(Clone, Copy, Debug)]
enum Key {
    /// Resolved: the key's row.
    Row(u32),
    /// Not yet: its name is in `KpiState::waiting_names`, from byte `.0`
    /// on, `.1` bytes long.
    Name(u32, u32),
}

impl Key {
    /// The row of a key `flush` has resolved.
    fn row(self) -> u32 {
        match self {
            Key::Row(row) => row,
            Key::Name(..) => unreachable!("a flush resolves every key first"),
        }
    }
}

/// How many window contributions wait before they are added together:
/// enough that the misses of a flush's first rounds have arrived when its
/// later rounds need them (64 gave 3% to 5% more than 32 in the window
/// bench; backtest, whose keys stay in the cache, does not notice).
const FLUSH_AT: usize = 64;

/// All tracked series; only (KPI, scope)s some rule uses are kept.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct KpiState {
    tick: Nanos,
    series: Vec<Series>,
    /// Contributions not yet added to their windows; empty whenever the
    /// state is read, closed or saved (`flush`).
    #[serde(skip)]
    waiting: Vec<Waiting>,
    /// The names of the waiting contributions' keys, one after another:
    /// the events they came from are gone by the time they are resolved.
    #[serde(skip)]
    waiting_names: String,
    /// The key names: one table per scope, shared by the windowed series of
    /// that scope, so an event's key is looked up once for all of them.
    /// A gauge series has a table of its own, because `Gauges` numbers and
    /// reports its keys in row order, which must be its order of admission.
    names: Vec<ScopeNames>,
    by_kpi: Vec<Vec<usize>>,
    spec_count: usize,
}

/// A close reports at most one value per key with data, so with more keys
/// than this a series' lists are allocated once at that size instead of
/// grown (and copied) by doubling while, say, 100k values are pushed. Short
/// lists grow cheaply, and an exact reservation for each would cost more.
const RESERVE_FROM: usize = 64;

/// Where `kpi` is in `Kpi::ALL`, which lists them in declaration order
/// (tested): its discriminant, not a search made for every contribution.
fn kpi_slot(kpi: Kpi) -> usize {
    kpi as usize
}

impl KpiState {
    pub fn new(tick: Nanos, max_keys: usize, specs: &[WindowSpec]) -> KpiState {
        let mut series: Vec<Series> = Vec::new();
        let mut shapes: Vec<Vec<(WindowShape, usize, Nanos)>> = Vec::new();
        for (index, spec) in specs.iter().enumerate() {
            let position = match series
                .iter()
                .position(|s| s.kpi == spec.kpi && s.scope == spec.scope)
            {
                Some(position) => position,
                None => {
                    series.push(Series {
                        kpi: spec.kpi,
                        scope: spec.scope,
                        names: 0,
                        keys: Admission::new(max_keys),
                        data: Data::Gauge(Gauges::new(Vec::new())),
                        targets: Vec::new(),
                        global_row: None,
                    });
                    shapes.push(Vec::new());
                    series.len() - 1
                }
            };
            let length = spec.window.as_ref().map_or(0, |w| w.nanos());
            let shape = WindowShape {
                length: length / tick,
                offset: spec.offset / tick,
            };
            shapes[position].push((shape, index, length));
        }
        for (series, shapes) in series.iter_mut().zip(shapes) {
            series.targets = shapes
                .iter()
                .map(|(_, index, length)| (*index, *length))
                .collect();
            let windows: Vec<WindowShape> = shapes.iter().map(|(shape, _, _)| *shape).collect();
            series.data = match series.kpi.kind() {
                KpiKind::Ratio => Data::Ratio(Windows::new(windows)),
                KpiKind::Distribution => Data::Distribution(Windows::new(windows)),
                KpiKind::Gauge => {
                    Data::Gauge(Gauges::new(windows.iter().map(|w| w.offset).collect()))
                }
            };
        }
        let mut names: Vec<ScopeNames> = Vec::new();
        let mut shared: Vec<(ScopeDim, usize)> = Vec::new();
        for series in &mut series {
            let existing = shared.iter().find(|(scope, _)| *scope == series.scope);
            series.names = match existing {
                Some(&(_, table)) if series.kpi.kind() != KpiKind::Gauge => table,
                _ => {
                    names.push(ScopeNames::default());
                    if series.kpi.kind() != KpiKind::Gauge {
                        shared.push((series.scope, names.len() - 1));
                    }
                    names.len() - 1
                }
            };
        }
        let mut by_kpi = vec![Vec::new(); Kpi::ALL.len()];
        for (position, series) in series.iter().enumerate() {
            by_kpi[kpi_slot(series.kpi)].push(position);
        }
        KpiState {
            tick,
            series,
            waiting: Vec::with_capacity(FLUSH_AT),
            waiting_names: String::new(),
            names,
            by_kpi,
            spec_count: specs.len(),
        }
    }

    /// Adds `delta` to every tracked series of `kpi` that has a key in `keys`:
    /// gauges at once, windows at the next `flush`. In a scope with many
    /// names the flush resolves the key too, and the slot where its lookup
    /// starts is prefetched now; a scope with few names stays in the cache,
    /// and its key is resolved at once, not copied to wait.
    pub fn contribute(&mut self, kpi: Kpi, at: Nanos, keys: &ScopeKeys<'_>, delta: Delta) {
        let bucket = at.div_euclid(self.tick);
        for &position in &self.by_kpi[kpi_slot(kpi)] {
            let series = &mut self.series[position];
            let Some(name) = keys.key(series.scope) else {
                continue;
            };
            let names = &mut self.names[series.names];
            match (&mut series.data, delta) {
                (Data::Gauge(gauges), Delta::Gauge(change)) => {
                    gauges.change(series.keys.resolve(names, name), change)
                }
                (Data::Ratio(_), Delta::Ratio { .. })
                | (Data::Distribution(_), Delta::Sample(_)) => {
                    let key = if names.is_large() {
                        names.prefetch(name);
                        let start = self.waiting_names.len() as u32;
                        self.waiting_names.push_str(name);
                        Key::Name(start, name.len() as u32)
                    } else if let Some(row) = series.global_row {
                        Key::Row(row)
                    } else {
                        let row = series.keys.resolve(names, name);
                        if series.scope == ScopeDim::Global {
                            series.global_row = Some(row);
                        }
                        Key::Row(row)
                    };
                    self.waiting.push(Waiting {
                        series: position as u32,
                        key,
                        bucket,
                        delta,
                    })
                }
                (_, delta) => unreachable!("{delta:?} does not fit {kpi}"),
            }
        }
        if self.waiting.len() >= FLUSH_AT {
            self.flush();
        }
    }

    /// Resolves the waiting contributions' keys that wait for it and adds
    /// them all to their windows, in the order they were made. With many
    /// keys, each name's slot in its scope's table, each key's entry and a
    /// distribution's sketch are cache misses; made one contribution at a
    /// time, each miss is waited for alone, one after another. Here they
    /// overlap, in three rounds: the names' slots were prefetched as the
    /// contributions were made; the keys are resolved (in order of
    /// contribution, as admission needs: a scope's keys wait from the
    /// moment it has many names on, so none is resolved before an earlier
    /// one) and their entries prefetched; then every sketch the entries
    /// point to is prefetched; and the additions find their memory in the
    /// cache. Prefetches, not reads: a read that misses holds the processor
    /// up once the few dozen instructions it can run past it are used, so
    /// reads made ahead overlapped only a few misses; prefetches retire at
    /// once and all of a round's are in flight together. Additions of
    /// integers and sketch counts give the same totals in any grouping.
    pub fn flush(&mut self) {
        if self.waiting.is_empty() {
            return;
        }
        let mut waiting = std::mem::take(&mut self.waiting);
        for contribution in &mut waiting {
            let series = &mut self.series[contribution.series as usize];
            let key = match contribution.key {
                Key::Row(row) => row,
                Key::Name(start, len) => {
                    let name = &self.waiting_names[start as usize..][..len as usize];
                    series.keys.resolve(&mut self.names[series.names], name)
                }
            };
            contribution.key = Key::Row(key);
            match &series.data {
                Data::Ratio(windows) => windows.prefetch_entry(key),
                Data::Distribution(windows) => windows.prefetch_entry(key),
                Data::Gauge(_) => {}
            }
        }
        self.waiting_names.clear();
        for contribution in &waiting {
            match &self.series[contribution.series as usize].data {
                Data::Ratio(windows) => windows.prefetch_held(contribution.key.row()),
                Data::Distribution(windows) => windows.prefetch_held(contribution.key.row()),
                Data::Gauge(_) => {}
            }
        }
        for contribution in waiting.drain(..) {
            let Waiting {
                series,
                key,
                bucket,
                delta,
            } = contribution;
            let key = key.row();
            match (&mut self.series[series as usize].data, delta) {
                (Data::Ratio(windows), Delta::Ratio { numerator, samples }) => {
                    let totals = windows.bucket_mut(key, bucket);
                    totals.numerator.add(numerator);
                    totals.samples += samples;
                }
                (Data::Distribution(windows), Delta::Sample(nanos)) => {
                    let totals = windows.bucket_mut(key, bucket);
                    totals.sum_nanos.add(i128::from(nanos));
                    totals.sketch.insert(nanos);
                }
                (_, delta) => unreachable!("{delta:?} waits only for a window"),
            }
        }
        self.waiting = waiting;
    }

    /// Slides every window to the tick at `tick_index` and reads the values.
    pub fn close(&mut self, tick_index: i64) -> Vec<SeriesValues> {
        self.flush();
        let mut out = vec![SeriesValues::default(); self.spec_count];
        for series in &mut self.series {
            let Series {
                kpi,
                names,
                keys,
                data,
                targets,
                ..
            } = series;
            let kpi = *kpi;
            let names = &self.names[*names];
            let order = keys.order();
            let active = match data {
                Data::Ratio(windows) => windows.active_keys(),
                Data::Distribution(windows) => windows.active_keys(),
                Data::Gauge(_) => 0,
            };
            if active > RESERVE_FROM {
                for &(spec, _) in targets.iter() {
                    out[spec].values.reserve(active);
                }
            }
            match data {
                Data::Ratio(windows) => {
                    windows.close(tick_index, order, |key, position, totals| {
                        if totals.samples == 0 {
                            return;
                        }
                        let (spec, length) = targets[position];
                        let value = ratio_value(kpi, totals, length);
                        out[spec].values.push((
                            names.name(key).clone(),
                            Measure::Ratio {
                                value,
                                samples: totals.samples,
                            },
                        ));
                    })
                }
                Data::Distribution(windows) => {
                    windows.close(tick_index, order, |key, position, totals| {
                        if totals.sketch.is_empty() {
                            return;
                        }
                        let (spec, _) = targets[position];
                        let measure = Measure::Distribution(distribution_stats(totals));
                        out[spec].values.push((names.name(key).clone(), measure));
                    })
                }
                Data::Gauge(gauges) => gauges.close(tick_index, |key, position, value| {
                    if value > 0 {
                        let (spec, _) = targets[position];
                        out[spec]
                            .values
                            .push((names.name(key).clone(), Measure::Gauge { value }));
                    }
                }),
            }
        }
        out
    }
}

/// One division of the two exact totals (contract section 9, "Numbers").
fn ratio_value(kpi: Kpi, totals: &RatioTotals, window_nanos: Nanos) -> f64 {
    match kpi {
        Kpi::OrderRate => {
            (totals.samples as f64 * 3600.0 * NANOS_PER_SECOND as f64) / window_nanos as f64
        }
        Kpi::ContributionMargin => {
            totals.numerator.get() as f64
                / (totals.samples as f64 * Money::SUBUNITS_PER_UNIT as f64)
        }
        _ => totals.numerator.get() as f64 / totals.samples as f64,
    }
}

fn distribution_stats(totals: &DistributionTotals) -> DistributionStats {
    let [p50, p90, p95, p99] = totals.sketch.percentiles([50, 90, 95, 99]);
    let count = totals.sketch.count();
    DistributionStats {
        count,
        mean: totals.sum_nanos.get() as f64 / (count as f64 * NANOS_PER_SECOND as f64),
        p50,
        p90,
        p95,
        p99,
    }
}

#[cfg(test)]
mod tests {
    use tripgate_model::Span;

    use super::*;

    const TICK: Nanos = 60 * NANOS_PER_SECOND;

    /// `on_time_rate` and `cycle_time` by warehouse over 1h.
    fn warehouse_specs() -> [WindowSpec; 2] {
        [Kpi::OnTimeRate, Kpi::CycleTime].map(|kpi| WindowSpec {
            kpi,
            scope: ScopeDim::Warehouse,
            window: Some(Span::parse("1h").expect("valid span")),
            offset: 0,
        })
    }

    #[test]
    fn a_kpi_slot_is_its_place_in_all() {
        for (place, kpi) in Kpi::ALL.iter().enumerate() {
            assert_eq!(kpi_slot(*kpi), place, "{kpi}");
        }
    }

    /// More keys than `keys::LARGE_FROM`, so the names' slots are
    /// prefetched, with names short enough to be held in place and long
    /// enough to be held on the heap, every key contributing a count of
    /// its own across many flushes: each contribution must reach its own
    /// key, whatever the flush it waited for.
    #[test]
    fn each_of_many_keys_gets_its_own_contributions() {
        let mut state = KpiState::new(TICK, 10_000, &warehouse_specs());
        let name = |key: usize| match key % 2 {
            0 => format!("wh-{key}"),
            _ => format!("a-warehouse-with-a-long-name-{key}"),
        };
        let keys = 6_000;
        // Key k gets k % 7 + 1 deliveries, spread over the rounds.
        for round in 0..7 {
            for key in (0..keys).filter(|key| key % 7 >= round) {
                let name = name(key);
                let keys = ScopeKeys {
                    warehouse: Some(&name),
                    ..ScopeKeys::default()
                };
                let on_time = Delta::Ratio {
                    numerator: i128::from(key % 2 == 0),
                    samples: 1,
                };
                state.contribute(Kpi::OnTimeRate, 0, &keys, on_time);
                let seconds = (key as i64 + 1) * NANOS_PER_SECOND;
                state.contribute(Kpi::CycleTime, 0, &keys, Delta::Sample(seconds));
            }
        }
        let values = state.close(1);
        let [ratios, cycles] = [&values[0].values, &values[1].values];
        assert_eq!((ratios.len(), cycles.len()), (keys, keys));
        for (key, ((ratio_name, ratio), (cycle_name, cycle))) in
            ratios.iter().zip(cycles).enumerate()
        {
            assert_eq!((&**ratio_name, &**cycle_name), (&*name(key), &*name(key)));
            let deliveries = key as u64 % 7 + 1;
            let on_time = if key % 2 == 0 { 1.0 } else { 0.0 };
            assert_eq!(
                *ratio,
                Measure::Ratio {
                    value: on_time,
                    samples: deliveries
                }
            );
            let Measure::Distribution(stats) = cycle else {
                panic!("{cycle:?} is not a distribution");
            };
            assert_eq!(stats.count, deliveries);
            assert_eq!(stats.mean, key as f64 + 1.0);
        }
    }

    /// Admission past the cap in a scope whose keys wait for the flush:
    /// each KPI admits the first `max_keys` names in its own order of
    /// contribution and folds the rest into `__other__`, as it would one
    /// contribution at a time.
    #[test]
    fn admission_keeps_the_order_of_contribution_when_keys_wait() {
        let cap = 5_000;
        let mut state = KpiState::new(TICK, cap, &warehouse_specs());
        let name = |key: usize| format!("wh-{key}");
        let keys = 6_000;
        let sample = Delta::Ratio {
            numerator: 1,
            samples: 1,
        };
        let orders: [(Kpi, Delta, Vec<usize>); 2] = [
            (Kpi::OnTimeRate, sample, (0..keys).collect()),
            (Kpi::CycleTime, Delta::Sample(1), (0..keys).rev().collect()),
        ];
        for (kpi, delta, order) in &orders {
            for key in order {
                let name = name(*key);
                let keys = ScopeKeys {
                    warehouse: Some(&name),
                    ..ScopeKeys::default()
                };
                state.contribute(*kpi, 0, &keys, *delta);
            }
        }
        let values = state.close(1);
        let listed = |series: usize| -> Vec<String> {
            values[series]
                .values
                .iter()
                .map(|(name, _)| name.to_string())
                .collect()
        };
        let expected = |order: &mut dyn Iterator<Item = usize>| -> Vec<String> {
            let mut names: Vec<String> = order.take(cap).map(name).collect();
            names.push(crate::keys::OTHER_KEY.to_string());
            names
        };
        assert_eq!(listed(0), expected(&mut (0..keys)));
        assert_eq!(listed(1), expected(&mut (0..keys).rev()));
        let other_samples = |series: usize| match values[series].values.last() {
            Some((_, Measure::Ratio { samples, .. })) => *samples,
            Some((_, Measure::Distribution(stats))) => stats.count,
            other => panic!("{other:?}"),
        };
        assert_eq!(other_samples(0), (keys - cap) as u64);
        assert_eq!(other_samples(1), (keys - cap) as u64);
    }
}
