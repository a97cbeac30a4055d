"""Helpers of the overview, environments, repository and jobs page tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, Environment
from canonflow.db.types import utcnow
from canonflow.environments.scheduling import next_slot
from canonflow.runtime import Runtime
from canonflow.tenancy import service as tenancy
from tests.web.conftest import csrf_of


def post(http: httpx.Client, path: str, data: dict[str, str] | None = None) -> httpx.Response:
    """POST a form the way the page does: with the session's CSRF token."""
    csrf = csrf_of(http.get("/").text)
    return http.post(path, data={"csrf_token": csrf, **(data or {})})


def tenant_of(runtime: Runtime, token: str) -> uuid.UUID:
    with transaction(runtime.sessions) as session:
        return tenancy.authenticate(session, token).tenant_id


def add_environment(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    *,
    name: str = "dev",
    base_url: str = "http://127.0.0.1:9",
    api_key: str = "key",
    sync_interval_s: int = 3600,
) -> uuid.UUID:
    """An environment stored directly (pages that do not talk to n8n)."""
    with transaction(runtime.sessions) as session:
        environment = Environment(
            tenant_id=tenant_id,
            name=name,
            base_url=base_url,
            api_key=runtime.secrets.seal(api_key),
            sync_interval_s=sync_interval_s,
        )
        session.add(environment)
        session.flush()
        environment.next_sync_at = next_slot(environment.id, sync_interval_s, paused=False)
        return environment.id


def insert_job(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    *,
    status: JobStatus,
    job_type: str = "environment.sync",
    params: dict[str, Any] | None = None,
    progress: tuple[int, int | None] = (0, None),
    lock_key: str | None = None,
    error: str | None = None,
) -> uuid.UUID:
    """A job row the runner leaves alone: a running one beats (its heartbeat is now), a
    queued one waits behind a running one holding its `lock_key`. Nothing executes it: the
    test moves it along with `update_job`."""
    now = utcnow()
    finished = status.finished
    with transaction(runtime.sessions) as session:
        job = BackgroundJob(
            tenant_id=tenant_id,
            type=job_type,
            status=status,
            params=params or {},
            progress_done=progress[0],
            progress_total=progress[1],
            lock_key=lock_key,
            error=error,
            started_at=now if status is not JobStatus.QUEUED else None,
            heartbeat_at=now if status is JobStatus.RUNNING else None,
            finished_at=now if finished else None,
        )
        session.add(job)
        session.flush()
        return job.id


def update_job(runtime: Runtime, job_id: uuid.UUID, **values: Any) -> None:
    with transaction(runtime.sessions) as session:
        job = session.get(BackgroundJob, job_id)
        assert job is not None
        for name, value in values.items():
            setattr(job, name, value)
        job.heartbeat_at = utcnow()
        if "status" in values and JobStatus(values["status"]).finished:
            job.finished_at = utcnow()


def job_status(runtime: Runtime, job_id: uuid.UUID) -> JobStatus:
    with transaction(runtime.sessions) as session:
        job = session.get(BackgroundJob, job_id)
        assert job is not None
        return job.status
