#!/usr/bin/env bash
# End-to-end benchmarks of `tripgate backtest` (issue 6; results in docs/BENCHMARKS.md).
#
#   scripts/bench-backtest.sh [throughput|orders|keys|instructions|all] [--days N] [--seed S]
#
#   throughput  simulate N days (default 14, ~1.8M events) once into .cache/bench/, then
#               replay them with the playbook rules (no --config): events/s per core
#               (events ÷ user+sys CPU seconds), peak RSS, wall time
#   orders      memory for 1,000,000 open orders: a generated log of 1M order.placed over
#               7 days, nothing shipped or delivered; peak RSS, and per order against a
#               log of 10,000 such orders
#   keys        memory per (key, KPI) window: 100,000 keys in one scope of a ratio
#               (order_rate, 1h) and of a distribution (first_response_time, 1h), each
#               against the same events under one key; the RSS difference ÷ 99,999
#   instructions  instructions per event by callgrind (valgrind, Debian package `valgrind`,
#               installed when missing) on a 2-day log (`--days` does not apply): the same
#               count on any machine and at any load, where the speeds above move with
#               the host; in total and for the parts of a backtest (see BENCHMARKS)
#   all         everything above but instructions (default)
#
# Prints one `RESULT name value unit` line per figure (easy to grep) after the details.
# Builds the release binary first. Installs GNU time (Debian package `time`) when
# /usr/bin/time is missing. Timings are CPU time, so other work on the machine inflates
# them only through shared caches; run on an idle machine for the documented figures.
set -euo pipefail
export TZ=UTC LC_ALL=C

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CACHE="$ROOT/.cache/bench"
# TRIPGATE_BENCH_BIN: another build to measure (an older one, to compare); not rebuilt.
BIN="${TRIPGATE_BENCH_BIN:-$ROOT/target/release/tripgate}"

what=all
days=14
seed=7
while [[ $# -gt 0 ]]; do
  case "$1" in
    throughput|orders|keys|instructions|all) what="$1" ;;
    --days) days="$2"; shift ;;
    --seed) seed="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 0 ;;
    *) echo "bench-backtest: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "bench-backtest: $*" >&2; }
result() { printf 'RESULT %s %s %s\n' "$1" "$2" "$3"; }

# Installs the Debian package $1 unless `$2` already runs.
ensure_package() {
  local package="$1"
  shift
  if "$@" >/dev/null 2>&1; then
    return
  fi
  say "installing $package"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
}

# Runs tripgate under /usr/bin/time -v; sets cpu_seconds, wall_seconds, rss_kb, events.
measure() {
  local log="$CACHE/time.txt"
  /usr/bin/time -v "$BIN" "$@" 2>"$log" >/dev/null || { cat "$log" >&2; return 1; }
  local user sys
  user=$(awk -F': ' '/User time \(seconds\)/ {print $2}' "$log")
  sys=$(awk -F': ' '/System time \(seconds\)/ {print $2}' "$log")
  cpu_seconds=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}')
  wall_seconds=$(awk -F': ' '/Elapsed \(wall clock\)/ {
    n = split($2, part, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + part[i]; printf "%.2f", s }' "$log")
  rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  events=$(awk -F': ' '/^events read/ {print $2}' "$log")
}

mb() { awk -v kb="$1" 'BEGIN {printf "%.1f", kb / 1024}'; }

throughput() {
  local log="$CACHE/sim-${days}d-seed${seed}.jsonl"
  if [[ ! -s $log ]]; then
    say "simulating $days days (seed $seed) into ${log#"$ROOT"/}"
    "$BIN" simulate --days "$days" --seed "$seed" --out "$log.tmp" 2>/dev/null
    mv "$log.tmp" "$log"
  fi
  local bytes
  bytes=$(stat -c %s "$log")
  say "backtest of ${log#"$ROOT"/} ($(mb $((bytes / 1024))) MB) with the playbook rules"
  # Once to warm the page cache, then the measured run.
  "$BIN" backtest --events "$log" --out /dev/null 2>/dev/null
  measure backtest --events "$log" --out "$CACHE/backtest-out.jsonl"
  local per_core mb_per_core
  per_core=$(awk -v e="$events" -v c="$cpu_seconds" 'BEGIN {printf "%.0f", e / c}')
  mb_per_core=$(awk -v b="$bytes" -v c="$cpu_seconds" 'BEGIN {printf "%.1f", b / c / 1e6}')
  say "$events events, $cpu_seconds CPU s, $wall_seconds s wall, peak RSS $(mb "$rss_kb") MB"
  result backtest_events "$events" events
  result backtest_events_per_core_second "$per_core" events/s
  result backtest_input_mb_per_core_second "$mb_per_core" MB/s
  result backtest_cpu_seconds "$cpu_seconds" s
  result backtest_wall_seconds "$wall_seconds" s
  result backtest_peak_rss "$(mb "$rss_kb")" MB
}

