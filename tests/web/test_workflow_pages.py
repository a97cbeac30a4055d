"""The workflow page (`/workflows/{slug}`) and its diff page, in a real browser against a
real server, real n8n (prod and dev) and a real Git remote: find a parameter changed in n8n
in the side-by-side diff, the raw JSON diff, the cells, timeline, sparkline and versions,
and a rollback from the page that puts the old version back in n8n."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from canonflow.core.enums import Role
from canonflow.core.sync_state import SyncState
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from tests.factories import make_tenant, make_token
from tests.onboarding.conftest import estate  # noqa: F401 (a fixture)
from tests.reconcile.conftest import Linked, linked, set_value  # noqa: F401 (a fixture)
from tests.web.conftest import ARTIFACTS, csrf_of, signed_in

VALUE_PATH = "parameters.assignments.assignments[0].value"


@dataclass(frozen=True)
class People:
    operator: str
    viewer: str
    stranger: str  # another tenant's admin
    admin: str


@pytest.fixture
def people(linked: Linked) -> People:  # noqa: F811 (the imported fixture)
    with transaction(linked.e.runtime.sessions) as session:
        tenant = session.get(Tenant, linked.e.tenant_id)
        assert tenant is not None
        other = make_tenant(session)
        return People(
            operator=make_token(session, tenant, role=Role.OPERATOR, name="otto"),
            viewer=make_token(session, tenant, role=Role.VIEWER, name="vera"),
            stranger=make_token(session, other, role=Role.ADMIN, name="gus"),
            admin=make_token(session, tenant, role=Role.ADMIN, name="ada"),
        )


def sign_in(page: Page, base: str, token: str, *, next_path: str) -> None:
    """Sign in through the form, landing on `next_path` (its query quoted into `next=`)."""
    page.goto(f"{base}/signin?next={quote(next_path, safe='/')}")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(base + next_path)


def _drift_prod(linked: Linked, value: str) -> None:  # noqa: F811
    """Change the Set node's value of prod's "Orders" in n8n, then sync prod."""
    linked.edit_in_n8n("prod", linked.mapping("orders", "prod").n8n_workflow_id, set_value(value))
    linked.sync("prod")
    assert linked.state("orders", "prod") is SyncState.DRIFT


def test_the_diff_shows_the_changed_parameter_side_by_side(
    linked: Linked,  # noqa: F811
    people: People,
    base: str,
    ui_page: Page,
) -> None:
    _drift_prod(linked, "edited in prod")
    page = ui_page
    path = "/workflows/orders/diff?env=prod&against=git"
    sign_in(page, base, people.viewer, next_path=path)
    row = page.locator("table.sbs tr", has=page.locator("th.path", has_text=VALUE_PATH))
    expect(row).to_have_count(1)
    expect(row.locator("td.old")).to_have_text('"new"')  # the value Git holds
    expect(row.locator("td.new")).to_have_text('"edited in prod"')  # n8n's
    expect(page.locator("h3.node-name")).to_contain_text("Set")
    expect(page.locator("table.sbs thead").first).to_contain_text("Git (canonical)")
    expect(page.locator("table.sbs thead").first).to_contain_text("prod (n8n)")

    page.click("a.raw-toggle")  # the raw JSON diff, a plain link
    expect(page).to_have_url(re.compile(r"raw=1"))
    changed = page.locator("table.rawdiff tr.rd-changed")
    expect(changed.filter(has_text="edited in prod")).to_have_count(1)
    expect(changed.filter(has_text="edited in prod").locator("td.l")).to_contain_text('"new"')
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "workflow_raw_diff.png"), full_page=True)
    page.click("a.raw-toggle")
    expect(page).not_to_have_url(re.compile(r"raw=1"))
    expect(row).to_have_count(1)

    # the environment picker (a GET form; htmx swaps the body and pushes the URL)
    page.select_option("#env", "dev")
    page.click(".diff-picker button[type=submit]")
    expect(page.locator("#diff-body .same")).to_have_text("identical")
    expect(page).to_have_url(re.compile(r"env=dev"))
    page.reload()  # the pushed URL is the same view, bookmarked
    expect(page.locator("#env")).to_have_value("dev")
    expect(page.locator("#diff-body .same")).to_have_text("identical")


def test_the_diff_page_is_a_plain_get_and_deep_linkable(
    linked: Linked,  # noqa: F811
    people: People,
    base: str,
) -> None:
    _drift_prod(linked, "x" * 300)  # a long value is folded
    with signed_in(base, people.viewer) as http:
        page = http.get("/workflows/orders/diff", params={"env": "prod", "against": "base"})
        assert page.status_code == 200, page.text
        assert VALUE_PATH in page.text and "Base (last agreed)" in page.text
        assert '<details class="fold">' in page.text and "302 chars" in page.text  # "x…x"
        assert f"<pre>&#34;{'x' * 300}&#34;</pre>" in page.text  # all of it, once unfolded
        raw = http.get("/workflows/orders/diff?env=prod&against=git&raw=1")
        assert raw.status_code == 200 and 'class="rawdiff' in raw.text
        fragment = http.get(
            "/workflows/orders/diff?env=dev&against=git", headers={"HX-Request": "true"}
        )
        assert fragment.status_code == 200
        assert "<html" not in fragment.text and "identical" in fragment.text
        for bad in ("env=staging", "env=prod&against=theirs"):
            answer = http.get(f"/workflows/orders/diff?{bad}")
            assert answer.status_code in (404, 422), bad
            assert "text/html" in answer.headers["content-type"]
        assert http.get("/workflows/no-such-flow").status_code == 404
        assert http.get("/workflows/no-such-flow/diff?env=prod").status_code == 404
    with signed_in(base, people.stranger) as http:  # another tenant's workflow: not found
        assert http.get("/workflows/orders").status_code == 404
        assert http.get("/workflows/orders/diff?env=prod").status_code == 404


def test_the_diff_picker_works_without_javascript(
    linked: Linked,  # noqa: F811
    people: People,
    base: str,
    browser: Browser,
) -> None:
    _drift_prod(linked, "edited in prod")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, base, people.viewer, next_path="/workflows/orders/diff?env=prod")
        expect(page.locator("th.path", has_text=VALUE_PATH)).to_have_count(1)
        page.select_option("#env", "dev")
        page.select_option("#against", "base")
        page.check("input[name=raw]")
        page.click(".diff-picker button[type=submit]")  # a plain GET: the choices in the URL
        expect(page).to_have_url(re.compile(r"\?env=dev&against=base&raw=1$"))
        expect(page.locator("#diff-body .same")).to_have_text("identical")
        expect(page.locator("#diff-body")).to_contain_text("identical line for line")
    finally:
        context.close()


def test_the_workflow_page_shows_cells_timeline_sparkline_and_versions(
    linked: Linked,  # noqa: F811
    people: People,
    base: str,
    ui_page: Page,
) -> None:
    _drift_prod(linked, "edited in prod")
    page = ui_page
    sign_in(page, base, people.viewer, next_path="/workflows/orders")
    expect(page.locator("h1")).to_contain_text("Orders")
    prod, dev = page.locator("tr[data-env=prod]"), page.locator("tr[data-env=dev]")
    expect(prod.locator(".cell-state")).to_contain_text("drift")
    expect(prod.locator(".cell-state")).to_contain_text("≠")
    expect(dev.locator(".cell-state")).to_contain_text("in sync")
    expect(prod.locator("svg.spark rect")).to_have_count(30)
    expect(prod.locator("svg.spark rect.sp-drift")).to_have_count(1)  # today
    expect(prod.locator("svg.spark")).to_have_attribute("aria-label", re.compile("not in sync"))
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li.tl-commit").filter(has_text="onboard")).to_have_count(1)
    expect(
        timeline.locator("li.tl-state").filter(has_text="prod").filter(has_text="in sync → drift")
    ).to_have_count(1)
    expect(page.locator("table.wf-versions tbody tr")).to_have_count(1)
    expect(page.locator("table.wf-versions")).to_contain_text("current")
    expect(page.get_by_text("Deploy this version")).to_have_count(0)  # a viewer's page
    expect(page.locator("a.deploy-current")).to_have_count(0)
    file = page.locator("details.wf-file")  # 150 lines: folded
    expect(file.locator("summary")).to_contain_text("workflows/orders.json")
    expect(file.locator("pre.json")).to_be_hidden()
    file.locator("summary").click()
    expect(file.locator("pre.json")).to_contain_text('"name": "Orders"')
    page.click("tr[data-env=prod] >> text=diff vs Git")
    expect(page).to_have_url(re.compile(r"/workflows/orders/diff\?env=prod&against=git"))
    expect(page.locator("th.path", has_text=VALUE_PATH)).to_have_count(1)


def test_a_viewer_cannot_deploy_and_a_post_needs_the_csrf_token(
    linked: Linked,  # noqa: F811
    people: People,
    base: str,
) -> None:
    with signed_in(base, people.viewer) as http:
        csrf = csrf_of(http.get("/workflows/orders").text)
        answer = http.post(
            "/workflows/orders/deploy", data={"env": "prod", "csrf_token": csrf, "commit": ""}
        )
        assert answer.status_code == 403 and "operator" in answer.text
        assert http.get("/workflows/orders/deploy?env=prod").status_code == 403
    with signed_in(base, people.operator) as http:
        answer = http.post("/workflows/orders/deploy", data={"env": "prod"})
        assert answer.status_code == 403  # no CSRF token: nothing runs
        csrf = csrf_of(http.get("/workflows/orders").text)
        for env, commit in (("staging", ""), ("prod", "not-hex")):
            answer = http.post(
                "/workflows/orders/deploy", data={"env": env, "commit": commit, "csrf_token": csrf}
            )
            assert answer.status_code in (404, 422), (env, commit, answer.text)
        assert http.get("/workflows/orders/deploy?env=prod&commit=abcdef12").status_code == 404
    with signed_in(base, people.stranger) as http:
        csrf = csrf_of(http.get("/").text)
        answer = http.post("/workflows/orders/deploy", data={"env": "prod", "csrf_token": csrf})
        assert answer.status_code == 404


def test_rolling_back_from_the_page_puts_the_old_version_in_n8n(
    linked: Linked,  # noqa: F811
    people: People,
    base: str,
    ui_page: Page,
) -> None:
    linked.edit_in_git("orders", set_value("v2 from git"), message="orders v2")
    linked.repo_sync()
    job = linked.apply(
        "git_wins",
        scope={
            "canonical_ids": [str(linked.canonical("orders").id)],
            "environment_ids": [str(linked.e.prod_id)],
        },
    )
    assert job["status"] == "succeeded", job
    prod_id = linked.mapping("orders", "prod").n8n_workflow_id
    assert _set_value(linked, prod_id) == "v2 from git"

    page = ui_page
    sign_in(page, base, people.operator, next_path="/workflows/orders")
    expect(page.locator("a.deploy-current")).to_have_count(2)  # Git's version, per environment
    versions = page.locator("table.wf-versions tbody tr")
    expect(versions).to_have_count(2)
    old = versions.filter(has_text="onboard")
    old.locator("select[name=env]").select_option("prod")
    old.get_by_role("button", name="Deploy this version…").click()
    expect(page).to_have_url(re.compile(r"/workflows/orders/deploy\?commit=[0-9a-f]{40}&env=prod"))
    confirm = page.locator(".confirm")
    expect(confirm).to_contain_text("a rollback")
    expect(confirm.locator(".overwrite")).to_contain_text(prod_id)
    expect(confirm.locator(".overwrite")).to_contain_text("in sync")
    page.get_by_role("button", name="Deploy to prod").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}$"))
    job_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("h1")).to_contain_text(job_id)  # the job's own page, not a 404
    done = linked.wait(job_id)
    assert done["status"] == "succeeded", done
    assert _set_value(linked, prod_id) == "new"  # the onboarded version, back in n8n
    # n8n holds the old version, Git the new one: prod is out of date, and says so
    assert linked.state("orders", "prod") is SyncState.OUT_OF_DATE
    page.goto(f"{base}/workflows/orders")
    expect(page.locator("tr[data-env=prod] .cell-state")).to_contain_text("out of date")
    expect(page.locator("ol.timeline li.tl-snapshot")).not_to_have_count(0)
    assert uuid.UUID(job_id)


def _set_value(linked: Linked, n8n_id: str) -> str:  # noqa: F811
    workflow = linked.get("prod", n8n_id)
    [node] = [n for n in workflow["nodes"] if n["name"] == "Set"]
    return str(node["parameters"]["assignments"]["assignments"][0]["value"])


def test_a_deploy_into_a_protected_environment_is_held_and_the_page_says_for_whom(
    linked: Linked,  # noqa: F811
    people: People,
    base: str,
    ui_page: Page,
) -> None:
    from sqlalchemy import select, update

    from canonflow.db.models import Approval, Environment

    with transaction(linked.e.runtime.sessions) as session:
        session.execute(
            update(Environment).where(Environment.id == linked.e.prod_id).values(protected=True)
        )
    prod_id = linked.mapping("orders", "prod").n8n_workflow_id
    before = _set_value(linked, prod_id)
    sign_in(ui_page, base, people.operator, next_path="/workflows/orders/deploy?env=prod")
    main = ui_page.locator("main")  # said before the deploy, not after
    expect(main).to_contain_text("prod is protected: this deploy will be held for approval")
    expect(main).not_to_contain_text("window is closed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ui_page.screenshot(path=str(ARTIFACTS / "workflow_deploy_protected.png"), full_page=True)
    ui_page.get_by_role("button", name="Ask to deploy to prod").click()
    ui_page.wait_for_url(re.compile(r"/workflows/orders\?held_for_approval="))
    expect(main).to_contain_text("Held for approval")
    expect(main).to_contain_text("an admin other than otto")
    held = uuid.UUID(ui_page.url.rsplit("=", 1)[1])
    with signed_in(base, people.stranger) as http:  # another tenant's page never shows it
        assert "Held for approval" not in http.get(f"/reconcile?held_for_approval={held}").text
    with transaction(linked.e.runtime.sessions) as session:
        approval = session.scalars(select(Approval).where(Approval.id == held)).one()
        assert approval.status.value == "pending" and approval.requested_by == "otto"
    assert _set_value(linked, prod_id) == before  # nothing written to n8n


def test_the_deploy_page_says_the_window_is_closed_and_only_an_admin_overrides_it(
    linked: Linked,  # noqa: F811
    people: People,
    base: str,
    ui_page: Page,
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select, update

    from canonflow.db.models import AuditEntry, Environment

    started = datetime.now(UTC) - timedelta(minutes=10)
    deny = {"kind": "deny", "cron": f"{started.minute} {started.hour} * * *",
            "duration_s": 3600, "timezone": "UTC"}  # fmt: skip
    with transaction(linked.e.runtime.sessions) as session:
        session.execute(
            update(Environment)
            .where(Environment.id == linked.e.prod_id)
            .values(sync_windows=[deny])
        )
    with signed_in(base, people.operator) as http:
        confirm = http.get("/workflows/orders/deploy?env=prod").text
        assert re.search(
            r"prod's sync window is closed \(it opens <time[^>]*>in \d+ min</time>\)", confirm
        )
        assert "only an admin can override the window" in confirm
        assert re.search(r'<button type="submit" class="danger" disabled>', confirm), confirm
        assert 'name="window_override"' not in confirm
        csrf = csrf_of(http.get("/workflows/orders").text)
        refused = http.post(
            "/workflows/orders/deploy",
            data={"env": "prod", "csrf_token": csrf, "window_override": "hotfix"},
        )
        assert refused.status_code == 403, refused.text  # an operator's override
    sign_in(ui_page, base, people.operator, next_path="/workflows/orders/deploy?env=prod")
    expect(ui_page.locator("main")).to_contain_text("only an admin can override the window")
    expect(ui_page.locator("main button[type=submit].danger")).to_be_disabled()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ui_page.screenshot(path=str(ARTIFACTS / "workflow_deploy_window_operator.png"), full_page=True)
    sign_in(ui_page, base, people.admin, next_path="/workflows/orders/deploy?env=prod")
    expect(ui_page.locator("main")).to_contain_text("a deploy now needs a reason to override it")
    expect(ui_page.locator("main button[type=submit].danger")).to_be_enabled()
    expect(ui_page.locator("input[name=window_override]")).to_be_visible()
    with signed_in(base, people.admin) as http:
        confirm = http.get("/workflows/orders/deploy?env=prod").text
        assert "a deploy now needs a reason to override it" in confirm
        assert 'name="window_override"' in confirm and " disabled>" not in confirm
        csrf = csrf_of(http.get("/workflows/orders").text)
        refused = http.post("/workflows/orders/deploy", data={"env": "prod", "csrf_token": csrf})
        assert refused.status_code == 409, refused.text  # no reason: the window holds
        answer = http.post(
            "/workflows/orders/deploy",
            data={"env": "prod", "csrf_token": csrf, "window_override": "hotfix 123"},
        )
        assert answer.status_code in (302, 303), answer.text
        assert answer.headers["location"].startswith("/jobs/")
    with transaction(linked.e.runtime.sessions) as session:
        overrides = session.scalars(
            select(AuditEntry).where(
                AuditEntry.tenant_id == linked.e.tenant_id, AuditEntry.action == "window.override"
            )
        ).all()
        assert [o.details["reason"] for o in overrides] == ["hotfix 123"]
