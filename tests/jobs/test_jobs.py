"""The in-process job runner and the jobs API, on real databases."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from structlog.testing import capture_logs

from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, Tenant
from canonflow.errors import Conflict, Invalid
from canonflow.forge import ForgeAuthFailed
from canonflow.git import GitUnreachable
from canonflow.jobs import service
from canonflow.jobs.registry import JobContext, JobRegistry
from canonflow.n8n import N8nUnreachable
from canonflow.runtime import Runtime
from canonflow.tenancy.service import Principal, authenticate
from tests.factories import bearer, make_tenant, make_token


@pytest.fixture
def tenant(runtime: Runtime) -> Tenant:
    with transaction(runtime.sessions) as session:
        return make_tenant(session, slug="acme")


def _enqueue(runtime: Runtime, tenant: Tenant, job_type: str, **params: Any) -> uuid.UUID:
    with transaction(runtime.sessions) as session:
        job = service.enqueue(
            session, runtime.jobs, tenant_id=tenant.id, job_type=job_type, params=params
        )
        return job.id


def _load(runtime: Runtime, job_id: uuid.UUID) -> BackgroundJob:
    with transaction(runtime.sessions) as session:
        job = session.get(BackgroundJob, job_id)
        assert job is not None
        return job


def test_a_job_runs_after_commit_and_records_result_and_progress(
    runtime: Runtime, tenant: Tenant
) -> None:
    def count(context: JobContext) -> dict[str, Any]:
        total = int(context.params["n"])
        for done in range(1, total + 1):
            context.report_progress(done, total)
        return {"counted": total}

    runtime.jobs.register("test.count", count)
    job_id = _enqueue(runtime, tenant, "test.count", n=5)
    runtime.runner.wait(job_id, timeout=30)
    job = _load(runtime, job_id)
    assert job.status is JobStatus.SUCCEEDED
    assert job.result == {"counted": 5}
    assert (job.progress_done, job.progress_total) == (5, 5)
    assert job.started_at is not None and job.finished_at is not None
    assert job.finished_at >= job.started_at


def test_a_rolled_back_enqueue_never_runs(runtime: Runtime, tenant: Tenant) -> None:
    ran = threading.Event()
    runtime.jobs.register("test.flag", lambda _ctx: ran.set() or None)
    with pytest.raises(RuntimeError), transaction(runtime.sessions) as session:
        service.enqueue(session, runtime.jobs, tenant_id=tenant.id, job_type="test.flag")
        raise RuntimeError("request failed after enqueue")
    # A later commit in another session must not dispatch the discarded job either.
    job_id = _enqueue(runtime, tenant, "test.flag")
    runtime.runner.wait(job_id, timeout=30)
    with transaction(runtime.sessions) as session:
        assert session.query(BackgroundJob).count() == 1


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (Invalid("environment prod has no API key"), "environment prod has no API key"),
        (
            N8nUnreachable("n8n at http://n8n.test is unreachable", base_url="http://n8n.test"),
            "n8n at http://n8n.test is unreachable",
        ),
        (GitUnreachable("cannot reach git://git.test/x.git"), "cannot reach git://git.test/x.git"),
        (
            ForgeAuthFailed("GitHub at https://forge.test refused the token (401)", api_url="x"),
            "GitHub at https://forge.test refused the token (401)",
        ),
    ],
    ids=["app", "n8n", "git", "forge"],
)
def test_a_failing_job_records_its_errors_message(
    runtime: Runtime, tenant: Tenant, error: Exception, expected: str
) -> None:
    def fail(_context: JobContext) -> None:
        raise error

    runtime.jobs.register("test.fail", fail)
    job_id = _enqueue(runtime, tenant, "test.fail")
    runtime.runner.wait(job_id, timeout=30)
    job = _load(runtime, job_id)
    assert job.status is JobStatus.FAILED
    assert job.error == expected
    assert job.result is None


def test_an_unexpected_exception_is_logged_and_the_job_says_where_to_look(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    def crash(_context: JobContext) -> None:
        {}["internal_key_0x7f"]  # a bug in a handler

    runtime.jobs.register("test.crash", crash)
    with capture_logs() as logs:
        job_id = _enqueue(runtime, tenant, "test.crash")
        runtime.runner.wait(job_id, timeout=30)
    expected = f"unexpected error (KeyError); see the server log for job {job_id}"
    assert _load(runtime, job_id).error == expected
    crashed = [log for log in logs if log["event"] == "job crashed"]
    assert len(crashed) == 1 and crashed[0]["exc_info"] is True
    with transaction(runtime.sessions) as session:
        token = make_token(session, tenant)
    answer = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(token)).json()
    assert (answer["status"], answer["error"]) == ("failed", expected)
    assert "internal_key_0x7f" not in str(answer)


def test_an_unknown_job_type_is_refused_at_enqueue(session: Session) -> None:
    tenant = make_tenant(session)
    with pytest.raises(Invalid, match="unknown job type"):
        service.enqueue(session, _empty_registry(), tenant_id=tenant.id, job_type="nope")


def test_a_job_is_claimed_once(runtime: Runtime, tenant: Tenant) -> None:
    calls: list[uuid.UUID] = []
    runtime.jobs.register("test.once", lambda ctx: calls.append(ctx.job_id) or None)
    job_id = _enqueue(runtime, tenant, "test.once")
    runtime.runner.wait(job_id, timeout=30)
    runtime.runner.run(job_id)  # a second worker picking up the same id does nothing
    assert calls == [job_id]


def test_recover_fails_interrupted_jobs_and_runs_queued_ones(
    runtime: Runtime, tenant: Tenant
) -> None:
    runtime.jobs.register("test.ok", lambda _ctx: {"ok": True})
    with transaction(runtime.sessions) as session:
        running = BackgroundJob(tenant_id=tenant.id, type="test.ok", status=JobStatus.RUNNING)
        queued = BackgroundJob(tenant_id=tenant.id, type="test.ok", status=JobStatus.QUEUED)
        session.add_all([running, queued])
    runtime.runner.recover()
    runtime.runner.wait(queued.id, timeout=30)
    assert _load(runtime, running.id).status is JobStatus.FAILED
    assert "interrupted" in (_load(runtime, running.id).error or "")
    assert _load(runtime, queued.id).status is JobStatus.SUCCEEDED


def test_only_queued_jobs_can_be_cancelled(runtime: Runtime, tenant: Tenant) -> None:
    runtime.jobs.register("test.ok", lambda _ctx: {"ok": True})
    job_id = _enqueue(runtime, tenant, "test.ok")
    runtime.runner.wait(job_id, timeout=30)
    with transaction(runtime.sessions) as session:
        principal = _principal(session, tenant)
        with pytest.raises(Conflict, match="succeeded"):
            service.cancel(session, principal, job_id)


def test_jobs_api_lists_pages_and_hides_other_tenants(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    with transaction(runtime.sessions) as session:
        other = make_tenant(session, slug="other")
        session.add_all(
            [BackgroundJob(tenant_id=tenant.id, type=f"test.{i}") for i in range(5)]
            + [BackgroundJob(tenant_id=other.id, type="test.secret")]
        )
        token = make_token(session, tenant)
        other_token = make_token(session, other)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/jobs", params=params, headers=bearer(token)).json()
        seen += [job["type"] for job in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"test.{i}" for i in range(5)]
    other_jobs = client.get("/api/v1/jobs", headers=bearer(other_token)).json()["jobs"]
    assert [job["type"] for job in other_jobs] == ["test.secret"]
    secret_id = other_jobs[0]["id"]
    response = client.get(f"/api/v1/jobs/{secret_id}", headers=bearer(token))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_jobs_api_filters_by_status(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    with transaction(runtime.sessions) as session:
        session.add_all(
            [
                BackgroundJob(tenant_id=tenant.id, type="a", status=JobStatus.FAILED),
                BackgroundJob(tenant_id=tenant.id, type="b", status=JobStatus.QUEUED),
            ]
        )
        token = make_token(session, tenant)
    page = client.get("/api/v1/jobs", params={"status": "failed"}, headers=bearer(token)).json()
    assert [job["type"] for job in page["jobs"]] == ["a"]


def _principal(session: Session, tenant: Tenant) -> Principal:
    return authenticate(session, make_token(session, tenant))


def _empty_registry() -> JobRegistry:
    return JobRegistry()