# Instructions per event on a 2-day log, by callgrind: in all, and inclusive
# counts of the functions each part of a backtest runs in (function names are
# in the release binary's symbol table; a part whose function was inlined
# away prints nothing).
instructions() {
  ensure_package valgrind valgrind --version
  local log="$CACHE/sim-2d-seed${seed}.jsonl" out="$CACHE/callgrind.out"
  if [[ ! -s $log ]]; then
    "$BIN" simulate --days 2 --seed "$seed" --out "$log.tmp" 2>/dev/null
    mv "$log.tmp" "$log"
  fi
  local events
  events=$(wc -l <"$log")
  say "callgrind on ${log#"$ROOT"/} ($events events)"
  valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$BIN" backtest --events "$log" --out /dev/null >/dev/null 2>&1
  local annotated="$CACHE/callgrind.txt"
  callgrind_annotate --inclusive=yes --threshold=100 "$out" >"$annotated"
  # The inclusive count of the first line naming $1.
  inclusive() {
    awk -v name="$1" 'index($0, name) && $1 ~ /^[0-9,]+$/ {gsub(",", "", $1); print $1; exit}' "$annotated"
  }
  per_event() { awk -v n="$1" -v e="$events" 'BEGIN {printf "%.0f", n / e}'; }
  local total
  total=$(awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}' "$annotated")
  result backtest_instructions_per_event "$(per_event "$total")" instructions
  # name=function: parts that do not overlap (a tick's close, evaluation and
  # output happen once a minute of event time, divided among its events).
  local entry count
  for entry in decode=tripgate_ingest::decode dedup_and_hold=Aggregator::offer_all \
    joins_and_kpis=apply::apply windows_close=KpiState::close \
    rules=Alerter::evaluate output=records::write_tick; do
    count=$(inclusive "${entry#*=}")
    [[ -n $count ]] && result "instructions_per_event_${entry%%=*}" "$(per_event "$count")" instructions
  done
}

# Writes N order.placed events over 7 days (nothing shipped, delivered or
# cancelled, so every order stays open under the 30d order_ttl).
open_orders() {
  local count="$1" out="$2"
  awk -v n="$count" 'BEGIN {
    split("web app marketplace retail", channels, " ")
    split("us-east us-west eu-central apac", regions, " ")
    split("wh-east wh-west wh-fra wh-sgp", warehouses, " ")
    start = 1736121600   # 2025-01-06T00:00:00Z
    step = 7 * 86400 / n
    for (i = 0; i < n; i++) {
      t = start + i * step
      s = int(t); ms = int((t - s) * 1000)
      placed = strftime("%Y-%m-%dT%H:%M:%S", s, 1) sprintf(".%03dZ", ms)
      promised = strftime("%Y-%m-%dT%H:%M:%S", s + 172800, 1) sprintf(".%03dZ", ms)
      k = i % 4 + 1
      lines = sprintf("{\"sku\":\"SKU-%03d\",\"quantity\":%d,\"unit_price\":24.99,\"unit_cost\":11.20}", i % 50, i % 3 + 1)
      if (i % 2) lines = lines sprintf(",{\"sku\":\"SKU-%03d\",\"quantity\":1,\"unit_price\":9.99,\"unit_cost\":4.10}", (i * 7) % 50)
      printf "{\"event_id\":\"ev-%d\",\"type\":\"order.placed\",\"occurred_at\":\"%s\",\"order_id\":\"ord-%d\",\"channel\":\"%s\",\"region\":\"%s\",\"warehouse\":\"%s\",\"promised_by\":\"%s\",\"lines\":[%s]}\n",
        i, placed, i, channels[k], regions[k], warehouses[k], promised, lines
    }
  }' > "$out"
}

