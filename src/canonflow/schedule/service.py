"""The scheduler tick: enqueue the syncs that are due, oldest first, a bounded batch.

One tick runs at a time across every process (a lease of no tenant; a tick that finds it
held is skipped). A tenant with `max_concurrent_syncs` syncs queued or running gets no more
until some finish: its due rows stay due and, being the oldest, go first next time.
A row whose sync is already queued or running (someone clicked "sync now") counts as synced
for this slot. Each enqueued or covered row moves to its next slot `k * interval + phase`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from canonflow.config import Settings
from canonflow.core.schedule import next_due_for
from canonflow.db.engine import transaction
from canonflow.db.leases import release, try_acquire
from canonflow.db.models import Environment, GitRepository
from canonflow.jobs.registry import JobRegistry
from canonflow.schedule import enqueue
from canonflow.schedule import repository as schedule_repository
from canonflow.schedule.repository import ActiveSyncs, Due

TICK_LEASE = "scheduler.tick"
_SCAN_FACTOR = 10  # due rows read per tick: this many times the batch (capped tenants skip)
_FIRST_SLOTS = 20_000  # rows given their first due time per tick (all of them, after 0010)


@dataclass
class TickResult:
    ran: bool  # False: another tick held the lease, this one did nothing
    enqueued: list[tuple[Due, uuid.UUID]] = field(default_factory=list)  # (row, job id)
    capped: int = 0  # due rows left for later: their tenant is at its cap
    covered: int = 0  # due rows whose sync was already queued or running
    first_scheduled: int = 0  # rows given their first due time


def tick(
    sessions: sessionmaker[Session], settings: Settings, registry: JobRegistry, *, now: datetime
) -> TickResult:
    """One tick; the jobs it enqueues start once its transaction commits."""
    ttl = timedelta(seconds=max(60.0, settings.scheduler_tick_s * 4))
    lease = try_acquire(sessions, name=TICK_LEASE, tenant_id=None, ttl=ttl)
    if lease is None:
        return TickResult(ran=False)
    try:
        with transaction(sessions) as session:
            lease.hold_in(session)
            return _tick(session, settings, registry, now)
    finally:
        release(lease)


def _tick(session: Session, settings: Settings, registry: JobRegistry, now: datetime) -> TickResult:
    result = TickResult(ran=True)
    for model in (Environment, GitRepository):
        result.first_scheduled += _schedule_new(session, model, now, _FIRST_SLOTS)
    scan = settings.scheduler_batch * _SCAN_FACTOR
    candidates = sorted(
        schedule_repository.due(session, Environment, now, scan)
        + schedule_repository.due(session, GitRepository, now, scan),
        key=lambda row: (row.due_at, row.id),
    )
    active = schedule_repository.active_syncs(session, (row.tenant_id for row in candidates))
    chosen, advanced = _choose(candidates, active, settings, result)
    answers = enqueue.enqueue(
        session,
        registry,
        [enqueue.scheduled_job(_kind(row), row.tenant_id, row.id) for row in chosen],
    )
    for row, (job, created) in zip(chosen, answers, strict=True):
        if created:
            result.enqueued.append((row, job.id))
        else:  # a "sync now" queued it since `active_syncs` read: it serves this slot
            result.covered += 1
    for model in (Environment, GitRepository):
        schedule_repository.set_next_many(
            session,
            model,
            [(r.id, next_due_for(r.id, now, r.interval_s)) for r in advanced if r.model is model],
        )
    return result


def _choose(
    candidates: list[Due], active: ActiveSyncs, settings: Settings, result: TickResult
) -> tuple[list[Due], list[Due]]:
    """(rows to enqueue, rows to move to their next slot): those enqueued and those whose
    sync is already queued or running; a capped tenant's rows stay due, being the oldest
    they go first once one of its syncs ends."""
    chosen: list[Due] = []
    advanced: list[Due] = []
    for row in candidates:
        if len(chosen) >= settings.scheduler_batch:
            break
        if _already_active(active, row):
            result.covered += 1
            advanced.append(row)
        elif active.per_tenant.get(row.tenant_id, 0) >= settings.max_concurrent_syncs:
            result.capped += 1
        else:
            _count(active, row)
            chosen.append(row)
            advanced.append(row)
    return chosen, advanced


def _kind(row: Due) -> str:
    return "environment" if row.model is Environment else "repository"


def _count(active: ActiveSyncs, row: Due) -> None:
    active.per_tenant[row.tenant_id] = active.per_tenant.get(row.tenant_id, 0) + 1
    if row.model is Environment:
        active.environments.add(str(row.id))
    else:
        active.repositories.add(row.tenant_id)


def _already_active(active: ActiveSyncs, row: Due) -> bool:
    if row.model is Environment:
        return str(row.id) in active.environments
    return row.tenant_id in active.repositories


def _schedule_new(
    session: Session, model: schedule_repository.Scheduled, now: datetime, limit: int
) -> int:
    rows = schedule_repository.unscheduled(session, model, limit)
    schedule_repository.set_next_many(
        session, model, [(row_id, next_due_for(row_id, now, interval)) for row_id, interval in rows]
    )
    return len(rows)
