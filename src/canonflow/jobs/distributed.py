"""The PostgreSQL engine: procrastinate workers run `background_jobs` rows.

- Deferring: `procrastinate_defer_jobs_v1` is called on the request's own connection, in its
  transaction, so the procrastinate job exists exactly when its row does (a rollback
  removes both; NOTIFY fires at commit). Calling the SQL function needs no open App, so a
  process that also runs a worker never meets the sync-on-async connector pitfall.
- The queue, the priority (interactive > scheduled) and the lock key go to procrastinate;
  the queueing key stays our table's partial unique index (procrastinate's queueing lock
  would refuse a job that a stalled-job takeover moves back to waiting beside a newer one).
- The tenant's sync cap is checked when a worker claims the row; a job at the cap is
  deferred again a moment later, so it holds no worker slot while it waits.
- Periodic jobs (the scheduler's tick): handed in by the runtime, so this package need not
  know the scheduler. Every worker's procrastinate deferrer defers them; its
  `procrastinate_periodic_defers` row per (task, timestamp) makes one job per period across
  all workers. They go to the `periodic` queue ahead of other work, and only one waits at a
  time (a queueing lock; no procrastinate lock, which a killed worker would hold forever).
- Stalled jobs: a worker beats its running rows; any worker takes over the rows of one that
  stopped (`JobExecutor.recover_stalled`), failing the dead worker's procrastinate job so its
  lock is released, and deferring a new one when the row is run again.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from sqlalchemy import text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob
from canonflow.db.types import utcnow
from canonflow.jobs import repository
from canonflow.jobs.executor import Heartbeat, JobExecutor
from canonflow.jobs.repository import Claim
from canonflow.jobs.runner import wait_for

if TYPE_CHECKING:
    from procrastinate import App

log = structlog.get_logger(__name__)
TASK_NAME = "canonflow.run_job"
PERIODIC_QUEUE = "periodic"
PERIODIC_PRIORITY = 100  # ahead of interactive (10) and scheduled (0) jobs
BUSY_RETRY_S = 1.0
FETCH_POLL_S = 1.0
_DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, :priority, :lock, "
    "NULL, CAST(:args AS jsonb), CAST(:at AS timestamptz))]::procrastinate_job_to_defer_v1[]))"
)
#: a batch in one call, from parallel arrays (one statement whatever the batch's size)
_DEFER_MANY = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY("
    "SELECT ROW(t.queue, :task, t.priority, t.lock, NULL, CAST(t.args AS jsonb), NULL)"
    "::procrastinate_job_to_defer_v1 "
    "FROM unnest(CAST(:queues AS text[]), CAST(:priorities AS integer[]), "
    "CAST(:locks AS text[]), CAST(:args AS text[])) WITH ORDINALITY AS t(queue, priority, lock, "
    "args, n) ORDER BY t.n)))"
)
#: procrastinate does not promise its ids in the input's order: pair them by the args
_FILL_ENGINE_IDS = text(
    "UPDATE background_jobs AS b SET engine_job_id = p.id FROM procrastinate_jobs AS p "
    "WHERE p.id = ANY(CAST(:ids AS bigint[])) AND b.id = CAST(p.args ->> 'job_id' AS uuid) "
    "RETURNING b.id, p.id"
)


def libpq_dsn(database_url: str) -> str:
    """procrastinate's psycopg pool wants a libpq URI, not SQLAlchemy's `+psycopg` URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


