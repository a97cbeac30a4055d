"""The reconcile page and the snapshots page, in a real browser against a real server, real
n8n (prod and dev) and a real Git remote: resolve a conflict choosing the environment's side,
apply, watch the run finish, restore a snapshot and find the old content back in n8n."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from canonflow.core.enums import Role, SnapshotSide
from canonflow.core.sync_state import SyncState
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from canonflow.reconcile import snapshots
from canonflow.runtime import Runtime
from tests.factories import make_token
from tests.onboarding.conftest import estate  # noqa: F401 (a fixture)
from tests.reconcile.conftest import Linked, linked, set_value  # noqa: F401 (a fixture)
from tests.web.conftest import ARTIFACTS, Tokens, csrf_of, sign_in, signed_in


def _set_value(workflow: dict[str, Any]) -> str:
    [node] = [n for n in workflow["nodes"] if n["name"] == "Set"]
    return str(node["parameters"]["assignments"]["assignments"][0]["value"])


@dataclass
class Conflicted:
    """`linked` with, in prod: "orders" edited in Git and in n8n (a conflict), "billing"
    edited in n8n (drift); tokens of its tenant and another tenant's admin."""

    linked: Linked
    operator: str
    viewer: str
    other_admin: str
    orders_prod: uuid.UUID  # the mapping ids
    billing_prod: uuid.UUID


@pytest.fixture
def conflicted(linked: Linked) -> Conflicted:  # noqa: F811 (the imported fixture)
    s = linked
    s.edit_in_git("orders", set_value("from git"))
    s.edit_in_n8n("prod", s.mapping("orders", "prod").n8n_workflow_id, set_value("from prod"))
    s.edit_in_n8n("prod", s.mapping("billing", "prod").n8n_workflow_id, set_value("billing edit"))
    s.repo_sync()
    s.sync("prod")
    assert s.state("orders", "prod") is SyncState.CONFLICT
    assert s.state("billing", "prod") is SyncState.DRIFT
    with transaction(s.e.runtime.sessions) as session:
        tenant = session.get(Tenant, s.e.tenant_id)
        assert tenant is not None
        other = Tenant(slug="other-team", name="other")
        session.add(other)
        session.flush()
        tokens = (
            make_token(session, tenant, role=Role.OPERATOR, name="otto"),
            make_token(session, tenant, role=Role.VIEWER, name="vera"),
            make_token(session, other, role=Role.ADMIN, name="gus"),
        )
    return Conflicted(s, *tokens, s.mapping("orders", "prod").id, s.mapping("billing", "prod").id)


def test_resolve_a_conflict_apply_and_restore_in_the_browser(
    conflicted: Conflicted, base: str, ui_page: Page
) -> None:
    c, page = conflicted, ui_page
    sign_in(page, base, c.operator, next_path="/reconcile")
    page.goto(f"{base}/reconcile?strategy=git_wins&env=prod")
    orders = page.locator("tr[data-slug=orders][data-env=prod]")
    billing = page.locator("tr[data-slug=billing][data-env=prod]")
    expect(orders).to_contain_text("conflict")
    expect(orders).to_contain_text("both sides changed")
    expect(billing).to_contain_text("deploy to n8n")
    diff = orders.get_by_role("link", name="diff against Git")
    assert diff.get_attribute("href") == "/workflows/orders/diff?env=prod"
    expect(page.locator("#review")).to_be_visible()

    # choose the environment's side: the plan updates in place (htmx) and in the URL
    orders.get_by_label("the environment's").check()
    expect(orders).to_contain_text("commit to Git")
    expect(page).to_have_url(re.compile(rf"choice-{c.orders_prod}=env"))
    page.screenshot(path=str(ARTIFACTS / "reconcile_plan.png"), full_page=True)
    page.click("#review")
    expect(page.locator(".reconcile-tally")).to_contain_text("1 deploy, 1 commit, 0 skipped")
    page.click("#apply")
    expect(page).to_have_url(re.compile(r"/reconcile/runs/[0-9a-f-]{36}$"))
    run = page.locator("#run")
    expect(run).to_contain_text("succeeded", timeout=120_000)
    expect(run.locator("tr", has_text="orders@prod")).to_contain_text("applied")
    expect(run.locator("tr", has_text="billing@prod")).to_contain_text("applied")
    expect(run.get_by_role("link", name="Restore…")).to_have_count(2)

    s = c.linked
    assert _set_value(s.git_file("orders")) == "from prod"  # the environment's side won
    deployed = s.get("prod", s.mapping("billing", "prod").n8n_workflow_id)
    assert _set_value(deployed) == _set_value(s.git_file("billing")) != "billing edit"

    # the snapshot of what the deploy overwrote in n8n: restore it from /snapshots
    page.goto(f"{base}/snapshots?env=prod&workflow=billing")
    rows = page.locator("table.snapshots tbody tr[id^=snapshot-]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("n8n prod")
    expect(rows.first).to_contain_text("reconcile git_wins")
    expect(rows.first.get_by_role("link", name="job")).to_be_visible()
    rows.first.get_by_role("link", name="diff against now").click()
    expect(page.locator(".diff-lines")).to_contain_text("billing edit")
    page.screenshot(path=str(ARTIFACTS / "snapshots.png"), full_page=True)
    rows.first.get_by_role("link", name="Restore…").click()
    expect(page.locator("h1")).to_have_text("Restore this snapshot?")
    expect(page.locator("main")).to_contain_text("Restoring deploys 1 workflow")
    page.click("#restore")
    expect(page).to_have_url(re.compile(r"/reconcile/runs/[0-9a-f-]{36}$"))
    expect(page.locator("#run")).to_contain_text("succeeded", timeout=120_000)
    expect(page.locator("#run .reconcile-outcomes tbody tr")).to_contain_text("applied")
    restored = s.get("prod", s.mapping("billing", "prod").n8n_workflow_id)
    assert _set_value(restored) == "billing edit"


def test_the_plan_form_works_without_javascript(
    conflicted: Conflicted, base: str, browser: Browser
) -> None:
    c = conflicted
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, base, c.operator, next_path="/reconcile")
        page.select_option("#strategy", "env_wins")
        page.get_by_label("prod", exact=True).check()
        page.get_by_role("button", name="Plan").click()
        orders = page.locator("tr[data-slug=orders][data-env=prod]")
        expect(orders).to_contain_text("conflict")
        expect(page.locator("tr[data-slug=billing][data-env=prod]")).to_contain_text(
            "commit to Git"
        )
        orders.get_by_label("Git's version").check()
        page.get_by_role("button", name="Update the plan").click()
        expect(page).to_have_url(re.compile(rf"choice-{c.orders_prod}=git"))
        expect(orders).to_contain_text("deploy to n8n")
        page.click("#review")
        expect(page.locator(".reconcile-tally")).to_contain_text("1 deploy, 1 commit, 0 skipped")
        page.get_by_role("link", name="Back to the plan").click()
        expect(page.locator(f"input[name=choice-{c.orders_prod}][value=git]")).to_be_checked()
    finally:
        context.close()


