#!/usr/bin/env bash
# End-to-end benchmark of live mode against the real Apache Kafka broker (issue 6).
#
#   scripts/bench-live.sh [--days N] [--seed S] [--partitions P] [--scrape]
#
# Simulates N days (default 7) once into .cache/bench/, loads them with `tripgate
# produce` into fresh P-partition topics (default 6), then starts the release
# `tripgate run` with the playbook rules and waits until it has read every message
# (tripgate_events_total on /metrics). Prints, as `RESULT name value unit` lines:
#   live_events_per_core_second  events ÷ the process's own user+sys CPU seconds
#                                (all its threads, librdkafka's included)
#   live_catch_up_seconds        wall time from start to caught up (and events ÷ that)
#   live_max_lag / live_final_lag  largest and last tripgate_consumer_lag sum seen
#   live_thread_cpu_seconds{T}   CPU seconds of the process's threads named T (the
#                                engine's tokio-rt-worker, librdkafka's)
#   live_peak_rss                VmHWM of the process
#   produce_events_per_second    `tripgate produce`, wall time (it waits for acks)
# --scrape fetches /metrics back to back the whole time (a worst case for the "ingest
# slowed ≤ 10% while scraped" target: compare events/s per core with a run without it).
# A broker already running (scripts/kafka.sh status) is reused and left running; a
# paused one (a test's) makes the script stop; otherwise one is started and stopped on exit. Topics and group are unique per run.
set -euo pipefail
export TZ=UTC LC_ALL=C

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CACHE="$ROOT/.cache/bench"
# TRIPGATE_BENCH_BIN: another build to measure (an older one, to compare); not rebuilt.
BIN="${TRIPGATE_BENCH_BIN:-$ROOT/target/release/tripgate}"
KAFKA="$SCRIPT_DIR/kafka.sh"

days=7
seed=7
partitions=6
scrape=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --days) days="$2"; shift ;;
    --seed) seed="$2"; shift ;;
    --partitions) partitions="$2"; shift ;;
    --scrape) scrape=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 0 ;;
    *) echo "bench-live: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "bench-live: $*" >&2; }
result() { printf 'RESULT %s %s %s\n' "$1" "$2" "$3"; }

started_broker=0
run_pid=""
scraper_pid=""
cleanup() {
  local rc=$?
  [[ -z $scraper_pid ]] || kill "$scraper_pid" 2>/dev/null || true
  if [[ -n $run_pid ]] && kill -0 "$run_pid" 2>/dev/null; then
    kill -TERM "$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
  fi
  # The run's output (about 80 MB for the default 7 days) goes; the logs
  # beside it stay for a look.
  [[ -z ${dir:-} ]] || rm -f "$dir/live.jsonl"
  if [[ $started_broker -eq 1 ]]; then
    say "stopping Kafka"
    bash "$KAFKA" stop >/dev/null 2>&1 || true
  fi
  exit "$rc"
}
trap cleanup EXIT

mkdir -p "$CACHE"
say "building the release binary"
[[ -n ${TRIPGATE_BENCH_BIN:-} ]] || (cd "$ROOT" && cargo build --release -p tripgate --quiet)

broker_status="$(bash "$KAFKA" status 2>&1 || true)"
if [[ $broker_status == running* ]]; then
  say "reusing the running broker"
elif [[ $broker_status == paused* ]]; then
  # A test paused it on purpose; starting a fresh one would wipe its data.
  say "the broker is paused by someone else's test: $broker_status"
  exit 1
else
  say "starting Kafka"
  bash "$KAFKA" start >/dev/null
  started_broker=1
fi
bootstrap="$(bash "$KAFKA" bootstrap)"

log="$CACHE/sim-${days}d-seed${seed}.jsonl"
if [[ ! -s $log ]]; then
  say "simulating $days days (seed $seed)"
  "$BIN" simulate --days "$days" --seed "$seed" --out "$log.tmp" 2>/dev/null
  mv "$log.tmp" "$log"
fi
lines=$(grep -c . "$log")

name="bench-$(date +%s)-$$"
dir="$CACHE/live-$name"
mkdir -p "$dir"
cat > "$dir/kafka.toml" <<EOF
[kafka]
bootstrap = "$bootstrap"
group_id = "$name-group"
dead_letter_topic = "$name-dlq"
state_topic = "$name-state"
partitions = $partitions
statistics_interval = "1s"
[kafka.topics]
orders = "$name-orders"
fulfillment = "$name-fulfillment"
tickets = "$name-tickets"
EOF

