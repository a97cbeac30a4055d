"""The scheduler loop `serve` runs in its lifespan: a tick every `scheduler_tick_s`.

Ticks run one after another in a worker thread (never two at once in this process; the
tick's lease keeps other processes' ticks apart too). A tick that fails is logged and the
loop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from sqlalchemy.orm import Session, sessionmaker

from canonflow.config import Settings
from canonflow.db.types import utcnow
from canonflow.jobs.registry import JobRegistry
from canonflow.schedule.service import tick

log = structlog.get_logger(__name__)


async def run_scheduler(
    sessions: sessionmaker[Session],
    settings: Settings,
    registry: JobRegistry,
    stop: asyncio.Event,
) -> None:
    while not stop.is_set():
        try:
            result = await asyncio.to_thread(tick, sessions, settings, registry, now=utcnow())
            if result.enqueued:
                log.info("scheduler.tick", enqueued=len(result.enqueued), capped=result.capped)
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
