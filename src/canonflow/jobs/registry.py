"""Job types and their handlers. Feature packages register theirs at start-up."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from canonflow.db.models import BackgroundJob
from canonflow.errors import AppError, Invalid
from canonflow.jobs.spec import JobSpec


class ProgressReporter(Protocol):
    def __call__(self, job_id: uuid.UUID, done: int, total: int | None) -> None: ...


class JobAborted(AppError):
    """Someone cancelled the running job: it stops at its next batch boundary."""

    status, code = 409, "job-aborted"


class JobTimedOut(AppError):
    """The job ran past its spec's `timeout_s`: it fails at its next batch boundary."""

    status, code = 504, "job-timed-out"


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
#: Work another feature does after a job type of a lower layer succeeded (e.g. a promotion
#: waiting for its pull request, after a repo sync); given the job's context and result.
FollowUp = Callable[[JobContext, dict[str, Any]], None]


class JobEngine(Protocol):
    """Hands a flushed `background_jobs` row to whatever runs it, in the same transaction."""

    def defer(self, session: Session, job: BackgroundJob) -> None: ...

    def defer_many(self, session: Session, jobs: Sequence[BackgroundJob]) -> None:
        """Several flushed rows at once (in one round trip where the engine can)."""

    def promote(self, session: Session, job: BackgroundJob) -> None:
        """A queued job moved to the interactive queue."""


@dataclass
class JobRegistry:
    handlers: dict[str, JobHandler] = field(default_factory=dict)
    specs: dict[str, JobSpec] = field(default_factory=dict)
    engine: JobEngine | None = None
    follow_ups: dict[str, list[FollowUp]] = field(default_factory=dict)

    def register(self, spec: JobSpec | str, handler: JobHandler) -> None:
        """Declare a job type; a bare name gets the defaults (no lock, no retry)."""
        spec = JobSpec(spec) if isinstance(spec, str) else spec
        if spec.name in self.handlers:
            raise ValueError(f"job type {spec.name!r} is already registered")
        self.handlers[spec.name] = handler
        self.specs[spec.name] = spec

    def get(self, job_type: str) -> JobHandler:
        try:
            return self.handlers[job_type]
        except KeyError:
            raise Invalid(f"unknown job type {job_type!r}") from None

    def spec(self, job_type: str) -> JobSpec:
        self.get(job_type)
        return self.specs[job_type]

    def __contains__(self, job_type: object) -> bool:
        return job_type in self.handlers

    def add_follow_up(self, job_type: str, follow_up: FollowUp) -> None:
        """Run `follow_up` after each successful run of `job_type` (its handler calls
        `run_follow_ups`), so a package above it need not be imported by it."""
        self.follow_ups.setdefault(job_type, []).append(follow_up)

    def run_follow_ups(self, job_type: str, context: JobContext, result: dict[str, Any]) -> None:
        for follow_up in self.follow_ups.get(job_type, ()):
            follow_up(context, result)
