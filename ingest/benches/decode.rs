//! Decode + validate throughput (issue 6 target: ≥ 600 MB/s per core on
//! ~300 B contract events).
//!
//! Every event type appears, each padded to about 300 bytes the way real
//! producers pad them: a trace id and a producer name that tripgate ignores
//! but still has to parse. `mixed` decodes all ten in turn; the per-type
//! groups show which shapes cost most. Time is the bench thread's CPU time
//! (`benches/cpu_time.rs`), so bytes/s is the per-core figure even on a
//! machine busy with other work.
//!
//!     cargo bench -p tripgate-ingest --bench decode

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

#[path = "../../benches/cpu_time.rs"]
mod cpu_clock;
use cpu_clock::ThreadCpuTime;

const MAX_EVENT_BYTES: usize = 65536;

/// One event of every type, about 300 bytes each.
fn samples() -> Vec<(&'static str, String)> {
    let meta = r#""meta":{"producer":"checkout-service-7f9c","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","schema":"v1"}"#;
    let at = r#""occurred_at":"2025-03-14T09:26:53.589Z""#;
    let order = r#""order_id":"ord-2025-03-14-000918273""#;
    let event = |id: u32, kind: &str, fields: &str| {
        format!(
            r#"{{"event_id":"evt-01HQ7ZK3V9P2M5N8R4T6W{id:05}","type":"{kind}",{at},{fields},{meta}}}"#
        )
    };
    vec![
        (
            "order.placed",
            event(
                1,
                "order.placed",
                &format!(
                    r#"{order},"channel":"marketplace","region":"eu-central","warehouse":"wh-fra-2","promised_by":"2025-03-16T18:00:00+01:00","lines":[{{"sku":"SKU-004417","quantity":2,"unit_price":24.99,"unit_cost":11.2}},{{"sku":"SKU-000231","quantity":1,"unit_price":119.0,"unit_cost":64.35}}]"#
                ),
            ),
        ),
        (
            "order.cancelled",
            event(
                2,
                "order.cancelled",
                &format!(r#"{order},"note":"customer changed their mind before packing""#),
            ),
        ),
        (
            "order.refunded",
            event(
                3,
                "order.refunded",
                &format!(r#"{order},"amount":49.98,"note":"damaged in transit, refund approved""#),
            ),
        ),
        (
            "order.chargeback",
            event(
                4,
                "order.chargeback",
                &format!(r#"{order},"amount":119.0,"note":"issuer dispute code 10.4 received""#),
            ),
        ),
        (
            "fulfillment.shipped",
            event(
                5,
                "fulfillment.shipped",
                &format!(r#"{order},"carrier":"parcelco-express","tracking":"1Z999AA10123456784""#),
            ),
        ),
        (
            "fulfillment.delivered",
            event(
                6,
                "fulfillment.delivered",
                &format!(r#"{order},"proof":"signature","tracking":"1Z999AA10123456784""#),
            ),
        ),
        (
            "fulfillment.defect_reported",
            event(
                7,
                "fulfillment.defect_reported",
                &format!(r#"{order},"sku":"SKU-004417","quantity":1,"reason":"damaged_packaging""#),
            ),
        ),
        (
            "ticket.opened",
            event(
                8,
                "ticket.opened",
                &format!(
                    r#""ticket_id":"tkt-2025-03-14-0000451","category":"shipping","priority":"high",{order}"#
                ),
            ),
        ),
        (
            "ticket.first_response",
            event(
                9,
                "ticket.first_response",
                r#""ticket_id":"tkt-2025-03-14-0000451","agent":"agent-0042","channel_used":"email""#,
            ),
        ),
        (
            "ticket.resolved",
            event(
                10,
                "ticket.resolved",
                r#""ticket_id":"tkt-2025-03-14-0000451","agent":"agent-0042","resolution":"reshipped""#,
            ),
        ),
    ]
}

fn decode_benches(c: &mut Criterion<ThreadCpuTime>) {
    let samples = samples();
    for (kind, text) in &samples {
        let decoded = tripgate_ingest::decode(text.as_bytes(), MAX_EVENT_BYTES);
        assert!(decoded.is_ok(), "{kind} sample is rejected: {decoded:?}");
    }
    let total: usize = samples.iter().map(|(_, text)| text.len()).sum();

    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function(format!("mixed/{} events, {total} B", samples.len()), |b| {
        b.iter(|| {
            for (_, text) in &samples {
                black_box(
                    tripgate_ingest::decode(black_box(text.as_bytes()), MAX_EVENT_BYTES).ok(),
                );
            }
        })
    });
    for (kind, text) in &samples {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("{kind}/{} B", text.len()), |b| {
            b.iter(|| {
                black_box(tripgate_ingest::decode(black_box(text.as_bytes()), MAX_EVENT_BYTES).ok())
            })
        });
    }
    // A rejection must not be the slow path an attacker can pick.
    let broken = samples[0].1.replace("\"quantity\":2", "\"quantity\":2.0");
    group.throughput(Throughput::Bytes(broken.len() as u64));
    group.bench_function("rejected/invalid_field", |b| {
        b.iter(|| {
            black_box(tripgate_ingest::decode(black_box(broken.as_bytes()), MAX_EVENT_BYTES).err())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Two cores shared with builds: short runs, more samples of each.
    config = Criterion::default()
        .with_measurement(ThreadCpuTime)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = decode_benches
}
criterion_main!(benches);