class ProcrastinateEngine:
    """Defers rows to procrastinate inside the caller's transaction."""

    def __init__(self) -> None:
        #: called on each defer: the runtime's embedded worker starts with the first job
        self.on_defer: Callable[[], None] | None = None

    def defer(self, session: Session, job: BackgroundJob) -> None:
        job.engine_job_id = self._defer(session, job)
        session.flush()
        if self.on_defer is not None:
            self.on_defer()

    def defer_many(self, session: Session, jobs: Sequence[BackgroundJob]) -> None:
        """One `procrastinate_defer_jobs_v1` call for the batch, then one UPDATE that fills
        each row's `engine_job_id`: two statements whatever the batch's size."""
        if not jobs:
            return
        engine_ids = session.scalars(
            _DEFER_MANY,
            {
                "task": TASK_NAME,
                "queues": [job.queue for job in jobs],
                "priorities": [job.priority for job in jobs],
                "locks": [job.lock_key for job in jobs],
                "args": [orjson.dumps({"job_id": str(job.id)}).decode() for job in jobs],
            },
        ).all()
        rows = session.execute(_FILL_ENGINE_IDS, {"ids": list(engine_ids)})
        filled: dict[uuid.UUID, int] = {row[0]: row[1] for row in rows}
        for job in jobs:
            set_committed_value(job, "engine_job_id", filled[job.id])
        if self.on_defer is not None:
            self.on_defer()

    def promote(self, session: Session, job: BackgroundJob) -> None:
        session.execute(
            text(
                "UPDATE procrastinate_jobs SET priority = :priority, queue_name = :queue "
                "WHERE id = :id AND status = 'todo'"
            ),
            {"priority": job.priority, "queue": job.queue, "id": job.engine_job_id},
        )

    def defer_again(self, session: Session, job_id: uuid.UUID, *, delay_s: float) -> None:
        job = session.get(BackgroundJob, job_id, populate_existing=True)
        if job is None:
            return
        engine_id = self._defer(session, job, at=utcnow() + timedelta(seconds=delay_s))
        session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id)
            .values(engine_job_id=engine_id)
            .execution_options(synchronize_session=False)
        )
        if self.on_defer is not None:
            self.on_defer()

    def taken_over(self, session: Session, job: BackgroundJob, requeued: bool) -> None:
        """A dead worker's job: release its procrastinate job (and its lock)."""
        if job.engine_job_id is not None:
            session.execute(
                text(
                    "UPDATE procrastinate_jobs SET status = 'failed' "
                    "WHERE id = :id AND status IN ('todo', 'doing')"
                ),
                {"id": job.engine_job_id},
            )
        if requeued:
            self.defer_again(session, job.id, delay_s=0)

    def _defer(self, session: Session, job: BackgroundJob, *, at: Any = None) -> int:
        return int(
            session.execute(
                _DEFER,
                {
                    "queue": job.queue,
                    "task": TASK_NAME,
                    "priority": job.priority,
                    "lock": job.lock_key,
                    "args": orjson.dumps({"job_id": str(job.id)}).decode(),
                    "at": at,
                },
            ).scalar_one()
        )


@dataclass(frozen=True)
class PeriodicJob:
    """Work every worker schedules with a cron expression (croniter's, seconds as a 6th
    field); `run` must not raise for long: a failure is logged and the next period runs."""

    name: str
    cron: str
    run: Callable[[], None]


def build_app(
    executor: JobExecutor,
    engine: ProcrastinateEngine,
    dsn: str,
    pool_size: int,
    periodic: Sequence[PeriodicJob] = (),
) -> Any:
    """A procrastinate App whose task runs a `background_jobs` row by id, plus one task
    per periodic job."""
    from procrastinate import App, PsycopgConnector

    app = App(connector=PsycopgConnector(conninfo=dsn, min_size=1, max_size=pool_size))
    for job in periodic:
        _register_periodic(app, job, executor.worker_id)

    @app.task(name=TASK_NAME)
    def run_job(job_id: str) -> None:
        row = uuid.UUID(job_id)
        if executor.run(row) is Claim.BUSY:  # lock held or tenant at its cap: wait a moment
            with transaction(executor.sessions) as session:
                engine.defer_again(session, row, delay_s=BUSY_RETRY_S)

    return app


def _register_periodic(app: App, job: PeriodicJob, worker_id: str) -> None:
    name = f"canonflow.periodic.{job.name}"

    @app.periodic(cron=job.cron, periodic_id=job.name)
    @app.task(name=name, queue=PERIODIC_QUEUE, priority=PERIODIC_PRIORITY, queueing_lock=name)
    def run_periodic(timestamp: int) -> None:
        log.debug("periodic job ran", periodic=job.name, period_at=timestamp, worker=worker_id)
        try:
            job.run()
        except Exception:  # the next period tries again
            log.exception("periodic job failed", periodic=job.name, period_at=timestamp)


