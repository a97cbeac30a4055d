"""The jobs pages: the list with its filters and pages, one job, cancel, and live progress
over server-sent events (in the browser, without a reload; and as a raw stream)."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from canonflow.core.enums import JobStatus
from canonflow.runtime import Runtime
from canonflow.web.views import jobs as job_views
from tests.web.conftest import Tokens, sign_in, signed_in
from tests.web.ops_support import (
    add_environment,
    insert_job,
    job_status,
    post,
    tenant_of,
    update_job,
)


def _events(http: httpx.Client, job_id: uuid.UUID) -> list[tuple[str, str]]:
    """Every event of the job's stream, read until the server closes it."""
    found: list[tuple[str, str]] = []
    with http.stream("GET", f"/jobs/{job_id}/events") as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        name, data = "", []
        for line in answer.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data.append(line.removeprefix("data: "))
            elif line == "" and name:
                found.append((name, "\n".join(data)))
                name, data = "", []
    return found


def test_a_running_job_updates_live_in_the_browser_without_a_reload(
    base: str, tokens: Tokens, runtime: Runtime, ui_page: Page
) -> None:
    tenant = tenant_of(runtime, tokens.viewer)
    job_id = insert_job(
        runtime, tenant, status=JobStatus.RUNNING, progress=(0, 4), lock_key="ui-test:live"
    )
    sign_in(ui_page, base, tokens.viewer, next_path=f"/jobs/{job_id}")
    live = ui_page.locator("#job-live .job-progress")
    expect(live).to_have_attribute("data-status", "running")
    ui_page.evaluate("window.sameDocument = true")
    update_job(runtime, job_id, progress_done=2)
    expect(live.locator(".job-count")).to_have_text("2 of 4 done")
    update_job(
        runtime,
        job_id,
        status=JobStatus.SUCCEEDED,
        progress_done=4,
        result={"seen": 4, "created": 4},
    )
    expect(live).to_have_attribute("data-status", "succeeded")
    expect(live.locator(".job-result")).to_contain_text("created")
    assert ui_page.evaluate("window.sameDocument") is True  # swapped in place, never reloaded
    expect(live.get_by_role("button")).to_have_count(0)  # a viewer, and a finished job


def test_the_stream_sends_progress_then_done_and_ends(
    base: str, tokens: Tokens, runtime: Runtime
) -> None:
    tenant = tenant_of(runtime, tokens.viewer)
    finished = insert_job(runtime, tenant, status=JobStatus.FAILED, error="n8n: boom")
    with signed_in(base, tokens.viewer) as http:
        events = _events(http, finished)
        assert [name for name, _ in events] == ["done"]
        assert 'data-status="failed"' in events[0][1] and "n8n: boom" in events[0][1]

        running = insert_job(
            runtime, tenant, status=JobStatus.RUNNING, progress=(1, 3), lock_key="ui-test:s"
        )
        seen: list[tuple[str, str]] = []
        with http.stream("GET", f"/jobs/{running}/events") as answer:
            lines = answer.iter_lines()
            for line in lines:
                if line.startswith("event: "):
                    seen.append((line.removeprefix("event: "), ""))
                    break
            update_job(runtime, running, status=JobStatus.SUCCEEDED, progress_done=3)
            rest = list(lines)  # the server ends the stream after `done`
        names = [name for name, _ in seen] + [
            line.removeprefix("event: ") for line in rest if line.startswith("event: ")
        ]
        assert names[0] == "progress" and names[-1] == "done"
        assert any('data-status="succeeded"' in line for line in rest)


def test_the_list_filters_and_pages_in_the_query_string(
    base: str, tokens: Tokens, runtime: Runtime
) -> None:
    tenant = tenant_of(runtime, tokens.viewer)
    env = add_environment(runtime, tenant, name="prod")
    for _ in range(52):
        insert_job(runtime, tenant, status=JobStatus.SUCCEEDED, params={"environment_id": str(env)})
    failed = insert_job(runtime, tenant, status=JobStatus.FAILED, job_type="repository.sync")
    with signed_in(base, tokens.viewer) as http:
        only_failed = http.get("/jobs?status=failed").text
        assert f"/jobs/{failed}" in only_failed and only_failed.count('href="/jobs/') == 1
        first = http.get(f"/jobs?environment={env}")
        assert first.text.count(">environment.sync</a>") == 50
        assert ">prod</a>" in first.text
        older = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
        assert f"environment={env}" in older and "cursor=" in older
        second = http.get(older.replace("&amp;", "&")).text
        assert second.count(">environment.sync</a>") == 2
        assert "repository.sync" not in second.split("<tbody>")[1]
        typed = http.get("/jobs?type=repository.sync").text
        assert typed.count(">repository.sync</a>") == 1
        assert http.get("/jobs?status=nope").status_code == 422


