"""The scheduler's queries. They span tenants (the tick serves every tenant) and say so;
each row they return carries its tenant, and every write goes to that row alone."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, select, update
from sqlalchemy.orm import Session

from canonflow.core.enums import JobStatus
from canonflow.db.models import BackgroundJob, Environment, GitRepository
from canonflow.schedule.enqueue import SYNC_JOB_TYPES

Scheduled = type[Environment] | type[GitRepository]


@dataclass(frozen=True, slots=True)
class Due:
    """One environment or repository whose sync is due."""

    model: Scheduled
    id: uuid.UUID
    tenant_id: uuid.UUID
    interval_s: int
    due_at: datetime


def _active(model: Scheduled) -> ColumnElement[bool]:
    return and_(model.paused.is_(False), model.sync_interval_s > 0)


def unscheduled(session: Session, model: Scheduled, limit: int) -> list[tuple[uuid.UUID, int]]:
    """Active rows that have no due time yet (new, resumed, or from before schedules)."""
    rows = session.execute(
        select(model.id, model.sync_interval_s)
        .where(model.next_sync_at.is_(None), _active(model))
        .limit(limit)
    )
    return [(row.id, row.sync_interval_s) for row in rows]


def due(session: Session, model: Scheduled, now: datetime, limit: int) -> list[Due]:
    """Due rows, oldest due time first."""
    rows = session.execute(
        select(model.id, model.tenant_id, model.sync_interval_s, model.next_sync_at)
        .where(model.next_sync_at <= now, _active(model))
        .order_by(model.next_sync_at, model.id)
        .limit(limit)
    )
    return [Due(model, r.id, r.tenant_id, r.sync_interval_s, r.next_sync_at) for r in rows]


@dataclass
class ActiveSyncs:
    """Syncs queued or running, per tenant, and which environments and repositories."""

    per_tenant: dict[uuid.UUID, int]
    environments: set[str]
    repositories: set[uuid.UUID]  # tenants with a repo sync


def active_syncs(session: Session, tenant_ids: Iterable[uuid.UUID]) -> ActiveSyncs:
    found = ActiveSyncs(per_tenant={}, environments=set(), repositories=set())
    tenants = list(set(tenant_ids))
    if not tenants:
        return found
    rows = session.execute(
        select(BackgroundJob.tenant_id, BackgroundJob.type, BackgroundJob.params).where(
            BackgroundJob.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
            BackgroundJob.type.in_(SYNC_JOB_TYPES),
            BackgroundJob.tenant_id.in_(tenants),
        )
    )
    for tenant_id, job_type, params in rows:
        found.per_tenant[tenant_id] = found.per_tenant.get(tenant_id, 0) + 1
        if job_type == SYNC_JOB_TYPES[0]:
            found.environments.add(str(params.get("environment_id")))
        else:
            found.repositories.add(tenant_id)
    return found


def set_next_many(
    session: Session, model: Scheduled, values: Sequence[tuple[uuid.UUID, datetime]]
) -> None:
    """Due times for many rows, in one executemany. A due time is the scheduler's state,
    not a change of configuration: `updated_at` stays as it was."""
    if not values:
        return
    table = cast(Table, model.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(next_sync_at=bindparam("at"), updated_at=table.c.updated_at)
    )
    session.connection().execute(statement, [{"row_id": i, "at": at} for i, at in values])
