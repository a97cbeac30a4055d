"""The environments pages on a real n8n: add one through the admin form (a refused URL's
422 shown beside the form), test its connection, sync it now and watch the job succeed live,
then the overview's counts; roles, CSRF, other tenants; pause / resume; edit; remove."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect
from sqlalchemy import select

from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import Environment
from canonflow.runtime import Runtime
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import create_workflows
from tests.web.conftest import Tokens, sign_in, signed_in
from tests.web.ops_support import add_environment, insert_job, post, tenant_of, update_job


def _next_sync(runtime: Runtime, environment_id: uuid.UUID) -> object:
    with transaction(runtime.sessions) as session:
        environment = session.get(Environment, environment_id)
        assert environment is not None
        return environment.next_sync_at


def test_add_test_sync_and_watch_the_job_live(
    base: str,
    tokens: Tokens,
    runtime: Runtime,
    clean_n8n_dev: N8nInstance,
    ui_page: Page,
    allow_console: list[str],
) -> None:
    allow_console.append("status of 422")  # the refused form's answer
    create_workflows(clean_n8n_dev, 3, prefix="ui sync")
    sign_in(ui_page, base, tokens.admin, next_path="/environments")
    ui_page.fill("#name", "dev")
    ui_page.fill("#base_url", "http://169.254.169.254")
    ui_page.fill("#api_key", clean_n8n_dev.api_key)
    ui_page.click("text=Add environment")
    expect(ui_page.locator("#form-error")).to_contain_text("metadata")
    expect(ui_page.locator("#name")).to_have_value("dev")  # what was typed stays
    expect(ui_page.locator("#api_key")).to_have_value("")  # the key is never echoed back
    assert clean_n8n_dev.api_key not in ui_page.content()

    ui_page.fill("#base_url", clean_n8n_dev.base_url)
    ui_page.fill("#api_key", clean_n8n_dev.api_key)
    ui_page.select_option("#kind", "development")
    ui_page.click("text=Add environment")
    expect(ui_page).to_have_url(re.compile(r"/environments/[0-9a-f-]{36}$"))
    expect(ui_page.locator("h1")).to_have_text("dev")
    expect(ui_page.locator("#reachable")).to_contain_text("not synced yet")

    ui_page.click("text=Test connection")  # htmx: the answer lands in place
    expect(ui_page.locator("#connection")).to_contain_text(f"connected to {clean_n8n_dev.base_url}")

    env_id = uuid.UUID(ui_page.url.rsplit("/", 1)[1])
    ui_page.click("text=Sync now")
    expect(ui_page.locator("h1")).to_have_text("Sync dev now")
    expect(ui_page.locator(".confirm")).to_contain_text("Nothing is written to n8n")
    # another sync of dev holds its lock: the new one waits, so the page opens on it queued
    holder = insert_job(
        runtime,
        tenant_of(runtime, tokens.admin),
        status=JobStatus.RUNNING,
        lock_key=f"environment-sync:{env_id}",
    )
    ui_page.click("text=Start the sync")
    expect(ui_page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}$"))
    live = ui_page.locator("#job-live .job-progress")
    expect(live).to_have_attribute("data-status", "queued")
    ui_page.evaluate("window.sameDocument = true")
    update_job(runtime, holder, status=JobStatus.SUCCEEDED)  # the lock is free: it runs
    expect(live).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(live.locator(".job-result")).to_contain_text("created")
    assert ui_page.evaluate("window.sameDocument") is True  # it changed in place (SSE)
    result = live.locator(".job-result tr", has_text="created").locator("td")
    expect(result).to_have_text("3")

    ui_page.goto(base + "/")
    row = ui_page.locator("tr[data-env=dev]")
    expect(row.locator(".reach")).to_contain_text("reachable")
    expect(row.locator(".statuses")).to_contain_text("untracked 3")
    expect(ui_page.locator(".attention-list")).to_contain_text("untracked 3")
    untracked = row.locator(".statuses a", has_text="untracked")
    href = untracked.get_attribute("href")
    assert href is not None and href.startswith("/matrix?env=") and "status=untracked" in href

    ui_page.goto(base + "/environments")
    expect(ui_page.locator("table.env-list")).to_contain_text(clean_n8n_dev.base_url)
    expect(ui_page.locator("table.env-list")).to_contain_text("succeeded")


def test_a_viewer_sees_no_buttons_and_its_posts_are_403(
    base: str, tokens: Tokens, runtime: Runtime, ui_page: Page
) -> None:
    env = add_environment(runtime, tenant_of(runtime, tokens.viewer))
    sign_in(ui_page, base, tokens.viewer, next_path=f"/environments/{env}")
    expect(ui_page.locator("h1")).to_have_text("dev")
    expect(ui_page.locator("main button")).to_have_count(0)
    expect(ui_page.locator("main a.button")).to_have_count(0)
    ui_page.goto(base + "/environments")
    expect(ui_page.locator("#add")).to_have_count(0)
    with signed_in(base, tokens.viewer) as viewer:
        for path in (
            "/environments",
            f"/environments/{env}/test-connection",
            f"/environments/{env}/sync",
            f"/environments/{env}/pause",
            f"/environments/{env}/resume",
            f"/environments/{env}/edit",
            f"/environments/{env}/rotate-key",
            f"/environments/{env}/remove",
            "/repository",
            "/repository/sync",
            "/repository/test",
        ):
            answer = post(viewer, path, {"name": "x", "api_key": "k"})
            assert answer.status_code == 403, path
        assert viewer.get(f"/environments/{env}/sync").status_code == 403
    with signed_in(base, tokens.operator) as operator:  # the schedule is an admin's (as PATCH)
        assert post(operator, f"/environments/{env}/pause").status_code == 403
        page = operator.get(f"/environments/{env}").text
        assert "Test connection" in page and "Sync now" in page and "Pause" not in page


def test_a_post_without_csrf_is_403_and_does_nothing(
    base: str, tokens: Tokens, runtime: Runtime
) -> None:
    env = add_environment(runtime, tenant_of(runtime, tokens.admin))
    before = _next_sync(runtime, env)
    with signed_in(base, tokens.admin) as admin:
        assert admin.post(f"/environments/{env}/pause").status_code == 403
        assert admin.post(f"/environments/{env}/remove").status_code == 403
        answer = admin.post(f"/environments/{env}/sync", data={"csrf_token": "x" * 43})
        assert answer.status_code == 403
    assert _next_sync(runtime, env) == before is not None


def test_another_tenants_environment_is_404(base: str, tokens: Tokens, runtime: Runtime) -> None:
    env = add_environment(runtime, tenant_of(runtime, tokens.admin))
    with signed_in(base, tokens.other_admin) as other:
        for path in ("", "/edit", "/remove", "/sync"):
            assert other.get(f"/environments/{env}{path}").status_code == 404, path
        for path in ("/sync", "/pause", "/remove", "/test-connection", "/edit"):
            assert post(other, f"/environments/{env}{path}").status_code == 404, path
        assert str(env) not in other.get("/environments").text
        assert other.get(f"/jobs?environment={env}").status_code == 200
    assert _next_sync(runtime, env) is not None  # still there, still scheduled


def test_pause_and_resume_change_the_next_sync(base: str, tokens: Tokens, runtime: Runtime) -> None:
    env = add_environment(runtime, tenant_of(runtime, tokens.admin))
    with signed_in(base, tokens.admin) as admin:
        post(admin, f"/environments/{env}/resume")  # stored directly: give it its slot
        scheduled = _next_sync(runtime, env)
        assert scheduled is not None
        answer = post(admin, f"/environments/{env}/pause")
        assert answer.status_code == 303 and answer.headers["location"] == f"/environments/{env}"
        assert _next_sync(runtime, env) is None
        page = admin.get(f"/environments/{env}").text
        assert "none: paused" in page and "Resume schedule" in page
        assert post(admin, f"/environments/{env}/resume").status_code == 303
        assert _next_sync(runtime, env) == scheduled  # its slot comes back
        assert "Pause schedule" in admin.get(f"/environments/{env}").text
        # without JavaScript, testing the connection answers the whole page with the outcome
        tested = post(admin, f"/environments/{env}/test-connection")
        assert tested.status_code == 200 and "<h1>dev" in tested.text
        outcome = tested.text.split('id="connection"')[1].split("</div>")[0]
        assert 'class="error"' in outcome and "127.0.0.1:9" in outcome


def test_edit_rotate_and_remove_with_confirmation(
    base: str, tokens: Tokens, runtime: Runtime
) -> None:
    tenant = tenant_of(runtime, tokens.admin)
    env = add_environment(runtime, tenant, base_url="http://127.0.0.1:9", api_key="old-key")
    with signed_in(base, tokens.admin) as admin:
        form = {"name": "dev", "base_url": "http://127.0.0.2:9", "kind": "staging"}
        moved = post(admin, f"/environments/{env}/edit", form)
        assert moved.status_code == 422
        assert "send api_key with the new base_url" in moved.text
        assert "old-key" not in moved.text
        form["api_key"] = "new-key"
        assert post(admin, f"/environments/{env}/edit", form).status_code == 303
        page = admin.get(f"/environments/{env}").text
        assert "http://127.0.0.2:9" in page and "staging" in page
        assert post(admin, f"/environments/{env}/rotate-key", {"api_key": ""}).status_code == 422
        assert post(admin, f"/environments/{env}/rotate-key", {"api_key": "k3"}).status_code == 303
        with transaction(runtime.sessions) as session:
            stored = session.get(Environment, env)
            assert stored is not None and runtime.secrets.open(stored.api_key) == "k3"
        confirm = admin.get(f"/environments/{env}/remove").text
        assert "0</strong> workflow mappings" in confirm and "credential bindings" in confirm
        answer = post(admin, f"/environments/{env}/remove")
        assert answer.status_code == 303 and answer.headers["location"] == "/environments"
        assert admin.get(f"/environments/{env}").status_code == 404
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(Environment).where(Environment.id == env)).first() is None
