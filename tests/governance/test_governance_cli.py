"""`canonflow approvals`, `approval approve|reject`, `env show|govern` and
`--window-override`, against real n8n and a real Git remote. One command of each group
(`env`, `approvals`, `approval`, `deploy`, `reconcile`) runs as the real command in a child
process; the others run in this process (`invoke_cli`: the same entry point and answers,
without the 1-3 s of a fresh interpreter each)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from canonflow.config import Settings
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from tests.cli.helpers import cli_env, invoke_cli, run_cli
from tests.governance.conftest import Governed
from tests.reconcile.conftest import set_value

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_approvals_and_windows_from_the_command_line(
    governed: Governed, settings: Settings
) -> None:
    linked = governed.linked
    with transaction(linked.e.runtime.sessions) as session:
        slug = session.scalar(select(Tenant.slug).where(Tenant.id == linked.e.tenant_id))
    env, tenant = cli_env(settings), ["--tenant", str(slug)]

    protect = run_cli("env", "govern", "prod", "--protected", *tenant, env=env)
    assert protect.returncode == 0, protect.stderr
    assert "prod: protected yes, 0 window(s), writes allowed" in protect.stdout
    linked.edit_in_git("orders", set_value("via cli"))
    linked.repo_sync()

    # an operator's request through the API; the CLI (another admin) approves it
    held = governed.deploy("orders", "prod", governed.operator).json()
    listed = run_cli("approvals", *tenant, env=env)
    assert listed.returncode == 0, listed.stderr
    assert held["approval_id"] in listed.stdout and "an admin other than test" in listed.stdout
    approved = invoke_cli(
        "approval", "approve", held["approval_id"], "--comment", "ok", *tenant, env=env
    )
    assert approved.returncode == 0, approved.stderr
    job_id = re.search(rf"approved {held['approval_id']}: job ({UUID}) started", approved.stdout)
    assert job_id, approved.stdout
    assert "done: 1 applied" in approved.stdout
    assert linked.wait(job_id.group(1))["status"] == "succeeded"

    # the CLI's own request: it may not approve it, it may withdraw it
    linked.edit_in_git("orders", set_value("again"))
    linked.repo_sync()
    deployed = run_cli("deploy", "orders", "--env", "prod", *tenant, env=env)
    assert deployed.returncode == 0, deployed.stderr
    waiting = re.search(rf"waiting for approval ({UUID}): an admin other than cli", deployed.stdout)
    assert waiting, deployed.stdout
    own = invoke_cli("approval", "approve", waiting.group(1), *tenant, env=env)
    assert own.returncode == 1 and "may not approve it" in own.stderr, own.stderr
    assert own.stderr.strip().count("\n") == 0
    cancelled = run_cli("approval", "reject", waiting.group(1), *tenant, env=env)
    assert cancelled.returncode == 0 and f"cancelled {waiting.group(1)}" in cancelled.stdout
    everything = invoke_cli("approvals", "--status", "all", *tenant, env=env)
    assert "cancelled by cli" in everything.stdout and "approved by cli" in everything.stdout

    # a deny window on dev: refused, then overridden with a reason
    started = datetime.now(UTC) - timedelta(minutes=5)
    window = f"deny|{started.minute} {started.hour} * * *|3600|UTC"
    governed_dev = invoke_cli("env", "govern", "dev", "--window", window, *tenant, env=env)
    assert governed_dev.returncode == 0, governed_dev.stderr
    assert "writes refused (next allowed" in governed_dev.stdout
    shown = invoke_cli("env", "show", "dev", *tenant, env=env)
    assert f"window 0: deny {started.minute} {started.hour} * * * for 3600s (UTC)" in shown.stdout
    listed_envs = invoke_cli("env", "list", *tenant, env=env)
    assert "refused (next allowed" in listed_envs.stdout and "yes" in listed_envs.stdout
    plan = run_cli("reconcile", "--strategy", "git_wins", "--env", "dev", *tenant, env=env)
    assert "dev: sync window closed, next open" in plan.stdout, plan.stdout
    refused = invoke_cli(
        "reconcile", "--strategy", "git_wins", "--env", "dev", "--apply", *tenant, env=env
    )
    assert refused.returncode == 2, refused.stderr
    assert "the sync window of environment 'dev' is closed now" in refused.stderr
    passed = invoke_cli(
        "reconcile", "--strategy", "git_wins", "--env", "dev", "--apply",
        "--window-override", "release 7", *tenant, env=env,
    )  # fmt: skip
    assert passed.returncode == 0, passed.stderr
    assert "done: 1 applied" in passed.stdout

    bad = invoke_cli("env", "govern", "dev", "--window", "deny|never|3600", *tenant, env=env)
    assert bad.returncode == 2 and "cron" in bad.stderr, bad.stderr