def test_cancel_is_an_operators_and_works_without_javascript(
    base: str, tokens: Tokens, runtime: Runtime
) -> None:
    tenant = tenant_of(runtime, tokens.operator)
    insert_job(runtime, tenant, status=JobStatus.RUNNING, lock_key="ui-test:held")
    waiting = insert_job(runtime, tenant, status=JobStatus.QUEUED, lock_key="ui-test:held")
    with signed_in(base, tokens.viewer) as viewer:
        page = viewer.get(f"/jobs/{waiting}").text
        assert "Cancel" not in page and f'href="/jobs/{waiting}">Refresh</a>' in page
        assert post(viewer, f"/jobs/{waiting}/cancel").status_code == 403
        assert viewer.post(f"/jobs/{waiting}/cancel").status_code == 403  # no CSRF token
    assert job_status(runtime, waiting) is JobStatus.QUEUED
    with signed_in(base, tokens.operator) as operator:
        assert "Cancel</button>" in operator.get(f"/jobs/{waiting}").text
        answer = post(operator, f"/jobs/{waiting}/cancel")
        assert answer.status_code == 303 and answer.headers["location"] == f"/jobs/{waiting}"
        assert 'data-status="cancelled"' in operator.get(f"/jobs/{waiting}").text
        assert post(operator, f"/jobs/{waiting}/cancel").status_code == 409
    assert job_status(runtime, waiting) is JobStatus.CANCELLED


@pytest.mark.parametrize("path", ["/jobs/{id}", "/jobs/{id}/events"])
def test_another_tenants_job_is_404(base: str, tokens: Tokens, runtime: Runtime, path: str) -> None:
    job_id = insert_job(runtime, tenant_of(runtime, tokens.admin), status=JobStatus.SUCCEEDED)
    with signed_in(base, tokens.other_admin) as other:
        assert other.get(path.format(id=job_id)).status_code == 404
        assert post(other, f"/jobs/{job_id}/cancel").status_code == 404
    with signed_in(base, tokens.admin) as own:
        assert own.get(f"/jobs/{job_id}").status_code == 200


def test_a_stream_lives_a_bounded_time(
    base: str, tokens: Tokens, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job that never finishes does not hold a connection for ever: the stream ends (the
    browser's EventSource connects again) and a new one starts from the job's state."""
    monkeypatch.setattr(job_views, "STREAM_LIFETIME_S", 1.0)
    tenant = tenant_of(runtime, tokens.viewer)
    job_id = insert_job(
        runtime, tenant, status=JobStatus.RUNNING, progress=(1, 9), lock_key="ui-test:long"
    )
    with signed_in(base, tokens.viewer) as http:
        events = _events(http, job_id)
    assert [name for name, _ in events] == ["progress"]
    assert "1 of 9 done" in events[0][1]


def test_a_stream_ends_when_the_client_goes_away(
    base: str, tokens: Tokens, runtime: Runtime
) -> None:
    tenant = tenant_of(runtime, tokens.viewer)
    job_id = insert_job(
        runtime, tenant, status=JobStatus.RUNNING, progress=(0, 2), lock_key="ui-test:gone"
    )
    with signed_in(base, tokens.viewer) as http:
        with http.stream("GET", f"/jobs/{job_id}/events") as answer:
            lines = answer.iter_lines()  # held: dropping it would close the response
            assert "event: progress" in itertools.takewhile(lambda x: x != "", _after_retry(lines))
            assert job_views.watching[job_id] == 1  # still served
        # the client closed the connection: the server stops serving it
        deadline = time.monotonic() + 10
        while job_views.watching[job_id] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert job_id not in job_views.watching


def _after_retry(lines: Iterator[str]) -> Iterator[str]:
    """The lines after the stream's opening `retry:` field."""
    assert next(lines).startswith("retry: ") and next(lines) == ""
    return lines


def test_the_filters_update_the_list_in_place_and_the_url(
    base: str, tokens: Tokens, runtime: Runtime, ui_page: Page
) -> None:
    tenant = tenant_of(runtime, tokens.viewer)
    done = insert_job(runtime, tenant, status=JobStatus.SUCCEEDED)
    failed = insert_job(runtime, tenant, status=JobStatus.FAILED, error="n8n: refused")
    sign_in(ui_page, base, tokens.viewer, next_path="/jobs")
    expect(ui_page.locator(f'a[href="/jobs/{done}"]')).to_have_count(1)
    ui_page.evaluate("window.sameDocument = true")
    ui_page.select_option("#f-status", "failed")
    expect(ui_page).to_have_url(f"{base}/jobs?type=&status=failed&environment=")
    expect(ui_page.locator(f'a[href="/jobs/{done}"]')).to_have_count(0)
    expect(ui_page.locator(f'a[href="/jobs/{failed}"]')).to_have_count(1)
    assert ui_page.evaluate("window.sameDocument") is True
    ui_page.reload()  # the URL is the page: bookmarkable
    expect(ui_page.locator("#f-status")).to_have_value("failed")
    expect(ui_page.locator(f'a[href="/jobs/{done}"]')).to_have_count(0)
