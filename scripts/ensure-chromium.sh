#!/usr/bin/env bash
# Makes sure a Chromium the UI tests can drive exists; installs Debian's `chromium` package
# with apt when it is missing (Playwright's own browser download is not reachable here).
# Prints the browser's path.
set -euo pipefail
for candidate in "${CANONFLOW_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
echo "installing Chromium with apt..." >&2
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq >&2
$sudo_cmd apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
[ -x /usr/bin/chromium ] || { echo "apt installed no /usr/bin/chromium" >&2; exit 1; }
echo /usr/bin/chromium
