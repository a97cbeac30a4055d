"""Job runners. `InProcessJobRunner` runs jobs on a small thread pool inside `serve`."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import structlog
from sqlalchemy.orm import Session, sessionmaker

from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob
from canonflow.errors import AppError
from canonflow.failures import known_message, unexpected_message
from canonflow.jobs import repository
from canonflow.jobs.registry import JobContext, JobFailed, JobRegistry
from canonflow.metrics import instruments

log = structlog.get_logger(__name__)
PROGRESS_INTERVAL_S = 0.5


class JobRunner(Protocol):
    """Runs committed `background_jobs` rows by id."""

    def dispatch(self, job_id: uuid.UUID) -> None: ...

    def recover(self) -> None: ...

    def shutdown(self, *, wait: bool = True) -> None: ...


class InProcessJobRunner:
    """A thread pool in this process. Fine for one server on SQLite; not shared."""

    def __init__(
        self, sessions: sessionmaker[Session], registry: JobRegistry, *, workers: int = 2
    ) -> None:
        self._sessions = sessions
        self._registry = registry
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="canonflow-job")
        self._futures: dict[uuid.UUID, Future[None]] = {}
        self._last_progress: dict[uuid.UUID, float] = {}
        self._lock = threading.Lock()
        self._closed = False

    def dispatch(self, job_id: uuid.UUID) -> None:
        """Start a committed job. After shutdown it stays queued for the next `recover()`."""
        with self._lock:
            if self._closed:
                log.warning("runner is shut down; job stays queued", job_id=str(job_id))
                return
            self._futures[job_id] = self._pool.submit(self.run, job_id)

    def recover(self) -> None:
        """After a restart: running jobs were interrupted; queued ones start again."""
        with transaction(self._sessions) as session:
            interrupted = repository.fail_interrupted(
                session, "interrupted: the server stopped while the job ran; run it again"
            )
            queued = repository.ids_with_status(session, JobStatus.QUEUED)
        if interrupted:
            log.warning("jobs interrupted by a restart marked failed", count=interrupted)
        for job_id in queued:
            self.dispatch(job_id)

    def wait(self, job_id: uuid.UUID, timeout: float | None = None) -> None:
        """Block until a dispatched job has finished (for the CLI and tests)."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)

    def shutdown(self, *, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def run(self, job_id: uuid.UUID) -> None:
        """Claim and execute one job, recording its outcome. Never raises."""
        with transaction(self._sessions) as session:
            if not repository.claim(session, job_id):
                return
            job = session.get(BackgroundJob, job_id)
            assert job is not None
            context = JobContext(
                job_id=job.id,
                tenant_id=job.tenant_id,
                params=dict(job.params),
                sessions=self._sessions,
                reporter=self._report_progress,
            )
            job_type = job.type
        with structlog.contextvars.bound_contextvars(job_id=str(job_id), job_type=job_type):
            self._execute(context, job_type)

    def _execute(self, context: JobContext, job_type: str) -> None:
        started = time.monotonic()
        try:
            result = self._registry.get(job_type)(context)
        except AppError as exc:
            result = exc.result if isinstance(exc, JobFailed) else None  # what it did before
            self._finish(context.job_id, JobStatus.FAILED, error=exc.message, result=result)
            log.warning("job failed", error=exc.message)
        except Exception as exc:
            known = known_message(exc)  # an n8n, Git or forge error's message is for a reader
            error = known or unexpected_message(exc, job_id=context.job_id)
            self._finish(context.job_id, JobStatus.FAILED, error=error)
            if known:
                log.warning("job failed", error=known)
            else:
                log.exception("job crashed")  # the full exception goes to the log only
        else:
            self._finish(context.job_id, JobStatus.SUCCEEDED, result=result)
            log.info("job succeeded", seconds=round(time.monotonic() - started, 3))
        finally:
            self._last_progress.pop(context.job_id, None)

    def _finish(
        self, job_id: uuid.UUID, status: JobStatus, *, result: Any = None, error: str | None = None
    ) -> None:
        with transaction(self._sessions) as session:
            ended = repository.finish(session, job_id, status=status, result=result, error=error)
        if ended is not None:  # observed once committed, by the process that ran the job
            instruments.job_ended(ended[0], status.value, ended[1])

    def _report_progress(self, job_id: uuid.UUID, done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - self._last_progress.get(job_id, 0.0) < PROGRESS_INTERVAL_S:
            return
        self._last_progress[job_id] = now
        with transaction(self._sessions) as session:
            repository.set_progress(session, job_id, done, total)
