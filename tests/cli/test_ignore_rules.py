"""`canonflow ignore-rule add|list|remove` through the real command."""

from __future__ import annotations

from sqlalchemy import select

from canonflow.db.engine import transaction
from canonflow.db.models import AuditEntry, IgnoreRuleEntry
from canonflow.runtime import Runtime
from tests.cli.helpers import cli_env, run_cli
from tests.factories import make_tenant


def test_add_list_remove(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        make_tenant(session, slug="acme")
    env = cli_env(runtime.settings) | {"CANONFLOW_N8N_API_KEY": "k"}
    added = run_cli(
        "env", "add", "prod", "--url", "http://127.0.0.1:5678", "--tenant", "acme", env=env
    )
    assert added.returncode == 0, added.stderr

    first = run_cli("ignore-rule", "add", "settings.timezone", "--tenant", "acme", env=env)
    assert first.returncode == 0, first.stderr
    assert "ignore rule settings.timezone added" in first.stdout
    second = run_cli(
        "ignore-rule", "add", "n8n-nodes-base.httpRequest:options.timeout",
        "--workflow", "billing-*", "--environment", "prod", "--note", "slow partner",
        "--tenant", "acme", env=env,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    bad = run_cli("ignore-rule", "add", "x:a[0]", "--tenant", "acme", env=env)
    assert bad.returncode != 0
    assert "ends with an object key" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    unknown_env = run_cli(
        "ignore-rule", "add", "notes", "--environment", "qa", "--tenant", "acme", env=env
    )
    assert unknown_env.returncode != 0

    listing = run_cli("ignore-rule", "list", "--tenant", "acme", env=env)
    assert listing.returncode == 0, listing.stderr
    lines = [line for line in listing.stdout.splitlines() if "settings" in line or "http" in line]
    assert "settings.timezone" in lines[0] and "all" in lines[0]
    assert "billing-*" in lines[1] and "prod" in lines[1] and "slow partner" in lines[1]

    removed = run_cli("ignore-rule", "remove", "1", "--tenant", "acme", env=env)
    assert removed.returncode == 0, removed.stderr
    by_path = run_cli(
        "ignore-rule", "remove", "n8n-nodes-base.httpRequest:options.timeout",
        "--tenant", "acme", env=env,
    )  # fmt: skip
    assert by_path.returncode == 0, by_path.stderr
    missing = run_cli("ignore-rule", "remove", "3", "--tenant", "acme", env=env)
    assert missing.returncode != 0 and "no ignore rule number 3" in missing.stderr
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(IgnoreRuleEntry)).all() == []
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "ignore_rules.replace")
        ).all()
        assert len(actions) == 4
