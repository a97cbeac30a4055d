"""`canonflow env schedule` and `canonflow schedule` through the real command."""

from __future__ import annotations

from sqlalchemy import select

from canonflow.db.engine import transaction
from canonflow.db.models import Environment
from canonflow.runtime import Runtime
from tests.cli.helpers import cli_env, run_cli
from tests.factories import make_tenant


def test_env_schedule_sets_pauses_resumes_and_lists(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        make_tenant(session, slug="acme")
    env = cli_env(runtime.settings) | {"CANONFLOW_N8N_API_KEY": "k"}
    for name in ("prod", "dev"):
        added = run_cli(
            "env", "add", name, "--url", "http://127.0.0.1:5678", "--tenant", "acme", env=env
        )
        assert added.returncode == 0, added.stderr

    every = run_cli("env", "schedule", "prod", "--every", "15m", "--tenant", "acme", env=env)
    assert every.returncode == 0, every.stderr
    assert "environment prod: every 15m, next sync" in every.stdout
    paused = run_cli("env", "schedule", "dev", "--pause", "--tenant", "acme", env=env)
    assert "environment dev: every 1h, paused" in paused.stdout
    with transaction(runtime.sessions) as session:
        rows = {e.name: e for e in session.scalars(select(Environment))}
        assert rows["prod"].sync_interval_s == 900 and rows["prod"].next_sync_at is not None
        assert rows["dev"].paused and rows["dev"].next_sync_at is None

    listing = run_cli("schedule", "--tenant", "acme", env=env)
    assert listing.returncode == 0, listing.stderr
    lines = [line for line in listing.stdout.splitlines() if "prod" in line or "dev" in line]
    assert "prod" in lines[0] and "15m" in lines[0] and "never synced" in lines[0]
    assert "dev" in lines[1] and "not scheduled" in lines[1] and "yes" in lines[1]

    resumed = run_cli("env", "schedule", "dev", "--resume", "--tenant", "acme", env=env)
    assert "environment dev: every 1h, next sync" in resumed.stdout


def test_env_schedule_refuses_bad_input_in_one_line(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        make_tenant(session, slug="acme")
    env = cli_env(runtime.settings) | {"CANONFLOW_N8N_API_KEY": "k"}
    run_cli("env", "add", "prod", "--url", "http://127.0.0.1:5678", "--tenant", "acme", env=env)
    for args, message in (
        (("--every", "soon"), "not an interval"),
        (("--every", "10s"), "CANONFLOW_MIN_SYNC_INTERVAL_S"),
        (("--pause", "--resume"), "exclude each other"),
        ((), "--every INTERVAL, --pause or --resume"),
    ):
        result = run_cli("env", "schedule", "prod", *args, "--tenant", "acme", env=env)
        assert result.returncode != 0
        assert message in result.stderr + result.stdout, (args, result.stderr)
