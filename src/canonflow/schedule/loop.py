"""Who runs the scheduler tick, every `scheduler_tick_s`.

- SQLite (the in-process runner): the loop `serve` runs in its lifespan. Ticks run one
  after another in a worker thread (never two at once in this process).
- PostgreSQL (procrastinate): no loop; `periodic_tick` is a procrastinate periodic job that
  every worker process registers (`canonflow worker`, serve's embedded worker), and
  procrastinate defers one per period across all of them.

Either way the tick's lease keeps ticks of different processes apart, and a tick that
fails is logged and the next one runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from sqlalchemy.orm import Session, sessionmaker

from canonflow.config import Settings
from canonflow.core.schedule import tick_cron
from canonflow.db.types import utcnow
from canonflow.jobs.distributed import PeriodicJob
from canonflow.jobs.registry import JobRegistry
from canonflow.schedule.service import TickResult, tick

log = structlog.get_logger(__name__)
TICK_JOB = "scheduler.tick"


def run_tick(
    sessions: sessionmaker[Session], settings: Settings, registry: JobRegistry
) -> TickResult:
    """One tick now, logged when it enqueued something."""
    result = tick(sessions, settings, registry, now=utcnow())
    if result.enqueued:
        log.info("scheduler.tick", enqueued=len(result.enqueued), capped=result.capped)
    return result


def periodic_tick(
    sessions: sessionmaker[Session], settings: Settings, registry: JobRegistry
) -> PeriodicJob:
    """The tick as procrastinate's periodic job (PostgreSQL)."""

    def run() -> None:
        run_tick(sessions, settings, registry)

    return PeriodicJob(TICK_JOB, tick_cron(settings.scheduler_tick_s), run)


async def run_scheduler(
    sessions: sessionmaker[Session],
    settings: Settings,
    registry: JobRegistry,
    stop: asyncio.Event,
) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(run_tick, sessions, settings, registry)
        except Exception:  # a failed tick must not end the loop
            log.exception("scheduler.tick_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.scheduler_tick_s)


@contextlib.asynccontextmanager
async def scheduler_running(
    sessions: sessionmaker[Session], settings: Settings, registry: JobRegistry
) -> AsyncIterator[None]:
    """Run the loop for the block; on leaving, wait for the tick in progress to end."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduler(sessions, settings, registry, stop))
    try:
        yield
    finally:
        stop.set()
        await task
