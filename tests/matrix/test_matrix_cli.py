"""`canonflow matrix`, run as the real command: symbols read without colour."""

from __future__ import annotations

from sqlalchemy import select

from canonflow.config import Settings
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from canonflow.runtime import Runtime
from tests.cli.helpers import cli_env, run_cli
from tests.matrix.conftest import Tenancy


def _slug(runtime: Runtime, t: Tenancy) -> str:
    with transaction(runtime.sessions) as session:
        slug = session.scalar(select(Tenant.slug).where(Tenant.id == t.tenant_id))
        assert slug is not None
        return slug


def test_matrix_table_and_filters(estate: Tenancy, runtime: Runtime, settings: Settings) -> None:
    env, tenant = cli_env(settings) | {"NO_COLOR": "1"}, ["--tenant", _slug(runtime, estate)]
    shown = run_cli("matrix", *tenant, env=env)
    assert shown.returncode == 0, shown.stderr
    lines = {line.split("│")[1].strip(): line for line in shown.stdout.splitlines() if "│" in line}
    assert "~ drift" in lines["Alpha"] and "✓ in sync" in lines["Alpha"]
    assert "· absent" in lines["Alpha"]
    assert "✗ conflict" in lines["Bravo"] and "↓ out of date" in lines["Bravo"]
    assert "! missing" in lines["Delta"] and "x deleted" in lines["Delta"]
    assert "⊘ orphaned" in lines["Echo (deleted in Git)"]
    assert "5 workflows" in shown.stdout

    problems = run_cli("matrix", "--problems", "--env", "prod", *tenant, env=env)
    assert problems.returncode == 0, problems.stderr
    assert "Bravo" in problems.stdout and "Delta" in problems.stdout
    assert "Alpha" not in problems.stdout and "dev" not in problems.stdout
    assert "2 workflows" in problems.stdout

    bad = run_cli("matrix", "--state", "sideways", *tenant, env=env)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "sideways" in bad.stderr
    unknown_env = run_cli("matrix", "--env", "nowhere", *tenant, env=env)
    assert unknown_env.returncode != 0 and "nowhere" in unknown_env.stderr
