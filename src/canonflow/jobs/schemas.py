"""Job representations for the API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from canonflow.core.enums import JobStatus


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: str
    status: JobStatus
    params: dict[str, Any]
    progress_done: int
    progress_total: int | None
    result: dict[str, Any] | None
    error: str | None
    origin: str  # interactive | scheduled
    queue: str
    attempts: int  # runs started (a dead worker's job taken over and run again counts twice)
    abort_requested: bool
    engine_job_id: int | None  # procrastinate's job id (PostgreSQL)
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPage(BaseModel):
    jobs: list[JobRead]
    next_cursor: str | None


class JobAccepted(BaseModel):
    """Returned with `202 Accepted` when a request enqueues a job."""

    job_id: uuid.UUID
    status: JobStatus
    url: str
