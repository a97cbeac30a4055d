"""Running one job, the same on both engines: claim, heartbeat, retries, abort, outcome.

The in-process runner (SQLite) and the procrastinate task (PostgreSQL) both call
`JobExecutor.run`; which process claims a job is the engine's business, what a run means
is decided here. A running job's row is beaten every `heartbeat_s`; a row whose beats
stop for `STALLED_AFTER_BEATS` beats belongs to a dead worker and is taken over
(`recover_stalled`): run again when its type is idempotent, else failed with a message.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from canonflow.core.enums import JobStatus
from canonflow.db import leases
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob
from canonflow.db.types import utcnow
from canonflow.errors import AppError
from canonflow.failures import known_message, unexpected_message
from canonflow.jobs import repository
from canonflow.jobs.registry import (
    JobAborted,
    JobContext,
    JobFailed,
    JobRegistry,
    JobTimedOut,
)
from canonflow.jobs.repository import Claim
from canonflow.jobs.spec import JobSpec
from canonflow.metrics import instruments

log = structlog.get_logger(__name__)
PROGRESS_INTERVAL_S = 0.5
STALLED_AFTER_BEATS = 6


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def is_transient(exc: BaseException) -> bool:
    """n8n unreachable/5xx/429/busy and Git unreachable are worth another try; a 401, a
    404 or a bad configuration is not."""
    from canonflow.git.errors import GitUnreachable
    from canonflow.n8n.errors import N8nTransientError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, N8nTransientError | GitUnreachable):
            return True
        seen = seen.__cause__
    return False


class JobExecutor:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        registry: JobRegistry,
        *,
        heartbeat_s: float = 10.0,
        max_concurrent_syncs: int = 4,
        worker_id: str | None = None,
        on_taken_over: Callable[[Session, BackgroundJob, bool], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.registry = registry
        self.heartbeat_s = heartbeat_s
        self.max_concurrent_syncs = max_concurrent_syncs
        self.worker_id = worker_id or new_worker_id()
        #: the engine's part of taking over a dead worker's job (requeued or not)
        self.on_taken_over = on_taken_over
        self._running: dict[uuid.UUID, float] = {}  # job id -> monotonic deadline
        self._last_progress: dict[uuid.UUID, float] = {}
        self._lock = threading.Lock()

    # -- claiming and running -------------------------------------------------------------

    def capped_types(self) -> list[str]:
        return [spec.name for spec in self.registry.specs.values() if spec.capped]

    def claim(self, job_id: uuid.UUID) -> tuple[Claim, JobContext | None, JobSpec | None]:
        capped = self.capped_types()
        with transaction(self.sessions) as session:
            outcome = repository.claim(
                session,
                job_id,
                worker_id=self.worker_id,
                capped_types=capped,
                cap=self.max_concurrent_syncs,
            )
            if outcome is not Claim.CLAIMED:
                return outcome, None, None
            job = session.get(BackgroundJob, job_id, populate_existing=True)
            assert job is not None
            context = JobContext(
                job_id=job.id,
                tenant_id=job.tenant_id,
                params=dict(job.params),
                sessions=self.sessions,
                reporter=self._report_progress,
            )
            spec = self.registry.specs.get(job.type) or JobSpec(job.type)
        with self._lock:
            self._running[job_id] = time.monotonic() + spec.timeout_s
        return outcome, context, spec

    def run(self, job_id: uuid.UUID) -> Claim:
        """Claim and execute one job, recording its outcome. Never raises."""
        outcome, context, spec = self.claim(job_id)
        if context is not None and spec is not None:
            self.execute(context, spec)
        return outcome

    def execute(self, context: JobContext, spec: JobSpec) -> None:
        with structlog.contextvars.bound_contextvars(
            job_id=str(context.job_id), job_type=spec.name
        ):
            token = leases.holder.set(leases.owner_for(context.job_id))
            try:
                self._attempts(context, spec)
            finally:
                leases.holder.reset(token)
                with self._lock:
                    self._running.pop(context.job_id, None)
                    self._last_progress.pop(context.job_id, None)

    def _attempts(self, context: JobContext, spec: JobSpec) -> None:
        started = time.monotonic()
        for attempt in range(1, spec.retry.attempts + 1):
            try:
                result = self.registry.get(spec.name)(context)
            except Exception as exc:
                if attempt < spec.retry.attempts and is_transient(exc):
                    self._note_retry(context.job_id, exc, attempt, spec)
                    continue
                self._fail(context.job_id, exc)
                return
            self._finish(context.job_id, JobStatus.SUCCEEDED, result=result)
            log.info("job succeeded", seconds=round(time.monotonic() - started, 3))
            return

    def _note_retry(self, job_id: uuid.UUID, exc: Exception, attempt: int, spec: JobSpec) -> None:
        delay = spec.retry.delay_s(attempt)
        message = known_message(exc) or unexpected_message(exc, job_id=job_id)
        note = f"attempt {attempt} of {spec.retry.attempts} failed ({message}); retrying"
        log.warning("job attempt failed; retrying", error=message, delay_s=delay)
        with transaction(self.sessions) as session:
            repository.note(session, job_id, note)
        time.sleep(delay)

    def _fail(self, job_id: uuid.UUID, exc: Exception) -> None:
        if isinstance(exc, JobAborted):
            self._finish(job_id, JobStatus.CANCELLED, error=exc.message)
            log.info("job aborted")
        elif isinstance(exc, AppError):
            result = exc.result if isinstance(exc, JobFailed) else None  # what it did before
            self._finish(job_id, JobStatus.FAILED, error=exc.message, result=result)
            log.warning("job failed", error=exc.message)
        else:
            known = known_message(exc)  # an n8n, Git or forge error's message is for a reader
            self._finish(
                job_id, JobStatus.FAILED, error=known or unexpected_message(exc, job_id=job_id)
            )
            if known:
                log.warning("job failed", error=known)
            else:
                log.exception("job crashed")  # the full exception goes to the log only

    def _finish(
        self, job_id: uuid.UUID, status: JobStatus, *, result: Any = None, error: str | None = None
    ) -> None:
        with transaction(self.sessions) as session:
            ended = repository.finish(session, job_id, status=status, result=result, error=error)
        if ended is not None:  # observed once committed, by the process that ran the job
            instruments.job_ended(ended[0], status.value, ended[1])

    # -- progress, abort, heartbeat -------------------------------------------------------

    def _report_progress(self, job_id: uuid.UUID, done: int, total: int | None) -> None:
        """A batch boundary: record progress (throttled) and stop if asked to."""
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - self._last_progress.get(job_id, 0.0) < PROGRESS_INTERVAL_S:
            return
        self._last_progress[job_id] = now
        with transaction(self.sessions) as session:
            abort = repository.set_progress(session, job_id, done, total)
        if abort:
            raise JobAborted(f"cancelled while running; stopped after {done} items")
        if now > self._running.get(job_id, now):
            raise JobTimedOut(f"stopped after {done} items: the job ran past its time limit")

    def beat(self) -> None:
        """Beat this worker's running jobs, then take over those of dead workers."""
        with self._lock:
            running = list(self._running)
        with transaction(self.sessions) as session:
            repository.heartbeat(session, running)
        self.recover_stalled()

    def stalled_cutoff_s(self) -> float:
        return self.heartbeat_s * STALLED_AFTER_BEATS

    def recover_stalled(self) -> int:
        """Jobs whose worker stopped beating: run again (idempotent types, tries left, none
        queued behind) or fail visibly. Live workers' jobs are never touched."""
        cutoff = utcnow() - timedelta(seconds=self.stalled_cutoff_s())
        taken = 0
        with transaction(self.sessions) as session:
            for job in repository.stalled(session, cutoff):
                taken += self._take_over(session, job, cutoff)
        return taken

    def _take_over(self, session: Session, job: BackgroundJob, cutoff: Any) -> int:
        spec = self.registry.specs.get(job.type) or JobSpec(job.type)
        silent = f"{self.stalled_cutoff_s():g} s"
        behind = job.queueing_key and repository.queued_with_key(session, job.queueing_key)
        if spec.rerun_when_stalled and job.attempts < spec.retry.attempts and not behind:
            error = (
                f"the worker running attempt {job.attempts} stopped "
                f"(no heartbeat for {silent}); running it again"
            )
            if not repository.take_over_stalled(
                session, job, cutoff, status=JobStatus.QUEUED, error=error
            ):
                return 0
            self._taken_over(session, job, requeued=True)
            log.warning("stalled job queued again", job_id=str(job.id))
            return 1
        error = (
            f"interrupted: the worker running it stopped (no heartbeat for {silent}); run it again"
        )
        if repository.take_over_stalled(session, job, cutoff, status=JobStatus.FAILED, error=error):
            self._taken_over(session, job, requeued=False)
            log.warning("stalled job failed", job_id=str(job.id))
            return 1
        return 0

    def _taken_over(self, session: Session, job: BackgroundJob, *, requeued: bool) -> None:
        released = leases.release_held_by(session, leases.owner_for(job.id))
        if released:
            log.warning("a stopped worker's leases released", job_id=str(job.id), count=released)
        if self.on_taken_over is not None:
            self.on_taken_over(session, job, requeued)


class Heartbeat:
    """Beats this process's running rows and takes over dead workers' ones."""

    def __init__(self, executor: JobExecutor) -> None:
        self._executor = executor
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="canonflow-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self._executor.heartbeat_s):
            try:
                self._executor.beat()
            except Exception:
                log.exception("job heartbeat failed; trying again at the next beat")
