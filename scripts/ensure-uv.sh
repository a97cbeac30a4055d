#!/usr/bin/env bash
# Prints the path of a uv binary, installing uv with pip (user site) when it is missing.
set -euo pipefail
if command -v uv >/dev/null 2>&1; then command -v uv; exit 0; fi
# `python3 -m site --user-base` prints the base but exits 1 when the user site is off, as it is
# inside a virtualenv (a `make` run from a test under `uv run`): read what it prints, not its status.
user_base="$(python3 -m site --user-base 2>/dev/null || true)"
user_bin="${user_base:-$HOME/.local}/bin"
if [ -x "$user_bin/uv" ]; then echo "$user_bin/uv"; exit 0; fi
echo "installing uv with pip..." >&2
python3 -m pip install --user --quiet uv >&2
echo "$user_bin/uv"
