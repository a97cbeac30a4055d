"""Job flows: enqueue (dispatched only after the caller commits), read, cancel."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from canonflow import audit
from canonflow.core.enums import JobStatus
from canonflow.db.models import BackgroundJob
from canonflow.db.types import utcnow
from canonflow.errors import Conflict, NotFound
from canonflow.jobs import repository
from canonflow.jobs.registry import JobRegistry
from canonflow.jobs.runner import JobRunner
from canonflow.tenancy.service import Principal

_PENDING_KEY = "canonflow.jobs.pending"


def install_dispatch_on_commit(factory: sessionmaker[Session], runner: JobRunner) -> None:
    """Jobs enqueued in a session start only once that session commits."""

    def after_commit(session: Session) -> None:
        for job_id in session.info.pop(_PENDING_KEY, []):
            runner.dispatch(job_id)

    def after_rollback(session: Session) -> None:
        session.info.pop(_PENDING_KEY, None)

    event.listen(factory, "after_commit", after_commit)
    event.listen(factory, "after_soft_rollback", lambda session, _tx: after_rollback(session))


def enqueue(
    session: Session,
    registry: JobRegistry,
    *,
    tenant_id: uuid.UUID,
    job_type: str,
    params: dict[str, Any] | None = None,
    created_by: Principal | None = None,
) -> BackgroundJob:
    (job,) = enqueue_many(
        session,
        registry,
        [NewJob(tenant_id, job_type, params or {})],
        created_by=created_by,
    )
    return job


@dataclass(frozen=True, slots=True)
class NewJob:
    tenant_id: uuid.UUID
    job_type: str
    params: dict[str, Any]


def enqueue_many(
    session: Session,
    registry: JobRegistry,
    new_jobs: list[NewJob],
    *,
    created_by: Principal | None = None,
) -> list[BackgroundJob]:
    """Queue several jobs in one INSERT (the scheduler's batch); each starts after commit."""
    for new in new_jobs:
        registry.get(new.job_type)  # unknown types fail here, not in the worker
    jobs = [
        BackgroundJob(
            tenant_id=new.tenant_id,
            type=new.job_type,
            params=new.params,
            status=JobStatus.QUEUED,
            created_by_token_id=created_by.token_id if created_by else None,
        )
        for new in new_jobs
    ]
    session.add_all(jobs)
    session.flush()
    session.info.setdefault(_PENDING_KEY, []).extend(job.id for job in jobs)
    return jobs


def get_or_raise(session: Session, tenant_id: uuid.UUID, job_id: uuid.UUID) -> BackgroundJob:
    job = repository.get(session, tenant_id, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job


def cancel(session: Session, principal: Principal, job_id: uuid.UUID) -> BackgroundJob:
    """Cancel a queued job. A job that already started runs to its end."""
    job = get_or_raise(session, principal.tenant_id, job_id)
    if job.status is not JobStatus.QUEUED:
        raise Conflict(f"job {job_id} is {job.status.value}; only queued jobs can be cancelled")
    job.status = JobStatus.CANCELLED
    job.finished_at = utcnow()
    audit.record_by(
        session,
        principal,
        action="job.cancel",
        target_type="background_job",
        target_id=str(job.id),
    )
    session.flush()
    return job