def worker_options(
    executor: JobExecutor, concurrency: int, queues: list[str] | None
) -> dict[str, Any]:
    return {
        "queues": queues,
        "concurrency": concurrency,
        "fetch_job_polling_interval": FETCH_POLL_S,
        "update_heartbeat_interval": executor.heartbeat_s,
        "stalled_worker_timeout": executor.stalled_cutoff_s(),
        # our `background_jobs` row is the record: procrastinate's finished rows would only
        # pile up (a job at its tenant's cap is deferred again every second while it waits)
        "delete_jobs": "successful",
    }


class ProcrastinateRunner:
    """The runtime's runner on PostgreSQL; with `embedded`, a worker in a thread of this
    process (its own App and event loop), as `serve` runs for a one-machine install. It
    starts with `start_worker()` (serve, once migrated) or with the first job this process
    defers (a CLI command that waits for its job; tests), not before."""

    def __init__(
        self,
        executor: JobExecutor,
        engine: ProcrastinateEngine,
        dsn: str,
        *,
        concurrency: int,
        embedded: bool,
        periodic: Sequence[PeriodicJob] = (),
    ) -> None:
        self.executor = executor
        #: run by this process's workers (the embedded one, or `canonflow worker`'s)
        self.periodic = tuple(periodic)
        self._engine = engine
        self._dsn = dsn
        self._concurrency = concurrency
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._heartbeat: Heartbeat | None = None
        self._embedded = embedded
        self._ready = threading.Event()
        self._start_lock = threading.Lock()
        self._closed = False
        if embedded:
            engine.on_defer = self._start_in_background

    def start_worker(self) -> None:
        """Start the embedded worker (if configured) and wait until it listens."""
        self._start_in_background()
        if self._thread is not None:
            self._ready.wait(timeout=30)

    def _start_in_background(self) -> None:
        with self._start_lock:
            if not self._embedded or self._closed or self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._serve, args=(self._ready,), name="canonflow-worker", daemon=True
            )
            self._thread.start()
            self._heartbeat = Heartbeat(self.executor).start()

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = build_app(
            self.executor, self._engine, self._dsn, self._concurrency + 2, self.periodic
        )
        options = worker_options(self.executor, self._concurrency, None)

        async def work() -> None:
            async with app.open_async():
                self._task = asyncio.current_task()
                ready.set()
                await app.run_worker_async(install_signal_handlers=False, **options)

        try:
            loop.run_until_complete(work())
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("embedded job worker stopped")
        finally:
            ready.set()
            loop.close()

    @property
    def worker_running(self) -> bool:
        """The embedded worker's thread is alive (it listens once `start_worker` returns)."""
        return self._thread is not None and self._thread.is_alive()

    def dispatch(self, job_id: uuid.UUID) -> None:
        """Deferred in the enqueueing transaction already; workers hear of it at commit."""

    def recover(self) -> None:
        """At start: take over dead workers' jobs; defer queued rows that have no
        procrastinate job (queued before the engine existed). A second process doing the
        same meanwhile only adds a job whose claim finds the row taken."""
        self.executor.recover_stalled()
        with transaction(self.executor.sessions) as session:
            for job_id in repository.queued_without_engine_job(session):
                self._engine.defer_again(session, job_id, delay_s=0)

    def wait(self, job_id: uuid.UUID, timeout: float | None = None) -> None:
        if self._closed:
            return
        wait_for(self.executor.sessions, job_id, timeout)

    def run(self, job_id: uuid.UUID) -> Claim:
        return self.executor.run(job_id)

    def shutdown(self, *, wait: bool = True) -> None:
        with self._start_lock:
            self._closed = True
        if self._thread is not None:
            self._ready.wait(timeout=30)  # its task exists once it listens
        if self._heartbeat is not None:
            self._heartbeat.stop()
        if self._loop is not None and self._task is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join(timeout=60 if wait else 5)
        self._thread = None
