"""Job flows: enqueue (dispatched only after the caller commits), read, cancel."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from canonflow import audit
from canonflow.core.enums import JobStatus
from canonflow.db.models import BackgroundJob
from canonflow.db.types import utcnow
from canonflow.errors import Conflict, NotFound
from canonflow.jobs import repository
from canonflow.jobs.registry import JobRegistry
from canonflow.jobs.runner import JobRunner
from canonflow.jobs.spec import PRIORITY, Origin
from canonflow.tenancy.service import Principal

_PENDING_KEY = "canonflow.jobs.pending"


class AfterCommitEngine:
    """The in-process engine: a job is handed to the runner once its session commits."""

    def __init__(self, factory: sessionmaker[Session], runner: JobRunner) -> None:
        install_dispatch_on_commit(factory, runner)

    def defer(self, session: Session, job: BackgroundJob) -> None:
        session.info.setdefault(_PENDING_KEY, []).append(job.id)

    def promote(self, session: Session, job: BackgroundJob) -> None:
        """The runner reads priorities from the table: nothing to tell it."""


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
    origin: Origin = Origin.INTERACTIVE,
) -> BackgroundJob:
    """Queue a job, or answer the job already queued under the same queueing key (an
    interactive request lifts a queued scheduled one to the interactive queue)."""
    spec = registry.spec(job_type)  # unknown types fail here, not in the worker
    params = params or {}
    queueing_key = spec.queueing_key(tenant_id, params)
    if queueing_key is not None:
        waiting = repository.queued_with_key(session, queueing_key)
        if waiting is not None:
            return _promoted(session, registry, waiting, origin)
    job = BackgroundJob(
        tenant_id=tenant_id,
        type=job_type,
        params=params,
        status=JobStatus.QUEUED,
        origin=origin.value,
        queue=spec.queue_for(origin),
        priority=PRIORITY[origin],
        lock_key=spec.lock_key(tenant_id, params),
        queueing_key=queueing_key,
        created_by_token_id=created_by.token_id if created_by else None,
    )
    try:
        with session.begin_nested():  # a concurrent enqueue may take the key first
            session.add(job)
            session.flush()
    except IntegrityError:
        waiting = repository.queued_with_key(session, queueing_key) if queueing_key else None
        if waiting is None:
            raise
        return _promoted(session, registry, waiting, origin)
    if registry.engine is not None:
        registry.engine.defer(session, job)
    return job


def _promoted(
    session: Session, registry: JobRegistry, job: BackgroundJob, origin: Origin
) -> BackgroundJob:
    if origin is Origin.INTERACTIVE and job.origin != Origin.INTERACTIVE.value:
        job.origin = origin.value
        job.queue = registry.spec(job.type).queue_for(origin)
        job.priority = PRIORITY[origin]
        session.flush()
        if registry.engine is not None:
            registry.engine.promote(session, job)
    return job


def get_or_raise(session: Session, tenant_id: uuid.UUID, job_id: uuid.UUID) -> BackgroundJob:
    job = repository.get(session, tenant_id, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job


def cancel(session: Session, principal: Principal, job_id: uuid.UUID) -> BackgroundJob:
    """Cancel a queued job; ask a running one to stop at its next batch boundary."""
    job = get_or_raise(session, principal.tenant_id, job_id)
    if job.status is JobStatus.RUNNING:
        job.abort_requested = True
    elif job.status is JobStatus.QUEUED:
        job.status = JobStatus.CANCELLED
        job.finished_at = utcnow()
    else:
        raise Conflict(
            f"job {job_id} is {job.status.value}; only queued or running jobs can be cancelled"
        )
    audit.record_by(
        session,
        principal,
        action="job.abort" if job.status is JobStatus.RUNNING else "job.cancel",
        target_type="background_job",
        target_id=str(job.id),
    )
    session.flush()
    return job
