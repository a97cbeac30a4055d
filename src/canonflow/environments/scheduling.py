"""Schedules of environments (and, through the same helpers, of the tenant's repository):
the interval rule, the next due time after a change, and each environment's last sync."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canonflow.core.enums import SyncKind
from canonflow.core.schedule import next_due_for
from canonflow.db.models import SyncRun
from canonflow.db.types import utcnow
from canonflow.environments.schemas import LastSync
from canonflow.errors import Invalid

MAX_INTERVAL_S = 7 * 24 * 3600


def check_interval(interval_s: int, minimum_s: int) -> None:
    """0 (manual only) or between the operator's minimum and a week."""
    if interval_s == 0:
        return
    if interval_s < minimum_s:
        raise Invalid(
            f"sync_interval_s {interval_s} is below the smallest accepted interval, "
            f"{minimum_s} s (CANONFLOW_MIN_SYNC_INTERVAL_S); use 0 for manual syncs only",
            details={"setting": "CANONFLOW_MIN_SYNC_INTERVAL_S", "minimum": minimum_s},
        )
    if interval_s > MAX_INTERVAL_S:
        raise Invalid(f"sync_interval_s {interval_s} is above a week ({MAX_INTERVAL_S} s)")


def next_slot(
    row_id: uuid.UUID, interval_s: int, paused: bool, now: datetime | None = None
) -> datetime | None:
    """When a row with this schedule is next due: its first slot after now, or none when it
    is paused or manual only."""
    if paused or interval_s == 0:
        return None
    return next_due_for(row_id, now or utcnow(), interval_s)


def last_syncs(
    session: Session, tenant_id: uuid.UUID, environment_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, LastSync]:
    """The latest sync run of each environment (queued syncs have no run yet)."""
    ids = list(environment_ids)
    if not ids:
        return {}
    ranked = (
        select(
            SyncRun,
            func.row_number()
            .over(partition_by=SyncRun.environment_id, order_by=SyncRun.started_at.desc())
            .label("rank"),
        )
        .where(
            SyncRun.tenant_id == tenant_id,
            SyncRun.kind == SyncKind.ENVIRONMENT,
            SyncRun.environment_id.in_(ids),
        )
        .subquery()
    )
    latest = select(ranked).where(ranked.c.rank == 1)
    found = {}
    for row in session.execute(latest):
        found[row.environment_id] = LastSync(
            at=row.finished_at or row.started_at,
            outcome=_outcome(row.finished_at, row.error, row.complete),
            duration_s=None if row.duration_ms is None else row.duration_ms / 1000,
            job_id=row.job_id,
        )
    return found


def _outcome(finished_at: datetime | None, error: str | None, complete: bool) -> str:
    if finished_at is None:
        return "running"
    if error:
        return "failed"
    return "succeeded" if complete else "incomplete"
