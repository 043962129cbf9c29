# Sourced by scripts that install Debian packages (scripts/setup.sh,
# scripts/bench-alertmanager.sh); the caller defines `say` and `die`.
#
# apt_install PACKAGE...: apt-get install without recommends, as root or
# through sudo, updating the package lists once per run, and without letting
# a package start its service (a prometheus daemon on :9090, say).

APT_UPDATED=0
apt_install() {
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install $*"
    sudo=(sudo)
  fi
  if [[ $APT_UPDATED -eq 0 ]]; then
    say "apt-get update"
    "${sudo[@]}" apt-get update -qq
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  # Never let a package start its service (e.g. a prometheus daemon on :9090).
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    made_policy=1
  fi
  local rc=0
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
  [[ $made_policy -eq 1 ]] && "${sudo[@]}" rm -f "$policy"
  [[ $rc -eq 0 ]] || die "apt-get install $* failed"
}
