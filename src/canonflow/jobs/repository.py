"""Queries on `background_jobs`."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, text, tuple_, update
from sqlalchemy.orm import Session, aliased

from canonflow.core.enums import JobStatus
from canonflow.db.models import BackgroundJob
from canonflow.db.types import utcnow


def get(session: Session, tenant_id: uuid.UUID, job_id: uuid.UUID) -> BackgroundJob | None:
    return session.scalars(
        select(BackgroundJob).where(
            BackgroundJob.tenant_id == tenant_id, BackgroundJob.id == job_id
        )
    ).one_or_none()


def list_page(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
    status: JobStatus | None = None,
    job_type: str | None = None,
    environment_id: uuid.UUID | None = None,
) -> list[BackgroundJob]:
    """Newest first, keyset-paginated on (created_at, id); `environment_id` keeps the jobs
    whose params name that environment."""
    query = select(BackgroundJob).where(BackgroundJob.tenant_id == tenant_id)
    if status is not None:
        query = query.where(BackgroundJob.status == status)
    if job_type is not None:
        query = query.where(BackgroundJob.type == job_type)
    if environment_id is not None:
        query = query.where(
            BackgroundJob.params["environment_id"].as_string() == str(environment_id)
        )
    if after is not None:
        query = query.where(tuple_(BackgroundJob.created_at, BackgroundJob.id) < after)
    query = query.order_by(BackgroundJob.created_at.desc(), BackgroundJob.id.desc())
    return list(session.scalars(query.limit(limit)))


class Claim(StrEnum):
    CLAIMED = "claimed"
    GONE = "gone"  # no longer queued: cancelled, or another worker took it
    BUSY = "busy"  # its lock is held, or its tenant is at the cap


def queued_with_key(session: Session, queueing_key: str) -> BackgroundJob | None:
    return session.scalars(
        select(BackgroundJob).where(
            BackgroundJob.queueing_key == queueing_key,
            BackgroundJob.status == JobStatus.QUEUED,
        )
    ).one_or_none()


def queued_with_keys(session: Session, queueing_keys: Collection[str]) -> dict[str, BackgroundJob]:
    if not queueing_keys:
        return {}
    jobs = session.scalars(
        select(BackgroundJob).where(
            BackgroundJob.queueing_key.in_(list(queueing_keys)),
            BackgroundJob.status == JobStatus.QUEUED,
        )
    )
    return {job.queueing_key: job for job in jobs if job.queueing_key is not None}


def claim(
    session: Session,
    job_id: uuid.UUID,
    *,
    worker_id: str = "",
    capped_types: Collection[str] = (),
    cap: int = 0,
) -> Claim:
    """Move a queued job to running unless its lock is held or its tenant is at the cap."""
    job = session.get(BackgroundJob, job_id, populate_existing=True)
    if job is None or job.status is not JobStatus.QUEUED:
        return Claim.GONE
    _serialize_claims(session, job.tenant_id)
    if job.lock_key is not None and _lock_taken(session, job):
        return Claim.BUSY
    if job.type in capped_types and cap > 0:
        running = _running(
            session,
            BackgroundJob.tenant_id == job.tenant_id,
            BackgroundJob.type.in_(list(capped_types)),
        )
        if running >= cap:
            return Claim.BUSY
    now = utcnow()
    result = session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == job_id, BackgroundJob.status == JobStatus.QUEUED)
        .values(
            status=JobStatus.RUNNING,
            started_at=now,
            heartbeat_at=now,
            worker_id=worker_id,
            attempts=BackgroundJob.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return Claim.CLAIMED if _rowcount(result) == 1 else Claim.GONE


def _lock_taken(session: Session, job: BackgroundJob) -> bool:
    """Its lock key runs, or waits in a job that goes first (higher priority, or equal and
    older): one lock's jobs start strictly in order, as procrastinate starts them."""
    if _running(session, BackgroundJob.lock_key == job.lock_key):
        return True
    ahead = select(BackgroundJob.id).where(
        BackgroundJob.lock_key == job.lock_key,
        BackgroundJob.status == JobStatus.QUEUED,
        BackgroundJob.id != job.id,
        or_(
            BackgroundJob.priority > job.priority,
            and_(
                BackgroundJob.priority == job.priority,
                BackgroundJob.created_at < job.created_at,
            ),
        ),
    )
    return session.scalar(ahead.limit(1)) is not None


