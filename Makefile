# canonflow: `make run` serves on SQLite, `make test` runs every test (SQLite and PostgreSQL).
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

test: install lint
	CANONFLOW_PG_BINDIR="$$(scripts/ensure-postgres.sh)" \
	CANONFLOW_N8N_BIN="$$(scripts/install-n8n.sh)" \
	CANONFLOW_CHROMIUM="$$(scripts/ensure-chromium.sh)" \
	$(UV) run pytest $(PYTEST_ARGS)

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
