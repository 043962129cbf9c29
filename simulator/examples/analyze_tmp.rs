use std::collections::{BTreeMap, HashMap};
use tripgate_model::time::parse_rfc3339;
fn main() {
    let days: u32 = std::env::args().nth(1).and_then(|t| t.parse().ok()).unwrap_or(7);
    let demo = std::env::args().nth(2).is_some();
    let start = 1_735_689_600_000_000_000i64;
    let lines: Box<dyn Iterator<Item = String>> = if demo {
        let mut b = tripgate_simulator::Business::new(tripgate_simulator::Scenario::demo(), 42, start);
        let c = tripgate_simulator::Controls::default();
        Box::new((1..=days as i64 * 6).flat_map(move |h| b.advance(start + h * 600_000_000_000, &c)))
    } else { Box::new(tripgate_simulator::simulate(days, 1, start)) };
    let mut placed: HashMap<String, (i64, i64, String, u64)> = HashMap::new();
    let mut opened: HashMap<String, i64> = HashMap::new();
    // per (bucket, wh): delivered, on_time, cycle sum
    let mut stats: BTreeMap<(i64, String), (u64, u64, f64)> = BTreeMap::new();
    let mut counts: BTreeMap<(i64, String), u64> = BTreeMap::new();
    let mut frt: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    let mut units: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    let bucket_len = if demo { 1_800_000_000_000 } else { 86_400_000_000_000 };
    for line in lines {
        let e: serde_json::Value = serde_json::from_str(&line).unwrap();
        let at = parse_rfc3339(e["occurred_at"].as_str().unwrap()).unwrap();
        let b = (at - start) / bucket_len;
        let t = e["type"].as_str().unwrap().to_string();
        *counts.entry((b, t.clone())).or_default() += 1;
        let oid = e["order_id"].as_str().unwrap_or("").to_string();
        match t.as_str() {
            "order.placed" => { let u: u64 = e["lines"].as_array().unwrap().iter().filter(|l| !demo || l["sku"] == "SKU-017").map(|l| l["quantity"].as_u64().unwrap()).sum(); placed.insert(oid, (at, parse_rfc3339(e["promised_by"].as_str().unwrap()).unwrap(), e["warehouse"].as_str().unwrap().to_string(), u)); }
            "fulfillment.delivered" => { if let Some((p, by, wh, u)) = placed.get(&oid) { let s = stats.entry((b, wh.clone())).or_default(); s.0 += 1; if at <= *by { s.1 += 1 }; s.2 += (at - p) as f64 / 3.6e12; units.entry(b).or_default().0 += u; } }
            "fulfillment.defect_reported" if !demo || e["sku"] == "SKU-017" => { units.entry(b).or_default().1 += e["quantity"].as_u64().unwrap(); }
            "ticket.opened" => { opened.insert(e["ticket_id"].as_str().unwrap().to_string(), at); }
            "ticket.first_response" => { if let Some(o) = opened.get(e["ticket_id"].as_str().unwrap()) { frt.entry(b).or_default().push((at - o) as f64 / 60e9); } }
            _ => {}
        }
    }
    for ((b, wh), (d, ot, cyc)) in &stats { println!("bucket {b} {wh}: delivered {d} on-time {:.1}% mean cycle {:.1}h", *ot as f64 * 100.0 / *d as f64, cyc / *d as f64); }
    let mut last = -1;
    for ((b, t), c) in &counts { if *b != last { println!(); print!("bucket {b}:"); last = *b; } print!(" {t}={c}"); }
    println!();
    for (b, mut v) in frt { v.sort_by(|a, b| a.partial_cmp(b).unwrap()); let (u, d) = units.get(&b).copied().unwrap_or_default(); println!("bucket {b}: frt p50 {:.1}m p90 {:.1}m max {:.1}m; defect rate {:.4}", v[v.len() / 2], v[v.len() * 9 / 10], v[v.len() - 1], d as f64 / u as f64); }
}
