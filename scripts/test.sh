#!/usr/bin/env bash
# The tripgate test command.
#
#   scripts/test.sh [extra cargo test args...]
#
# Installs what is missing (scripts/setup.sh), starts a single-node Kafka
# broker (scripts/kafka.sh start), exports for the tests:
#   TRIPGATE_KAFKA_BOOTSTRAP  broker address, 127.0.0.1:PORT
#   TRIPGATE_KAFKA_SCRIPT     absolute path of scripts/kafka.sh (pause/resume)
#   TRIPGATE_PYTHON           absolute path of .cache/venv/bin/python
#   TRIPGATE_PROMETHEUS       path of the prometheus binary
#   TRIPGATE_PROMTOOL         path of the promtool binary
#   TRIPGATE_CHROMIUM         path of the chromium binary (headless screenshots)
# then runs `cargo test --workspace "$@"`, stops the broker on exit, and exits
# with cargo's status. A broker that was already running before is reused and
# left running.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
KAFKA="$SCRIPT_DIR/kafka.sh"

say() { echo "test.sh: $*" >&2; }

cd "$ROOT"

bash "$SCRIPT_DIR/setup.sh"

# The build and the broker's data need a few GB. A broker whose disk fills
# shuts itself down, and the tests then fail far from the cause.
free_mb() { df -Pm "$ROOT" | awk 'NR == 2 {print $4}'; }
if (( $(free_mb) < 8192 )); then
  say "warning: only $(free_mb) MB free where the tests build and the broker writes (about 8 GB are needed)"
fi

started_broker=0
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local rc=$?
  if [[ $started_broker -eq 1 ]]; then
    say "stopping Kafka"
    bash "$KAFKA" stop || say "warning: kafka.sh stop failed"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if bash "$KAFKA" status >/dev/null 2>&1; then
  say "reusing the running Kafka broker ($(bash "$KAFKA" bootstrap)); it is left running"
else
  started_broker=1
  bash "$KAFKA" start >/dev/null
fi

export TRIPGATE_KAFKA_BOOTSTRAP
TRIPGATE_KAFKA_BOOTSTRAP="$(bash "$KAFKA" bootstrap)"
export TRIPGATE_KAFKA_SCRIPT="$KAFKA"
export TRIPGATE_PYTHON="$ROOT/.cache/venv/bin/python"
export TRIPGATE_PROMETHEUS TRIPGATE_PROMTOOL
TRIPGATE_PROMETHEUS="$(command -v prometheus)"
TRIPGATE_PROMTOOL="$(command -v promtool)"
export TRIPGATE_CHROMIUM
TRIPGATE_CHROMIUM="$(command -v chromium)"

say "TRIPGATE_KAFKA_BOOTSTRAP=$TRIPGATE_KAFKA_BOOTSTRAP"
say "TRIPGATE_KAFKA_SCRIPT=$TRIPGATE_KAFKA_SCRIPT"
say "TRIPGATE_PYTHON=$TRIPGATE_PYTHON"
say "TRIPGATE_PROMETHEUS=$TRIPGATE_PROMETHEUS"
say "TRIPGATE_PROMTOOL=$TRIPGATE_PROMTOOL"
say "TRIPGATE_CHROMIUM=$TRIPGATE_CHROMIUM"
say "cargo test --workspace $*"

status=0
cargo test --workspace "$@" || status=$?
if [[ $status -ne 0 ]]; then
  say "cargo test failed (exit $status)"
  if [[ $started_broker -eq 1 ]] && ! bash "$KAFKA" status >/dev/null 2>&1; then
    say "note: the Kafka broker is not running at the end of the tests; its log ends:"
    bash "$KAFKA" logs 40 >&2 || true
    say "free space: $(free_mb) MB"
  fi
fi
exit "$status"
