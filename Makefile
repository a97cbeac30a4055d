# canonflow: `make run` serves on SQLite, `make test` runs every test (SQLite and PostgreSQL) on
# the pinned n8n 2.x, then the `compat` tests on n8n 1.123.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11
UV := $(shell scripts/ensure-uv.sh)
ifeq ($(UV),)
$(error scripts/ensure-uv.sh found no uv and could not install one)
endif

.PHONY: install run test lint fmt typecheck importlint bench clean demo demo-stop

install:
	$(UV) sync --frozen --compile-bytecode

run: install
	$(UV) run canonflow serve

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports

fmt: install
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

# `make test`: the whole suite on the pinned n8n 2.x (CANONFLOW_N8N_VERSION=... picks another;
# the mixed-fleet tests start 1.123 beside it), then the `compat` tests again on n8n 1.123.81,
# on SQLite (the first pass covered both databases; skipped when it already ran on 1.123).
# Both passes must pass. A 1.x first pass still installs the pin (the mixed-fleet tests
# start it beside 1.123).
N8N_LEGACY_VERSION := 1.123.81
test: install lint
	@set -euo pipefail; \
	pg="$$(scripts/ensure-postgres.sh)"; \
	version="$${CANONFLOW_N8N_VERSION:-$$(sed -n 's/^PIN=//p' scripts/install-n8n.sh)}"; \
	n8n="$$(CANONFLOW_N8N_VERSION=$$version scripts/install-n8n.sh)"; \
	n8n_legacy="$$(env -u CANONFLOW_N8N_NODE_VERSION CANONFLOW_N8N_VERSION=$(N8N_LEGACY_VERSION) scripts/install-n8n.sh)"; \
	case "$$version" in 1.*) env -u CANONFLOW_N8N_VERSION -u CANONFLOW_N8N_NODE_VERSION scripts/install-n8n.sh >/dev/null;; esac; \
	chromium="$$(scripts/ensure-chromium.sh)"; \
	echo "== make test: the suite on n8n $$version"; \
	CANONFLOW_PG_BINDIR="$$pg" CANONFLOW_CHROMIUM="$$chromium" CANONFLOW_N8N_VERSION="$$version" \
	  CANONFLOW_N8N_BIN="$$n8n" CANONFLOW_N8N_LEGACY_BIN="$$n8n_legacy" \
	  $(UV) run pytest $(PYTEST_ARGS); \
	if [ "$$version" = "$(N8N_LEGACY_VERSION)" ]; then exit 0; fi; \
	echo "== make test: the compat tests on n8n $(N8N_LEGACY_VERSION)"; \
	CANONFLOW_PG_BINDIR="$$pg" CANONFLOW_CHROMIUM="$$chromium" \
	  CANONFLOW_TEST_BACKENDS="$${CANONFLOW_TEST_BACKENDS:-sqlite}" \
	  CANONFLOW_N8N_VERSION=$(N8N_LEGACY_VERSION) CANONFLOW_N8N_BIN="$$n8n_legacy" \
	  CANONFLOW_N8N_LEGACY_BIN="$$n8n_legacy" \
	  $(UV) run pytest -m compat $(PYTEST_ARGS) || { rc=$$?; [ $$rc -eq 5 ] || exit $$rc; echo "(no compat test selected)"; }

bench: install
	@ls bench/*.py >/dev/null 2>&1 || { echo "no benchmarks yet"; exit 0; }; \
	for script in bench/[a-z]*.py; do name=$$(basename $$script .py); echo "== $$name"; CANONFLOW_N8N_BIN="$$(scripts/install-n8n.sh)" CANONFLOW_PG_BINDIR="$$(scripts/ensure-postgres.sh)" $(UV) run python -m bench.$$name $(BENCH_ARGS) || exit 1; done

# two real n8n (prod, dev) seeded with an overlapping estate, a local Git repository and
# canonflow serving the UI, all on loopback (scripts/demo.py; CANONFLOW_DEMO_DIR, CANONFLOW_DEMO_PORT)
demo: install
	CANONFLOW_N8N_BIN="$${CANONFLOW_N8N_BIN:-$$(scripts/install-n8n.sh)}" $(UV) run --frozen python -m scripts.demo start

demo-stop:
	$(UV) run --frozen python -m scripts.demo stop

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
