#!/usr/bin/env bash
# A profile-guided build of tripgate (PGO): the same code as `cargo build --release`,
# compiled again with the counts of the branches and calls it took on representative
# work (docs/BENCHMARKS.md, fourteenth pass).
#
#   scripts/build-pgo.sh [--no-live]
#
# 1. builds an instrumented tripgate with cargo-pgo;
# 2. runs it on the work tripgate is built for: a `backtest` of a simulated 7-day log
#    (decoding, dedup, joins, windows, rules, output; the log made by its `simulate` the
#    first time and kept in .cache/pgo/), then, unless --no-live, live mode on the
#    real Apache Kafka broker through scripts/bench-live.sh (the Kafka
#    source, the merge, the engine loop, checkpoints, /metrics; it starts and stops a
#    broker unless one runs, and leaves its logs in .cache/bench/ as bench-live does).
#    Without it, the code only live mode runs is compiled with no profile, and live
#    mode was not measured so;
# 3. builds the optimized binary with those profiles and prints its path
#    (target/<host triple>/release/tripgate; target/release/ is left as it was).
#
# Installs what it needs, idempotently: rustup's llvm-tools component (llvm-profdata)
# and cargo-pgo from crates.io. About twice the time of a release build, plus the runs.
set -euo pipefail
export TZ=UTC LC_ALL=C

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CACHE="$ROOT/.cache/pgo"
CARGO_PGO_VERSION=0.3.0

live=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-live) live=0 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 0 ;;
    *) echo "build-pgo: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "build-pgo: $*" >&2; }

cd "$ROOT"
mkdir -p "$CACHE"
if ! rustup component add llvm-tools >/dev/null 2>"$CACHE/rustup.log"; then
  cat "$CACHE/rustup.log" >&2
  exit 1
fi
if ! cargo install --list | grep -qx "cargo-pgo v$CARGO_PGO_VERSION:"; then
  say "installing cargo-pgo $CARGO_PGO_VERSION"
  cargo install cargo-pgo --locked --version "$CARGO_PGO_VERSION" --quiet
fi
host=$(rustc -vV | sed -n 's/^host: //p')
bin="$ROOT/target/$host/release/tripgate"

# Profiles of an earlier build would describe other code.
cargo pgo clean >/dev/null
say "building the instrumented binary"
cargo pgo build -- -p tripgate --quiet >/dev/null

log="$CACHE/sim-7d-seed7.jsonl"
say "training: backtest of 7 simulated days"
if [[ ! -s $log ]]; then
  "$bin" simulate --days 7 --seed 7 --out "$log.tmp" 2>/dev/null
  mv "$log.tmp" "$log"
fi
"$bin" backtest --events "$log" --out /dev/null 2>/dev/null
if [[ $live == 1 ]]; then
  say "training: live mode on the real broker (scripts/bench-live.sh)"
  TRIPGATE_BENCH_BIN="$bin" "$SCRIPT_DIR/bench-live.sh" --days 2 >/dev/null
fi

say "building the optimized binary"
cargo pgo optimize build -- -p tripgate --quiet >/dev/null
say "done"
echo "$bin"
