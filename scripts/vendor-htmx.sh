#!/usr/bin/env bash
# Re-fetch the vendored htmx files from the npm registry and check them against
# src/canonflow/web/static/vendor/VENDORED.md. Prints what differs; exits 1 if anything does.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$here/src/canonflow/web/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent htmx.org@2.0.11 htmx-ext-sse@2.2.4 >/dev/null
mkdir htmx sse
tar xzf htmx.org-2.0.11.tgz -C htmx
tar xzf htmx-ext-sse-2.2.4.tgz -C sse
status=0
check() {
  if ! cmp -s "$1" "$vendor/$2"; then echo "differs: $2"; status=1; else echo "same: $2"; fi
}
check htmx/package/dist/htmx.min.js htmx-2.0.11.min.js
check htmx/package/LICENSE htmx-LICENSE.txt
check sse/package/sse.js htmx-ext-sse-2.2.4.js
check sse/package/LICENSE htmx-ext-sse-LICENSE.txt
exit $status
