"""Job types and their handlers. Feature packages register theirs at start-up."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from canonflow.errors import AppError, Invalid


class ProgressReporter(Protocol):
    def __call__(self, job_id: uuid.UUID, done: int, total: int | None) -> None: ...


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: ids to reload state in its own sessions, and a progress hook."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    params: dict[str, Any]
    sessions: sessionmaker[Session]
    reporter: ProgressReporter

    def report_progress(self, done: int, total: int | None = None) -> None:
        self.reporter(self.job_id, done, total)


class JobFailed(AppError):
    """A handler's failure with what it did before failing: the job keeps `result`."""

    status, code = 503, "job-failed"

    def __init__(self, message: str, *, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


#: A handler returns the job's result (JSON-able) and raises on failure.
JobHandler = Callable[[JobContext], dict[str, Any] | None]


@dataclass
class JobRegistry:
    handlers: dict[str, JobHandler] = field(default_factory=dict)

    def register(self, job_type: str, handler: JobHandler) -> None:
        if job_type in self.handlers:
            raise ValueError(f"job type {job_type!r} is already registered")
        self.handlers[job_type] = handler

    def get(self, job_type: str) -> JobHandler:
        try:
            return self.handlers[job_type]
        except KeyError:
            raise Invalid(f"unknown job type {job_type!r}") from None

    def __contains__(self, job_type: object) -> bool:
        return job_type in self.handlers
