#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries (initdb, pg_ctl) exist; installs Debian's
# `postgresql` package when they are missing. Prints the binaries' directory.
set -euo pipefail
find_bindir() {
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  return 1
}
if bindir=$(find_bindir); then echo "$bindir"; exit 0; fi
echo "installing PostgreSQL server packages with apt..." >&2
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq >&2
$sudo_cmd apt-get install -y -qq --no-install-recommends postgresql >&2
# The package starts a system cluster on 5432; the tests run their own clusters instead.
$sudo_cmd service postgresql stop >/dev/null 2>&1 || true
find_bindir
