#!/usr/bin/env bash
# Install what the tripgate test suite needs, idempotently:
#   - Debian packages: a Java runtime and Maven (for Kafka), prometheus
#     (provides the `prometheus` and `promtool` binaries), chromium and a
#     font (headless screenshots of the status page and backtest report)
#   - a Python venv at .cache/venv with the PyPI packages `standardwebhooks`,
#     `check-jsonschema` (compose-spec schema) and `kubernetes-validate`
#     (Kubernetes schemas): validators for deploy/
#   - the Apache Kafka jars (scripts/kafka.sh fetch)
# Every step checks first and is skipped when already done, so a second run is
# quick and needs no network.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
VENV="$ROOT/.cache/venv"
PY_PACKAGES=(standardwebhooks check-jsonschema kubernetes-validate)
PY_IMPORTS=(standardwebhooks check_jsonschema kubernetes_validate)

say() { echo "setup: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }

# ------------------------------------------------------------ apt packages --

# apt_install PACKAGE...: installs without starting any service.
source "$SCRIPT_DIR/apt.sh"

missing=()
if command -v java >/dev/null 2>&1; then
  say "java present ($(java -version 2>&1 | head -n1))"
else
  missing+=(openjdk-17-jre-headless)
fi
if command -v mvn >/dev/null 2>&1; then
  say "mvn present"
else
  missing+=(maven)
fi
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  say "prometheus present ($(command -v prometheus), $(command -v promtool))"
else
  missing+=(prometheus)
fi
if command -v chromium >/dev/null 2>&1 && [[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]]; then
  say "chromium present ($(command -v chromium))"
else
  missing+=(chromium fonts-dejavu-core)
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  apt_install "${missing[@]}"
fi
for bin in java mvn prometheus promtool chromium; do
  command -v "$bin" >/dev/null 2>&1 || die "'$bin' still missing after install"
done

# ------------------------------------------------------------- python venv --

venv_ok() {
  [[ -x "$VENV/bin/python" ]] || return 1
  local mod
  for mod in "${PY_IMPORTS[@]}"; do
    "$VENV/bin/python" -c "import $mod" >/dev/null 2>&1 || return 1
  done
}

if venv_ok; then
  say "python venv ${VENV#"$ROOT"/} ready (${PY_PACKAGES[*]})"
else
  if [[ ! -x "$VENV/bin/python" ]]; then
    rm -rf "$VENV"
    py=""
    for cand in python3 /usr/bin/python3; do
      if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        py="$cand"; break
      fi
    done
    if [[ -z $py ]]; then
      apt_install python3-venv
      py=/usr/bin/python3
    fi
    say "creating python venv ${VENV#"$ROOT"/} with $py ($("$py" --version 2>&1))"
    mkdir -p "$(dirname "$VENV")"
    "$py" -m venv "$VENV"
  fi
  say "pip install ${PY_PACKAGES[*]} into ${VENV#"$ROOT"/}"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
  venv_ok || die "python packages not importable after install"
fi

# ------------------------------------------------------------------- kafka --

bash "$SCRIPT_DIR/kafka.sh" fetch

say "done"