def _serialize_claims(session: Session, tenant_id: uuid.UUID) -> None:
    """On PostgreSQL, claims of one tenant's jobs take turns (the cap and lock checks
    read, then write); SQLite has a single writer already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"claim:{tenant_id}"}
        )


def _running(session: Session, *conditions: ColumnElement[bool]) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(BackgroundJob)
            .where(BackgroundJob.status == JobStatus.RUNNING, *conditions)
        )
        or 0
    )


def next_candidates(
    session: Session, *, limit: int, capped_types: Collection[str] = (), cap: int = 0
) -> list[uuid.UUID]:
    """Queued jobs in the order they should start (interactive first, then oldest),
    leaving out those that cannot start now (their lock runs, their tenant is at its cap),
    so a tenant's thousand waiting syncs never hide another tenant's one."""
    running = aliased(BackgroundJob)
    locks_held = select(running.lock_key).where(
        running.status == JobStatus.RUNNING, running.lock_key.is_not(None)
    )
    query = select(BackgroundJob.id).where(
        BackgroundJob.status == JobStatus.QUEUED,
        or_(BackgroundJob.lock_key.is_(None), BackgroundJob.lock_key.not_in(locks_held)),
    )
    if capped_types and cap > 0:
        at_cap = (
            select(running.tenant_id)
            .where(running.status == JobStatus.RUNNING, running.type.in_(list(capped_types)))
            .group_by(running.tenant_id)
            .having(func.count() >= cap)
        )
        query = query.where(
            or_(
                BackgroundJob.type.not_in(list(capped_types)),
                BackgroundJob.tenant_id.not_in(at_cap),
            )
        )
    order = (BackgroundJob.priority.desc(), BackgroundJob.created_at)
    return list(session.scalars(query.order_by(*order).limit(limit)))


def queued_without_engine_job(session: Session) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(BackgroundJob.id)
            .where(BackgroundJob.status == JobStatus.QUEUED, BackgroundJob.engine_job_id.is_(None))
            .order_by(BackgroundJob.created_at)
        )
    )


def finish(
    session: Session,
    job_id: uuid.UUID,
    *,
    status: JobStatus,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> tuple[str, float] | None:
    """End a running job; its type and how long it ran (None when it was not running)."""
    ended = session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == job_id, BackgroundJob.status == JobStatus.RUNNING)
        .values(status=status, result=result, error=error, finished_at=utcnow())
        .returning(BackgroundJob.type, BackgroundJob.started_at, BackgroundJob.finished_at)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if ended is None:
        return None
    job_type, started_at, finished_at = ended
    if started_at is None or finished_at is None:
        return job_type, 0.0
    return job_type, (finished_at - started_at).total_seconds()


def heartbeat(session: Session, job_ids: Collection[uuid.UUID]) -> None:
    if job_ids:
        session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id.in_(list(job_ids)), BackgroundJob.status == JobStatus.RUNNING)
            .values(heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def note(session: Session, job_id: uuid.UUID, error: str) -> None:
    """A running job's note (a failed attempt it retries)."""
    session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == job_id)
        .values(error=error)
        .execution_options(synchronize_session=False)
    )


def stalled(session: Session, cutoff: datetime) -> list[BackgroundJob]:
    """Running jobs whose worker stopped beating (or never did: rows from before 0011)."""
    return list(
        session.scalars(
            select(BackgroundJob).where(
                BackgroundJob.status == JobStatus.RUNNING,
                or_(BackgroundJob.heartbeat_at.is_(None), BackgroundJob.heartbeat_at < cutoff),
            )
        )
    )


def take_over_stalled(
    session: Session, job: BackgroundJob, cutoff: datetime, *, status: JobStatus, error: str
) -> bool:
    """Requeue or fail a stalled job; False if it beat again (or was handled) meanwhile."""
    values: dict[str, Any] = {"status": status, "error": error, "worker_id": None}
    if status is JobStatus.QUEUED:
        values |= {"started_at": None, "heartbeat_at": None}
    else:
        values["finished_at"] = utcnow()
    result = session.execute(
        update(BackgroundJob)
        .where(
            BackgroundJob.id == job.id,
            BackgroundJob.status == JobStatus.RUNNING,
            or_(BackgroundJob.heartbeat_at.is_(None), BackgroundJob.heartbeat_at < cutoff),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def set_progress(session: Session, job_id: uuid.UUID, done: int, total: int | None) -> bool:
    """Record progress; True when someone asked the job to stop."""
    session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == job_id)
        .values(progress_done=done, progress_total=total, heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(
        session.scalar(select(BackgroundJob.abort_requested).where(BackgroundJob.id == job_id))
    )


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