say "producing $lines events into $partitions-partition topics"
produce_start=$(date +%s.%N)
"$BIN" produce --events "$log" --config "$dir/kafka.toml" 2>"$dir/produce.log"
produce_end=$(date +%s.%N)
result produce_events_per_second \
  "$(awk -v n="$lines" -v a="$produce_start" -v b="$produce_end" 'BEGIN {printf "%.0f", n / (b - a)}')" events/s

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
say "tripgate run (metrics on 127.0.0.1:$port)"
run_start=$(date +%s.%N)
TRIPGATE__SERVER__LISTEN="127.0.0.1:$port" "$BIN" run \
  --config "$ROOT/config/playbook.toml" --config "$dir/kafka.toml" \
  --out "$dir/live.jsonl" >"$dir/run.log" 2>&1 &
run_pid=$!
if [[ $scrape -eq 1 ]]; then
  ( scrapes=0
    while kill -0 "$run_pid" 2>/dev/null; do
      curl -fsS -o /dev/null "http://127.0.0.1:$port/metrics" 2>/dev/null && scrapes=$((scrapes + 1))
      echo "$scrapes" > "$dir/scrapes"
    done ) &
  scraper_pid=$!
fi

metric_sum() {  # sum of every sample of metric $1 in $2
  awk -v name="$1" '$1 == name || index($1, name "{") == 1 {sum += $NF} END {printf "%.0f", sum}' <<<"$2"
}

max_lag=0
final_lag=0
read_events=0
deadline=$(( $(date +%s) + 1800 ))
while :; do
  if ! kill -0 "$run_pid" 2>/dev/null; then
    tail -20 "$dir/run.log" >&2
    say "tripgate run exited early"
    exit 1
  fi
  if metrics=$(curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null); then
    read_events=$(metric_sum tripgate_events_total "$metrics")
    final_lag=$(metric_sum tripgate_consumer_lag "$metrics")
    (( final_lag > max_lag )) && max_lag=$final_lag
    if (( read_events >= lines )); then
      break
    fi
  fi
  if (( $(date +%s) > deadline )); then
    say "not caught up after 30 minutes ($read_events of $lines)"
    exit 1
  fi
  sleep 0.5
done
run_end=$(date +%s.%N)

ticks=$(getconf CLK_TCK)
cpu_seconds=$(awk -v t="$ticks" '{printf "%.2f", ($14 + $15) / t}' "/proc/$run_pid/stat")
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$run_pid/status")
# CPU seconds per thread name (the name sits in brackets and may hold spaces;
# the fields after it start at the state, so utime and stime are the 12th and 13th).
thread_cpu=$(for stat in /proc/"$run_pid"/task/*/stat; do cat "$stat" 2>/dev/null; echo; done |
  awk -v t="$ticks" 'NF {
      name = substr($0, index($0, "(") + 1); name = substr(name, 1, index(name, ")") - 1)
      gsub(/ /, "_", name)
      split(substr($0, index($0, ") ") + 2), f, " ")
      cpu[name] += (f[12] + f[13]) / t }
    END { for (n in cpu) if (cpu[n] >= 0.005) printf "%s %.2f\n", n, cpu[n] }' | sort -k2,2nr)
wall=$(awk -v a="$run_start" -v b="$run_end" 'BEGIN {printf "%.2f", b - a}')
say "$read_events events in $wall s wall, $cpu_seconds CPU s, lag max $max_lag, last $final_lag"
result live_events "$read_events" events
result live_events_per_core_second "$(awk -v n="$read_events" -v c="$cpu_seconds" 'BEGIN {printf "%.0f", n / c}')" events/s
result live_catch_up_seconds "$wall" s
result live_events_per_wall_second "$(awk -v n="$read_events" -v w="$wall" 'BEGIN {printf "%.0f", n / w}')" events/s
result live_max_lag "$max_lag" messages
result live_final_lag "$final_lag" messages
[[ $scrape -eq 0 ]] || result live_scrapes_during_catch_up "$(cat "$dir/scrapes" 2>/dev/null || echo 0)" scrapes
while read -r thread seconds; do
  result "live_thread_cpu_seconds{$thread}" "$seconds" s
done <<<"$thread_cpu"
result live_peak_rss "$(awk -v kb="$rss_kb" 'BEGIN {printf "%.1f", kb / 1024}')" MB
