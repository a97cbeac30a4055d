"""Commands that only read the database load only what they need: no web framework, no Git,
no HTTP client, no job runtime. A fresh interpreter runs the command, then reports what it
imported (timing is for `bench/cli_startup.py`; this pins the reason it is fast)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from canonflow.config import Settings
from tests.cli.helpers import cli_env, run_cli

#: what a database-reading command must not import (each costs 50-500 ms at start-up)
HEAVY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "pygit2",
    "httpx",
    "alembic",
    "canonflow.runtime",
    "canonflow.jobs.runner",
    "canonflow.sync",
    "canonflow.repo",
    "canonflow.reconcile",
    "canonflow.onboarding",
    "structlog",  # configured when a module imports it (it brings rich.traceback, pygments)
    "pygments",
    "cryptography",  # loads when a secret is sealed or opened
)

#: the models a command does not read are not mapped (`canonflow.db.models` is lazy)
UNREAD_MODELS = {
    "token-list": ("environments", "history", "jobs", "notifications", "workflows"),
    "matrix": ("history", "notifications", "promotions", "templates"),
}

RUN_AND_LIST_MODULES = """
import sys
import orjson
from canonflow.cli.main import main

out, sys.argv = sys.argv[1], ["canonflow", *sys.argv[2:]]
try:
    main()
    code = 0
except SystemExit as exit:
    code = exit.code
with open(out, "wb") as file:
    file.write(orjson.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def imported_by(env: dict[str, str], tmp_path: Path, *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, str(out), *args],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    report = orjson.loads(out.read_bytes())
    assert report["code"] in (0, None), report["code"]
    return set(report["modules"])


def loaded(modules: set[str]) -> list[str]:
    return [name for name in HEAVY if any(m == name or m.startswith(name + ".") for m in modules)]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("token-list", ("token", "list", "--tenant", "acme")),
        ("matrix", ("matrix", "--limit", "1", "--tenant", "acme")),
    ],
    ids=["token-list", "matrix"],
)
def test_a_command_that_reads_the_database_loads_nothing_heavy(
    settings: Settings, tmp_path: Path, name: str, args: tuple[str, ...]
) -> None:
    env = cli_env(settings)
    assert run_cli("tenant", "create", "acme", env=env).returncode == 0
    modules = imported_by(env, tmp_path, *args)
    assert "sqlalchemy.orm" in modules  # it did read the database
    assert loaded(modules) == []
    mapped = [m for m in UNREAD_MODELS[name] if f"canonflow.db.models.{m}" in modules]
    assert mapped == []
    if name == "token-list" and settings.resolved_database_url.startswith("sqlite"):
        # JSONB's dialect loads with PostgreSQL (the matrix's queries still import it)
        assert "sqlalchemy.dialects.postgresql" not in modules
