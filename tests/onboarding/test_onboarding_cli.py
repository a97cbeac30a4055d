"""`canonflow onboard`, `canonflow untracked` and `canonflow link`, run as the real command."""

from __future__ import annotations

from sqlalchemy import select

from canonflow.config import Settings
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from canonflow.runtime import Runtime
from tests.cli.helpers import cli_env, run_cli
from tests.factories import make_tenant
from tests.onboarding.conftest import Estate
from tests.support.n8n_fixtures import make_workflow


def _slug(runtime: Runtime, estate: Estate) -> str:
    with transaction(runtime.sessions) as session:
        slug = session.scalar(select(Tenant.slug).where(Tenant.id == estate.tenant_id))
        assert slug is not None
        return slug


def test_onboard_untracked_and_link(estate: Estate, runtime: Runtime, settings: Settings) -> None:
    estate.create("prod", make_workflow("Orders", 3))
    estate.create("prod", make_workflow("Refunds", 3))
    estate.create("dev", make_workflow("Scratchpad", 2))
    env, tenant = cli_env(settings), ["--tenant", _slug(runtime, estate)]

    onboarded = run_cli("onboard", *tenant, env=env)
    assert onboarded.returncode == 0, onboarded.stderr
    out = onboarded.stdout
    assert "anchor prod: 2 canonical workflows created" in out
    assert "dev: 1 workflows, 0 linked by name, 0 by content, 1 untracked" in out
    assert "untracked 'Scratchpad' (no_match)" in out
    assert "migration: 2 files" in out and "no forge configured" in out
    assert "onboarding: onboarded, 2 canonical workflows, 1 untracked" in out

    listed = run_cli("untracked", "--env", "dev", *tenant, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "Scratchpad" in listed.stdout and "1 of 1 untracked" in listed.stdout
    mapping_id = next(
        word
        for line in listed.stdout.splitlines()
        if "Scratchpad" in line
        for word in line.split()
        if len(word) == 36
    )
    linked = run_cli("link", mapping_id, "--new", *tenant, env=env)
    assert linked.returncode == 0, linked.stderr
    assert "linked to scratchpad (new canonical workflow): linked" in linked.stdout
    again = run_cli("untracked", *tenant, env=env)
    assert "0 of 0 untracked" in again.stdout

    bad = run_cli("link", "not-an-id", "--new", *tenant, env=env)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "is not a mapping id" in bad.stderr
    neither = run_cli("link", mapping_id, *tenant, env=env)
    assert neither.returncode == 2 and "give --to SLUG, or --new" in neither.stderr


def test_onboard_stops_at_a_failed_preflight(runtime: Runtime, settings: Settings) -> None:
    with transaction(runtime.sessions) as session:
        slug = make_tenant(session).slug
    result = run_cli("onboard", "--tenant", slug, env=cli_env(settings))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "preflight failed: no environments: add one" in result.stderr
