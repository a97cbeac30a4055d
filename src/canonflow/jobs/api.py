"""`/api/v1/jobs`: read and cancel background jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from canonflow.api.deps import Operator, SessionDep, Viewer
from canonflow.api.pagination import decode_cursor, encode_cursor
from canonflow.core.enums import JobStatus
from canonflow.errors import Invalid
from canonflow.jobs import repository, service
from canonflow.jobs.schemas import JobPage, JobRead

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("", response_model=JobPage)
def list_jobs(
    session: SessionDep,
    principal: Viewer,
    status: JobStatus | None = None,
    type: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> JobPage:
    after = _parse_cursor(cursor) if cursor else None
    jobs = repository.list_page(
        session, principal.tenant_id, limit=limit + 1, after=after, status=status, job_type=type
    )
    next_cursor = None
    if len(jobs) > limit:
        jobs = jobs[:limit]
        last = jobs[-1]
        next_cursor = encode_cursor([last.created_at.isoformat(), str(last.id)])
    return JobPage(jobs=[JobRead.model_validate(job) for job in jobs], next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobRead)
def get_job(job_id: uuid.UUID, session: SessionDep, principal: Viewer) -> JobRead:
    return JobRead.model_validate(service.get_or_raise(session, principal.tenant_id, job_id))


@router.post("/{job_id}/cancel", response_model=JobRead)
def cancel_job(job_id: uuid.UUID, session: SessionDep, principal: Operator) -> JobRead:
    return JobRead.model_validate(service.cancel(session, principal, job_id))


def _parse_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    values = decode_cursor(cursor)
    try:
        created_at, job_id = values
        return datetime.fromisoformat(created_at), uuid.UUID(job_id)
    except (TypeError, ValueError):
        raise Invalid("invalid cursor: pass back the next_cursor of a previous page") from None
