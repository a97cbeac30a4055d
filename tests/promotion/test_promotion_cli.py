"""`canonflow promote`, `canonflow promotions` and `canonflow env order`, run as the real
command against real n8n and a real Git remote."""

from __future__ import annotations

import re

from sqlalchemy import select

from canonflow.config import Settings
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from tests.cli.helpers import cli_env, run_cli
from tests.promotion.conftest import Promoting
from tests.reconcile.conftest import set_value


def test_promote_dry_run_apply_and_list(promoting: Promoting, settings: Settings) -> None:
    linked = promoting.linked
    with transaction(linked.e.runtime.sessions) as session:
        slug = session.scalar(select(Tenant.slug).where(Tenant.id == linked.e.tenant_id))
    env, tenant = cli_env(settings), ["--tenant", str(slug)]
    dev_id = linked.mapping("billing", "dev").n8n_workflow_id
    linked.edit_in_n8n("dev", dev_id, set_value("from the cli"))
    linked.sync("dev")

    reversed_ = run_cli(
        "promote", "--from", "prod", "--to", "dev", "--all-changed", *tenant, env=env
    )
    assert reversed_.returncode == 2, reversed_.stdout
    assert "prod has promotion_order 3, dev has 1" in reversed_.stderr

    plan = run_cli("promote", "--from", "dev", "--to", "prod", "--workflow", "billing", *tenant,
                   env=env)  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    assert re.search(
        r"billing\s+│\s+workflows/billing\.json\s+│\s+update\s+│\s+1 change", plan.stdout
    ), plan.stdout
    assert "dry run: start it with --apply" in plan.stdout

    applied = run_cli("promote", "--from", "dev", "--to", "prod", "--all-changed", "--apply",
                      *tenant, env=env)  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    assert re.search(r"promotion [0-9a-f-]{36}, job [0-9a-f-]{36}", applied.stdout), applied.stdout
    assert "succeeded: 1 deployed to prod" in applied.stdout

    listed = run_cli("promotions", *tenant, env=env)
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"dev\s+│\s+prod\s+│\s+succeeded\s+│\s+billing", listed.stdout), listed.stdout

    ordered = run_cli("env", "order", "dev", "none", *tenant, env=env)
    assert ordered.returncode == 0, ordered.stderr
    refused = run_cli("promote", "--from", "dev", "--to", "prod", "--all-changed", *tenant, env=env)
    assert refused.returncode == 2 and "dev has no promotion_order" in refused.stderr
