#!/usr/bin/env bash
# Prometheus + Alertmanager alert latency, to compare with tripgate's own
# (issue 6; results in docs/BENCHMARKS.md, "Alert latency").
#
#   scripts/bench-alertmanager.sh [--rounds N]     # default 20
#
# Installs Debian's prometheus and prometheus-alertmanager when missing (neither
# service is started by the install), then runs scripts/bench_alertmanager.py:
# a gauge served for Prometheus to scrape every second, an alerting rule on it
# evaluated every second, Alertmanager with group_wait 0s and group_interval 1s
# posting to a local webhook receiver. Each round turns the gauge bad and times
# the firing notification, then good again and times the resolved one, from the
# moment the exporter serves the new value. Prints `RESULT name value unit`.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { echo "bench-alertmanager: $*" >&2; }
die() { echo "bench-alertmanager: error: $*" >&2; exit 1; }
source "$SCRIPT_DIR/apt.sh"

rounds=20
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
  shift
done

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
[[ ${#missing[@]} -eq 0 ]] || apt_install "${missing[@]}"
say "$(prometheus --version 2>&1 | head -n1)"
say "$(prometheus-alertmanager --version 2>&1 | head -n1)"

exec python3 "$SCRIPT_DIR/bench_alertmanager.py" --rounds "$rounds"