orders() {
  local big="$CACHE/open-orders-1000000.jsonl" small="$CACHE/open-orders-10000.jsonl"
  [[ -s $big ]] || { say "generating 1,000,000 open orders"; open_orders 1000000 "$big"; }
  [[ -s $small ]] || open_orders 10000 "$small"
  measure backtest --events "$small" --out /dev/null
  local small_kb="$rss_kb"
  measure backtest --events "$big" --out /dev/null
  local per_order
  per_order=$(awk -v b="$rss_kb" -v s="$small_kb" 'BEGIN {printf "%.0f", (b - s) * 1024 / 990000}')
  say "1,000,000 open orders: peak RSS $(mb "$rss_kb") MB ($(mb "$small_kb") MB with 10,000); $cpu_seconds CPU s"
  result open_orders_1m_peak_rss "$(mb "$rss_kb")" MB
  result open_orders_bytes_per_order "$per_order" B
}

# One rule over SCOPE, with max_keys raised so 100k keys are all admitted.
keys_config() {
  local kpi="$1" scope="$2" stat="$3" out="$4"
  cat > "$out" <<EOF
[pipeline]
max_keys = 200000

[[rule]]
name = "bench"
kpi = "$kpi"
stat = "$stat"
scope = "$scope"
window = "1h"
yellow = { above = 1e12 }
EOF
}

# N events for KIND ("ratio": order.placed, one channel each; "distribution":
# ticket.opened + ticket.first_response, one category each) over 10 minutes,
# with KEYS distinct keys.
key_events() {
  local kind="$1" n="$2" keys="$3" out="$4"
  awk -v kind="$kind" -v n="$n" -v keys="$keys" 'BEGIN {
    start = 1736121600
    for (i = 0; i < n; i++) {
      s = start + int(i * 600 / n)
      at = strftime("%Y-%m-%dT%H:%M:%SZ", s, 1)
      later = strftime("%Y-%m-%dT%H:%M:%SZ", s + 30, 1)
      key = sprintf("k-%06d", i % keys)
      if (kind == "ratio") {
        printf "{\"event_id\":\"e%d\",\"type\":\"order.placed\",\"occurred_at\":\"%s\",\"order_id\":\"o%d\",\"channel\":\"%s\",\"region\":\"r\",\"warehouse\":\"w\",\"promised_by\":\"%s\",\"lines\":[{\"sku\":\"S\",\"quantity\":1,\"unit_price\":2,\"unit_cost\":1}]}\n", i, at, i, key, later
      } else {
        printf "{\"event_id\":\"o%d\",\"type\":\"ticket.opened\",\"occurred_at\":\"%s\",\"ticket_id\":\"t%d\",\"category\":\"%s\",\"priority\":\"low\"}\n", i, at, i, key
        printf "{\"event_id\":\"r%d\",\"type\":\"ticket.first_response\",\"occurred_at\":\"%s\",\"ticket_id\":\"t%d\"}\n", i, later, i
      }
    }
  }' > "$out"
}

keys() {
  local n=100000
  for kind in ratio distribution; do
    local config="$CACHE/keys-$kind.toml"
    if [[ $kind == ratio ]]; then
      keys_config order_rate channel value "$config"
    else
      keys_config first_response_time category p90 "$config"
    fi
    key_events "$kind" "$n" 1 "$CACHE/keys-$kind-1.jsonl"
    key_events "$kind" "$n" "$n" "$CACHE/keys-$kind-$n.jsonl"
    measure backtest --events "$CACHE/keys-$kind-1.jsonl" --config "$config" --out /dev/null
    local one_kb="$rss_kb"
    measure backtest --events "$CACHE/keys-$kind-$n.jsonl" --config "$config" --out /dev/null
    local per_key
    per_key=$(awk -v b="$rss_kb" -v s="$one_kb" -v n="$n" 'BEGIN {printf "%.0f", (b - s) * 1024 / (n - 1)}')
    say "$kind: peak RSS $(mb "$rss_kb") MB with $n keys, $(mb "$one_kb") MB with 1 key"
    result "window_bytes_per_key_$kind" "$per_key" B
  done
}

mkdir -p "$CACHE"
ensure_package time /usr/bin/time -v true
say "building the release binary"
[[ -n ${TRIPGATE_BENCH_BIN:-} ]] || (cd "$ROOT" && cargo build --release -p tripgate --quiet)
case "$what" in
  throughput) throughput ;;
  orders) orders ;;
  keys) keys ;;
  instructions) instructions ;;
  all) throughput; orders; keys ;;
esac
