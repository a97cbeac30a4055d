"""`canonflow reconcile`, `diff`, `versions`, `deploy`, `snapshots`, `restore`, run as the
real command against real n8n and a real Git remote."""

from __future__ import annotations

import re

from sqlalchemy import select

from canonflow.config import Settings
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from tests.cli.helpers import cli_env, run_cli
from tests.reconcile.conftest import Linked, set_value


def _tenant(linked: Linked) -> list[str]:
    with transaction(linked.e.runtime.sessions) as session:
        slug = session.scalar(select(Tenant.slug).where(Tenant.id == linked.e.tenant_id))
    return ["--tenant", str(slug)]


def test_plan_apply_diff_deploy_snapshots_restore(linked: Linked, settings: Settings) -> None:
    env, tenant = cli_env(settings), _tenant(linked)
    dev_id = linked.mapping("orders", "dev").n8n_workflow_id
    linked.edit_in_n8n("dev", dev_id, set_value("edited in dev"))
    linked.sync("dev")

    plan = run_cli("reconcile", "--strategy", "env_wins", *tenant, env=env)
    assert plan.returncode == 0, plan.stderr
    assert re.search(r"orders\s+│\s+dev\s+│\s+drift\s+│\s+commit", plan.stdout), plan.stdout
    assert "plan (env_wins): 1 commit, 7 none" in plan.stdout
    assert "apply it with --apply" in plan.stdout

    applied = run_cli("reconcile", "--strategy", "env_wins", "--apply", *tenant, env=env)
    assert applied.returncode == 0, applied.stderr
    assert "done: 1 applied" in applied.stdout

    diff = run_cli("diff", "orders", "--env", "prod", *tenant, env=env)
    assert diff.returncode == 0, diff.stderr
    assert '~ node "Set"' in diff.stdout and "edited in dev" in diff.stdout
    same = run_cli("diff", "orders", "--env", "dev", *tenant, env=env)
    assert "orders in dev: identical to git" in same.stdout

    versions = run_cli("versions", "orders", *tenant, env=env)
    assert versions.returncode == 0, versions.stderr
    assert "onboard" in versions.stdout and "canonflow: reconcile env_wins" in versions.stdout

    deployed = run_cli("deploy", "orders", "--env", "prod", *tenant, env=env)
    assert deployed.returncode == 0, deployed.stderr
    assert "done: 1 applied" in deployed.stdout

    listed = run_cli("snapshots", "--workflow", "orders", *tenant, env=env)
    assert listed.returncode == 0, listed.stderr
    ids = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", listed.stdout)
    assert len(ids) == 2 and " env " in listed.stdout and " git " in listed.stdout
    env_snapshot = next(
        i for i, line in zip(ids, listed.stdout.splitlines()[3:], strict=False) if " env " in line
    )
    restored = run_cli("restore", env_snapshot, *tenant, env=env)
    assert restored.returncode == 0, restored.stderr
    assert "done: 1 applied" in restored.stdout


def test_bad_input_is_one_line_with_exit_code_2(linked: Linked, settings: Settings) -> None:
    env, tenant = cli_env(settings), _tenant(linked)
    for args, message in (
        (["reconcile", "--strategy", "sideways"], "strategy"),
        (["reconcile", "--strategy", "git_wins", "--force", "orders"], "write SLUG@ENV"),
        (["reconcile", "--strategy", "git_wins", "--env", "nowhere"], "nowhere"),
        (["deploy", "nope", "--env", "prod"], "no canonical workflow 'nope'"),
        (["deploy", "orders", "--env", "prod", "--commit", "xyz!"], "not a commit sha"),
        (["restore", "not-an-id"], "is not a snapshot id"),
        (["diff", "orders", "--env", "prod", "--against", "yesterday"], "git or base"),
    ):
        result = run_cli(*args, *tenant, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert message in result.stderr, result.stderr
