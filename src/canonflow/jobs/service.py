"""Job flows: enqueue (dispatched only after the caller commits), read, cancel."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
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


@dataclass(frozen=True)
class JobRequest:
    """One job to enqueue in a batch (`enqueue_many`)."""

    tenant_id: uuid.UUID
    job_type: str
    params: dict[str, Any] = field(default_factory=dict)
    created_by: Principal | None = None


class Queued(NamedTuple):
    """The job that answers a request, and whether the request created it (False: a job
    with the same queueing key was already waiting, and answers instead)."""

    job: BackgroundJob
    created: bool


class AfterCommitEngine:
    """The in-process engine: a job is handed to the runner once its session commits."""

    def __init__(self, factory: sessionmaker[Session], runner: JobRunner) -> None:
        install_dispatch_on_commit(factory, runner)

    def defer(self, session: Session, job: BackgroundJob) -> None:
        session.info.setdefault(_PENDING_KEY, []).append(job.id)

    def defer_many(self, session: Session, jobs: Sequence[BackgroundJob]) -> None:
        session.info.setdefault(_PENDING_KEY, []).extend(job.id for job in jobs)

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
    request = JobRequest(tenant_id, job_type, params or {}, created_by)
    return _enqueue_one(session, registry, request, origin).job


def enqueue_many(
    session: Session,
    registry: JobRegistry,
    requests: Sequence[JobRequest],
    *,
    origin: Origin = Origin.SCHEDULED,
) -> list[Queued]:
    """Queue many jobs at once (the scheduler's tick): one answer per request, in order.

    The new rows go in one INSERT (per 1,000 rows) that skips a row whose queueing key already
    has a queued job (ON CONFLICT DO NOTHING against the partial unique index, on both
    backends): atomic against an interactive `enqueue` committing meanwhile, which a
    pre-select of the keys would not be (the tick's lease does not hold those back). They
    are then handed to the engine in one call: one `procrastinate_defer_jobs_v1` on
    PostgreSQL, the after-commit dispatch on SQLite. A request whose key already waits is
    answered by that job, as `enqueue` answers it (lifted to the interactive queue when
    `origin` is interactive); a key twice in the batch makes one job."""
    rows = [_row_values(registry, request, origin) for request in requests]
    first_at = utcnow()
    for position, row in enumerate(rows):  # created_at keeps the batch's order for the engine
        row["id"] = uuid.uuid4()
        row["created_at"] = first_at + timedelta(microseconds=position)
    fresh, firsts = _first_per_key(rows)
    created = {job.id: job for job in _insert_skipping_queued_keys(session, fresh)}
    if created and registry.engine is not None:
        registry.engine.defer_many(session, [created[r["id"]] for r in fresh if r["id"] in created])
    skipped = {r["queueing_key"] for r in fresh if r["id"] not in created}
    waiting = repository.queued_with_keys(session, skipped)
    answers: list[Queued] = []
    for request, row in zip(requests, rows, strict=True):
        key = row["queueing_key"]
        first = firsts.get(key) if key is not None else row["id"]
        if first in created:
            answers.append(Queued(created[first], created=first == row["id"]))
        elif key in waiting:
            answers.append(Queued(_promoted(session, registry, waiting[key], origin), False))
        else:  # the waiting job started meanwhile: this one queues behind it
            answers.append(_enqueue_one(session, registry, request, origin))
    return answers


def _first_per_key(
    rows: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, uuid.UUID]]:
    """(the rows to insert: a queueing key's first, and every keyless row; each key's
    first row's id)."""
    firsts: dict[str, uuid.UUID] = {}
    fresh = []
    for row in rows:
        key = row["queueing_key"]
        if key is None or key not in firsts:
            fresh.append(row)
            if key is not None:
                firsts[key] = row["id"]
    return fresh, firsts


def _row_values(registry: JobRegistry, request: JobRequest, origin: Origin) -> dict[str, Any]:
    """A new `background_jobs` row's values; unknown types fail here, not in the worker."""
    spec = registry.spec(request.job_type)
    return {
        "tenant_id": request.tenant_id,
        "type": request.job_type,
        "params": request.params,
        "status": JobStatus.QUEUED,
        "origin": origin.value,
        "queue": spec.queue_for(origin),
        "priority": PRIORITY[origin],
        "lock_key": spec.lock_key(request.tenant_id, request.params),
        "queueing_key": spec.queueing_key(request.tenant_id, request.params),
        "created_by_token_id": request.created_by.token_id if request.created_by else None,
    }


def _enqueue_one(
    session: Session, registry: JobRegistry, request: JobRequest, origin: Origin
) -> Queued:
    values = _row_values(registry, request, origin)
    queueing_key = values["queueing_key"]
    if queueing_key is not None:
        waiting = repository.queued_with_key(session, queueing_key)
        if waiting is not None:
            return Queued(_promoted(session, registry, waiting, origin), created=False)
    job = BackgroundJob(**values)
    try:
        with session.begin_nested():  # a concurrent enqueue may take the key first
            session.add(job)
            session.flush()
    except IntegrityError:
        waiting = repository.queued_with_key(session, queueing_key) if queueing_key else None
        if waiting is None:
            raise
        return Queued(_promoted(session, registry, waiting, origin), created=False)
    if registry.engine is not None:
        registry.engine.defer(session, job)
    return Queued(job, created=True)


def _insert_skipping_queued_keys(
    session: Session, rows: list[dict[str, Any]]
) -> list[BackgroundJob]:
    """INSERT the rows, skipping those whose queueing key has a queued job; the new ones.

    One statement compiled once (SQLAlchemy caches it) and sent as one multi-row INSERT per
    1,000 rows ("insertmanyvalues"): a `.values([...])` of the batch instead was compiled
    afresh each tick, ~20 ms of Python per tick of 25 rows in `bench/scheduler.py`."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(BackgroundJob)
        .on_conflict_do_nothing(
            index_elements=[BackgroundJob.queueing_key],
            index_where=text("status = 'queued'"),
        )
        .returning(BackgroundJob)
    )
    return list(session.scalars(statement, rows))


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
