"""The overview: each environment's counts (links to the filtered matrix), reachability from
its last sync, next sync, running and failed jobs, and what needs attention."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from canonflow.core.enums import JobStatus, SyncKind
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import Environment, SyncRun
from canonflow.db.types import utcnow
from canonflow.runtime import Runtime
from tests.matrix.conftest import H2, H3, Tenancy, make_tenancy
from tests.web.conftest import Tokens, sign_in, signed_in
from tests.web.ops_support import insert_job, tenant_of


def _estate(runtime: Runtime, tokens: Tokens) -> Tenancy:
    """acme: dev (Alpha drift, Bravo conflict, one untracked; never synced) and prod
    (Alpha in sync, Delta missing; its last sync failed; paused)."""
    t = Tenancy(runtime, tenant_of(runtime, tokens.viewer), headers={})
    with transaction(runtime.sessions) as session:
        for name in ("dev", "prod"):
            env = Environment(
                tenant_id=t.tenant_id,
                name=name,
                base_url=f"http://127.0.0.1:9/{name}",
                api_key=runtime.secrets.seal("unused"),
                paused=name == "prod",
            )
            session.add(env)
            session.flush()
            t.envs[name] = env.id
    for name in ("Alpha", "Bravo", "Delta"):
        t.add_canonical(name)
    t.add_mapping("Alpha", "prod")
    t.add_mapping("Alpha", "dev", env_hash=H2)
    t.add_mapping("Bravo", "dev", env_hash=H2, git_hash=H3)
    t.add_mapping("Delta", "prod", MappingStatus.MISSING)
    t.add_mapping(None, "dev", MappingStatus.UNTRACKED, git_hash=None, base_hash=None)
    with transaction(runtime.sessions) as session:
        session.add(
            SyncRun(
                tenant_id=t.tenant_id,
                kind=SyncKind.ENVIRONMENT,
                environment_id=t.envs["prod"],
                error="n8n: connection refused",
                finished_at=utcnow(),
            )
        )
    return t


def test_the_overview_counts_links_and_needs_attention(
    base: str, tokens: Tokens, runtime: Runtime, ui_page: Page
) -> None:
    t = _estate(runtime, tokens)
    make_tenancy(runtime, ("globex-env",))  # another tenant: never shown
    running = insert_job(
        runtime, t.tenant_id, status=JobStatus.RUNNING, progress=(2, 5), lock_key="ui-test:ov"
    )
    failed = insert_job(runtime, t.tenant_id, status=JobStatus.FAILED, error="n8n: refused")
    sign_in(ui_page, base, tokens.viewer)

    attention = ui_page.locator(".attention-list")
    for href, text in (
        ("/matrix?state=conflict", "conflict 1"),
        ("/jobs?status=failed", "failed 1"),
        ("/matrix?status=missing", "missing 1"),
        ("/untracked", "untracked 1"),
    ):
        expect(attention.locator(f'a[href="{href}"]')).to_contain_text(text)

    dev = ui_page.locator("tr[data-env=dev]")
    expect(dev.locator(".states")).to_contain_text("drift 1")
    expect(dev.locator(".states")).to_contain_text("conflict 1")
    drift = dev.locator(".states a", has_text="drift")
    expect(drift).to_have_attribute("href", f"/matrix?env={t.envs['dev']}&state=drift")
    expect(dev.locator(".statuses")).to_contain_text("untracked 1")
    expect(dev.locator(".reach")).to_contain_text("not synced yet")
    prod = ui_page.locator("tr[data-env=prod]")
    expect(prod.locator(".states")).to_contain_text("in sync 1")
    expect(prod.locator(".statuses")).to_contain_text("missing 1")
    expect(prod.locator(".reach")).to_contain_text("unreachable")
    expect(prod).to_contain_text("paused")
    expect(prod).to_contain_text("failed")

    expect(ui_page.locator(f'a[href="/jobs/{running}"]')).to_have_count(1)
    expect(ui_page.locator(f'a[href="/jobs/{failed}"]')).to_have_count(1)
    expect(ui_page.locator("main")).not_to_contain_text("globex-env")
    expect(ui_page.locator("main button")).to_have_count(0)  # a viewer: nothing to press


def test_the_overview_of_an_empty_tenant_invites_an_admin(base: str, tokens: Tokens) -> None:
    with signed_in(base, tokens.admin) as admin:
        page = admin.get("/").text
        assert "No environments yet" in page and 'href="/environments">Add one' in page
    with signed_in(base, tokens.viewer) as viewer:
        assert "Add one" not in viewer.get("/").text
