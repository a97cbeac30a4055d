"""The repository page on a real Git remote: set it up (a refused URL shown beside the form),
test access, sync now (confirmation, then its job), pause / resume; roles and tenants."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import GitRepository
from canonflow.runtime import Runtime
from tests.support.git_remotes import WorkingClone, make_bare_remote
from tests.support.n8n_fixtures import make_workflow
from tests.web.conftest import Tokens, sign_in, signed_in
from tests.web.ops_support import job_status, post


def _remote(tmp_path: Path) -> tuple[str, str]:
    """A bare remote holding one workflow; its URL and head."""
    remote = make_bare_remote(tmp_path)
    clone = WorkingClone(remote.as_uri(), tmp_path / "alice")
    clone.write("workflows/billing.json", json.dumps(make_workflow("Billing")))
    head = clone.commit("add billing")
    clone.push()
    return remote.as_uri(), head


def test_set_up_test_and_sync_the_repository(
    base: str,
    tokens: Tokens,
    runtime: Runtime,
    tmp_path: Path,
    ui_page: Page,
    allow_console: list[str],
) -> None:
    allow_console.append("status of 422")
    url, head = _remote(tmp_path)
    sign_in(ui_page, base, tokens.admin, next_path="/repository")
    expect(ui_page.locator("main")).to_contain_text("No Git repository is configured yet")
    ui_page.fill("#url", "ftp://git.example.com/x.git")
    ui_page.click("text=Save")
    expect(ui_page.locator("#form-error")).to_contain_text("unsupported URL scheme")
    ui_page.fill("#url", url)
    ui_page.click("text=Save")
    expect(ui_page.locator("#repo-url")).to_have_text(url)

    ui_page.click("text=Test access")
    expect(ui_page.locator("#check")).to_contain_text(head[:12])

    ui_page.click("text=Sync now")
    expect(ui_page.locator(".confirm")).to_contain_text("prune guard")
    ui_page.click("text=Start the sync")
    expect(ui_page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}$"))
    live = ui_page.locator("#job-live .job-progress")
    expect(live).to_have_attribute("data-status", "succeeded", timeout=60_000)
    ui_page.goto(base + "/repository")
    expect(ui_page.locator("main")).to_contain_text(head[:12])
    expect(ui_page.locator("table.runs")).to_contain_text("succeeded")


def test_schedule_roles_and_tenants(
    base: str, tokens: Tokens, runtime: Runtime, tmp_path: Path
) -> None:
    url, _ = _remote(tmp_path)
    with signed_in(base, tokens.admin) as admin:
        assert post(admin, "/repository", {"url": url, "branch": "main"}).status_code == 303
        fresh = admin.get("/repository").text  # hourly, not placed by a tick yet
        assert "every 3600 s" in fresh and "manual only" not in fresh
        assert "not placed yet" in fresh
        assert post(admin, "/repository/resume").status_code == 303
        with transaction(runtime.sessions) as session:
            repo = session.query(GitRepository).one()
            scheduled = repo.next_sync_at
        assert scheduled is not None
        assert post(admin, "/repository/pause").status_code == 303
        page = admin.get("/repository").text
        assert "none: paused" in page and "Resume schedule" in page
        with transaction(runtime.sessions) as session:
            assert session.query(GitRepository).one().next_sync_at is None
        assert post(admin, "/repository/resume").status_code == 303
        with transaction(runtime.sessions) as session:
            assert session.query(GitRepository).one().next_sync_at == scheduled
    with signed_in(base, tokens.viewer) as viewer:
        page = viewer.get("/repository").text
        assert url in page and "<button" not in page.split("<main")[1]
        for path in ("/repository", "/repository/sync", "/repository/pause", "/repository/test"):
            assert post(viewer, path, {"url": "file:///tmp/x"}).status_code == 403, path
    with signed_in(base, tokens.operator) as operator:
        assert operator.post("/repository/sync").status_code == 403  # no CSRF token
        answer = post(operator, "/repository/sync")
        assert answer.status_code == 303
        job_id = uuid.UUID(answer.headers["location"].removeprefix("/jobs/"))
        runtime.runner.wait(job_id, timeout=60)
        assert job_status(runtime, job_id) is JobStatus.SUCCEEDED
    with signed_in(base, tokens.other_admin) as other:
        assert "No Git repository" in other.get("/repository").text
        assert url not in other.get("/repository").text
        assert other.get("/repository/sync").status_code == 404
        assert other.get(f"/jobs/{job_id}").status_code == 404