def test_a_viewer_sees_no_apply_or_restore_and_its_posts_are_403(
    conflicted: Conflicted, base: str
) -> None:
    c = conflicted
    snapshot = _snapshot(c.linked.e.runtime, c.linked.e.tenant_id)
    plan = f"/reconcile?strategy=git_wins&env=prod&choice-{c.orders_prod}=env"
    with signed_in(base, c.viewer) as http:
        page = http.get(plan)
        assert page.status_code == 200
        assert "commit to Git" in page.text and 'id="review"' not in page.text
        assert "Applying needs the operator role" in page.text
        confirm = http.get(plan.replace("/reconcile?", "/reconcile/confirm?"))
        assert "1 deploy, 1 commit, 0 skipped" in confirm.text and 'id="apply"' not in confirm.text
        # manual: every cell whose sides differ is listed, undecided until a side is chosen
        manual = http.get("/reconcile?strategy=manual&env=prod").text
        for mapping_id in (c.orders_prod, c.billing_prod):
            assert f'name="choice-{mapping_id}" value="env"' in manual
        assert manual.count("no side chosen for it") == 2 and "Nothing to apply" in manual
        listing = http.get("/snapshots")
        assert f"snapshot-{snapshot}" in listing.text and "Restore…" not in listing.text
        csrf = csrf_of(listing.text)
        form = {"csrf_token": csrf, "strategy": "git_wins", "env": "prod"}
        assert http.post("/reconcile/apply", data=form).status_code == 403
        answer = http.post(f"/snapshots/{snapshot}/restore", data={"csrf_token": csrf})
        assert answer.status_code == 403
    with signed_in(base, c.operator) as http:
        assert 'id="review"' in http.get(plan).text
        # an operator without the CSRF token: 403, nothing queued
        answer = http.post("/reconcile/apply", data={"strategy": "git_wins", "env": "prod"})
        assert answer.status_code == 403 and "CSRF" in answer.text
        answer = http.post(f"/snapshots/{snapshot}/restore", data={})
        assert answer.status_code == 403
        # the plan no longer writes what was reviewed: said (409), nothing queued
        csrf = csrf_of(http.get("/snapshots").text)
        stale = {"csrf_token": csrf, "strategy": "git_wins", "env": "prod"}
        answer = http.post("/reconcile/apply", data=stale | {"reviewed": "2 deploys, 0 commits"})
        assert answer.status_code == 409 and "review it again" in answer.text
    assert c.linked.state("orders", "prod") is SyncState.CONFLICT  # nothing was applied


def test_another_tenants_snapshot_and_run_are_404(
    tokens: Tokens, base: str, runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        acme = session.query(Tenant).filter_by(slug="acme").one()
        tenant_id = acme.id
    snapshot = _snapshot(runtime, tenant_id)
    with signed_in(base, tokens.other_admin) as http:
        csrf = csrf_of(http.get("/snapshots").text)
        assert str(snapshot) not in http.get("/snapshots").text
        for path in (f"/snapshots/{snapshot}", f"/snapshots/{snapshot}/restore"):
            assert http.get(path).status_code == 404, path
        answer = http.post(f"/snapshots/{snapshot}/restore", data={"csrf_token": csrf})
        assert answer.status_code == 404
        assert http.get(f"/reconcile/runs/{uuid.uuid4()}").status_code == 404
    with signed_in(base, tokens.admin) as http:
        page = http.get(f"/snapshots/{snapshot}")
        assert page.status_code == 200 and "holds no copy of it now" in page.text
        # a snapshot whose workflow is gone cannot be restored: said, not done
        csrf = csrf_of(page.text)
        answer = http.post(f"/snapshots/{snapshot}/restore", data={"csrf_token": csrf})
        assert answer.status_code == 409
        bad = http.get("/reconcile?strategy=git_wins&env=nowhere")
        assert bad.status_code == 200 and "no environment named" in bad.text
        assert http.get("/snapshots?env=nowhere").status_code == 404


def _snapshot(runtime: Runtime, tenant_id: uuid.UUID) -> uuid.UUID:
    """A snapshot of a workflow that no longer exists (its canonical is gone)."""
    with transaction(runtime.sessions) as session:
        return snapshots.take(
            session,
            tenant_id=tenant_id,
            side=SnapshotSide.ENV,
            workflow={"name": "Gone", "nodes": [], "connections": {}},
            content_hash=None,
            reason="test",
            created_by="test",
        ).id
