mod support;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use support::generate::sorted_events;
use support::harness::*;
use support::reference::Reference;
#[test]
fn stats() {
    let mut runner = TestRunner::default();
    let specs = all_specs();
    for ttl in ["30d", "7m"] {
    let p = pipeline(&format!("order_ttl = \"{ttl}\""));
    let mut nonempty = vec![0usize; specs.len()];
    let mut maxkeys = vec![0usize; specs.len()];
    let (mut sd, mut um, mut n, mut ticks) = (0, 0, 0, 0);
    for _ in 0..64 {
        let events = sorted_events(100).new_tree(&mut runner).unwrap().current();
        let r = run(&p, &specs, &events.0, true);
        let reference = Reference::replay(&events.0, p.order_ttl.nanos(), p.max_keys);
        sd += reference.semantic_duplicates; um += reference.unmatched; n += events.0.len(); ticks += r.snapshots.len();
        for s in &r.snapshots { for (i, v) in s.series.iter().enumerate() { if !v.values.is_empty() { nonempty[i] += 1; } maxkeys[i] = maxkeys[i].max(v.values.len()); } }
    }
    println!("ttl {ttl} events {n} semdup {sd} unmatched {um} ticks {ticks}");
    for (i, s) in specs.iter().enumerate() { println!("{:?}/{:?}/{:?}/{} nonempty {} maxkeys {}", s.kpi, s.scope, s.window, s.offset, nonempty[i], maxkeys[i]); }
    }
}

#[test]
fn gauge_baseline_alone() {
    use tripgate_model::*;
    use tripgate_aggregator::Aggregator;
    use support::generate::event_at;
    let p = pipeline("");
    let specs = vec![WindowSpec { kpi: Kpi::SupportQueue, scope: ScopeDim::Global, window: None, offset: 3 * MINUTE }];
    let mut agg = Aggregator::new(&p, &specs);
    agg.offer(event_at("a".into(), 10, EventBody::TicketOpened { ticket_id: "t".into(), category: "c".into(), priority: Priority::Low, order_id: None }));
    agg.offer(event_at("b".into(), 600, EventBody::TicketResolved { ticket_id: "t".into() }));
    let mut out = Vec::new();
    agg.finish(|s| out.push(s));
    for s in &out { println!("{} {:?}", (s.tick - support::generate::BASE) / MINUTE, s.series[0].values); }
}
