"""`emit`: the one call other features make. It runs in the caller's transaction: it stores
the event batch (as the delivery job's params) and queues ONE delivery job, or does nothing
(one query) when no destination of the tenant takes the event. Never any HTTP here."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow.db.models import NotificationDestination
from canonflow.db.types import utcnow
from canonflow.jobs import service as jobs
from canonflow.jobs.registry import JobRegistry
from canonflow.jobs.spec import Origin
from canonflow.notifications.catalog import EVENTS, TEST

NOTIFY_DELIVER = "notifications.deliver"


def emit(
    session: Session,
    registry: JobRegistry,
    tenant_id: uuid.UUID,
    event: str,
    payload: dict[str, Any],
) -> None:
    """Queue one delivery of `event` (`payload` is its `data`, JSON-able, no secrets) to
    every destination of the tenant subscribed to it. Flushes; the caller commits."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    destinations = subscribed(session, tenant_id, event)
    if destinations:
        queue_delivery(session, registry, tenant_id, event, payload, destinations)


def subscribed(session: Session, tenant_id: uuid.UUID, event: str) -> list[uuid.UUID]:
    """The tenant's destinations that take `event` (the JSON list is read in Python: a
    tenant has a handful of destinations)."""
    rows = session.execute(
        select(NotificationDestination.id, NotificationDestination.events)
        .where(NotificationDestination.tenant_id == tenant_id)
        .order_by(NotificationDestination.position)
    )
    return [row.id for row in rows if event == TEST or event in (row.events or [])]


def listened(session: Session, tenant_id: uuid.UUID) -> set[str]:
    """Every event some destination of the tenant takes (one query)."""
    rows = session.scalars(
        select(NotificationDestination.events).where(NotificationDestination.tenant_id == tenant_id)
    )
    return {event for names in rows for event in (names or [])}


def queue_delivery(
    session: Session,
    registry: JobRegistry,
    tenant_id: uuid.UUID,
    event: str,
    payload: dict[str, Any],
    destination_ids: list[uuid.UUID],
    *,
    origin: Origin = Origin.SCHEDULED,
) -> uuid.UUID:
    """Queue the delivery job of one event batch; returns the job's id."""
    params = {
        "event_id": str(uuid.uuid4()),
        "event": event,
        "occurred_at": utcnow().isoformat(),
        "destination_ids": [str(i) for i in destination_ids],
        "data": orjson.loads(orjson.dumps(payload, default=str)),  # UUIDs, datetimes: text
    }
    job = jobs.enqueue(
        session, registry, tenant_id=tenant_id, job_type=NOTIFY_DELIVER, params=params,
        origin=origin,
    )  # fmt: skip
    return job.id
