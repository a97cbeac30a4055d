"""Queries on `background_jobs`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

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
) -> list[BackgroundJob]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = select(BackgroundJob).where(BackgroundJob.tenant_id == tenant_id)
    if status is not None:
        query = query.where(BackgroundJob.status == status)
    if job_type is not None:
        query = query.where(BackgroundJob.type == job_type)
    if after is not None:
        query = query.where(tuple_(BackgroundJob.created_at, BackgroundJob.id) < after)
    query = query.order_by(BackgroundJob.created_at.desc(), BackgroundJob.id.desc())
    return list(session.scalars(query.limit(limit)))


def claim(session: Session, job_id: uuid.UUID) -> bool:
    """Move a queued job to running; False if someone else took it or it was cancelled."""
    result = session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == job_id, BackgroundJob.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, started_at=utcnow())
    )
    return _rowcount(result) == 1


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
    ).one_or_none()
    if ended is None:
        return None
    job_type, started_at, finished_at = ended
    if started_at is None or finished_at is None:
        return job_type, 0.0
    return job_type, (finished_at - started_at).total_seconds()


def set_progress(session: Session, job_id: uuid.UUID, done: int, total: int | None) -> None:
    session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == job_id)
        .values(progress_done=done, progress_total=total)
    )


def ids_with_status(session: Session, status: JobStatus) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(BackgroundJob.id)
            .where(BackgroundJob.status == status)
            .order_by(BackgroundJob.created_at)
        )
    )


def fail_interrupted(session: Session, message: str) -> int:
    result = session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.status == JobStatus.RUNNING)
        .values(status=JobStatus.FAILED, error=message, finished_at=utcnow())
    )
    return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
