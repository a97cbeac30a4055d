"""`canonflow workflows` and `canonflow show`, run as the real commands on hand-built rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.config import Settings
from canonflow.db.engine import transaction
from canonflow.db.models import StateChange, Tenant
from canonflow.runtime import Runtime
from tests.cli.helpers import cli_env, run_cli
from tests.matrix.conftest import Tenancy


def _prepare(runtime: Runtime, t: Tenancy) -> list[str]:
    with transaction(runtime.sessions) as session:
        record_state_changes(session, t.tenant_id, StateCause.ENV_SYNC)
        # Alpha's dev copy has drifted since three days ago (in sync before that)
        three_days_ago = datetime.now(UTC) - timedelta(days=3)
        session.execute(
            update(StateChange)
            .where(StateChange.canonical_id == t.canonicals["Alpha"])
            .values(at=three_days_ago - timedelta(days=5))
        )
        [dev_mapping] = session.scalars(
            select(StateChange.mapping_id).where(
                StateChange.canonical_id == t.canonicals["Alpha"],
                StateChange.to_state == "drift",
            )
        )
        session.execute(
            update(StateChange)
            .where(StateChange.mapping_id == dev_mapping)
            .values(to_state="in_sync")
        )
        session.add(
            StateChange(
                tenant_id=t.tenant_id,
                mapping_id=dev_mapping,
                canonical_id=t.canonicals["Alpha"],
                environment_id=t.envs["dev"],
                from_state="in_sync",
                to_state="drift",
                cause="env_sync",
                at=three_days_ago,
            )
        )
        slug = session.scalar(select(Tenant.slug).where(Tenant.id == t.tenant_id))
        assert slug is not None
    return ["--tenant", slug]


def test_workflows_table_and_filters(estate: Tenancy, runtime: Runtime, settings: Settings) -> None:
    env, tenant = cli_env(settings) | {"NO_COLOR": "1"}, _prepare(runtime, estate)
    shown = run_cli("workflows", *tenant, env=env)
    assert shown.returncode == 0, shown.stderr
    lines = {line.split("│")[2].strip(): line for line in shown.stdout.splitlines() if "│" in line}
    assert "~ drift 1" in lines["Alpha"] and "✓ in sync 1" in lines["Alpha"]
    assert "✓ in sync 3" in lines["Charlie"]
    assert "4 workflows" in shown.stdout
    drift = run_cli("workflows", "--state", "drift", *tenant, env=env)
    assert drift.returncode == 0, drift.stderr
    assert "Alpha" in drift.stdout and "Charlie" not in drift.stdout
    assert "1 workflows" in drift.stdout
    found = run_cli("workflows", "--q", "CHAR", *tenant, env=env)
    assert "Charlie" in found.stdout and "Alpha" not in found.stdout
    bad = run_cli("workflows", "--state", "sideways", *tenant, env=env)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "sideways" in bad.stderr


def test_show_cells_events_and_sparklines(
    estate: Tenancy, runtime: Runtime, settings: Settings
) -> None:
    env, tenant = cli_env(settings) | {"NO_COLOR": "1"}, _prepare(runtime, estate)
    slug = run_cli("workflows", "--q", "alpha", *tenant, env=env).stdout.split("│")[1].strip()
    shown = run_cli("show", slug, *tenant, env=env)
    assert shown.returncode == 0, shown.stderr
    rows = {
        cells[1].strip(): cells
        for line in shown.stdout.splitlines()
        if "│" in line and len(cells := line.split("│")) > 4
    }
    assert "~ drift" in rows["dev"][2] and "✓ in sync" in rows["prod"][2]
    assert "· absent" in rows["staging"][2]
    # 14 days, oldest first: no cell until eight days ago (blank), in sync until three
    # days ago, drift since (today included)
    assert rows["dev"][4] == " " + " " * 5 + "▁" * 5 + "▆" * 4 + " " * (len(rows["dev"][4]) - 15)
    assert rows["prod"][4].strip() == "▁" * 9
    assert rows["staging"][4].strip() == ""
    missing = run_cli("show", "no-such-workflow", *tenant, env=env)
    assert missing.returncode == 1 and missing.stderr.strip().count("\n") == 0
    assert "no-such-workflow" in missing.stderr
