"""Job runners. `InProcessJobRunner`: the embedded engine (SQLite), a dispatcher thread
feeding a small thread pool, with the semantics procrastinate gives on PostgreSQL: one
queued job per queueing key (the table's unique index), one running job per lock key, the
tenant's cap on concurrent syncs, interactive work first, retries, heartbeats."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import structlog
from sqlalchemy.orm import Session, sessionmaker

from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob
from canonflow.jobs import repository
from canonflow.jobs.executor import Heartbeat, JobExecutor
from canonflow.jobs.registry import JobContext, JobRegistry
from canonflow.jobs.repository import Claim
from canonflow.jobs.spec import JobSpec

log = structlog.get_logger(__name__)
IDLE_POLL_S = 1.0
WAIT_POLL_S = 0.05


class JobRunner(Protocol):
    """Runs committed `background_jobs` rows."""

    executor: JobExecutor

    def dispatch(self, job_id: uuid.UUID) -> None: ...

    def start_worker(self) -> None:
        """Start running jobs in this process (the embedded worker), if not yet."""

    def recover(self) -> None: ...

    def wait(self, job_id: uuid.UUID, timeout: float | None = None) -> None: ...

    def run(self, job_id: uuid.UUID) -> Claim: ...

    def shutdown(self, *, wait: bool = True) -> None: ...


def wait_for(sessions: sessionmaker[Session], job_id: uuid.UUID, timeout: float | None) -> None:
    """Block until the job's row is finished (any engine, any process)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with transaction(sessions) as session:
            status = session.get(BackgroundJob, job_id, populate_existing=True)
            if status is None or status.status.finished:
                return
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} did not finish within {timeout} s")
        time.sleep(WAIT_POLL_S)


class InProcessJobRunner:
    """Jobs run in this process; the rules live in the database, so a second process on
    the same database claims safely beside this one."""

    def __init__(self, executor: JobExecutor, *, workers: int = 2) -> None:
        self.executor = executor
        self._sessions = executor.sessions
        self._slots = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="canonflow-job")
        self._active: set[uuid.UUID] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._heartbeat = Heartbeat(executor).start()  # its own thread: claims never delay it
        self._thread = threading.Thread(target=self._loop, name="canonflow-dispatcher", daemon=True)
        self._thread.start()

    @property
    def registry(self) -> JobRegistry:
        return self.executor.registry

    def dispatch(self, job_id: uuid.UUID) -> None:
        """A job was committed: look for work now rather than at the next poll."""
        self._wake.set()

    def start_worker(self) -> None:
        """The dispatcher started with the runner."""

    def recover(self) -> None:
        """At start: jobs of dead workers are taken over (a live worker's never are)."""
        taken = self.executor.recover_stalled()
        if taken:
            log.warning("jobs of stopped workers taken over", count=taken)
        self._wake.set()

    def wait(self, job_id: uuid.UUID, timeout: float | None = None) -> None:
        if self._closed:
            return
        wait_for(self._sessions, job_id, timeout)

    def run(self, job_id: uuid.UUID) -> Claim:
        return self.executor.run(job_id)

    def shutdown(self, *, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
        self._heartbeat.stop()
        self._wake.set()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(timeout=min(IDLE_POLL_S, self.executor.heartbeat_s))
            self._wake.clear()
            if self._closed:
                return
            try:
                self._tick()
            except Exception:
                log.exception("job dispatcher failed; retrying at the next poll")

    def _tick(self) -> None:
        self._fill()

    def _fill(self) -> None:
        with self._lock:
            free = self._slots - len(self._active)
        if free <= 0:
            return
        with transaction(self._sessions) as session:
            candidates = repository.next_candidates(
                session,
                limit=200,
                capped_types=self.executor.capped_types(),
                cap=self.executor.max_concurrent_syncs,
            )
        for job_id in candidates:
            if free <= 0 or self._closed:
                return
            if job_id in self._active:
                continue
            _, context, spec = self.executor.claim(job_id)
            if context is None or spec is None:
                continue
            with self._lock:
                self._active.add(job_id)
            self._pool.submit(self._execute, context, spec)
            free -= 1

    def _execute(self, context: JobContext, spec: JobSpec) -> None:
        try:
            self.executor.execute(context, spec)
        finally:
            with self._lock:
                self._active.discard(context.job_id)
            self._wake.set()
