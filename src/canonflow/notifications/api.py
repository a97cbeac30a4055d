"""`/api/v1/notifications`: webhook destinations, a test send, and the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from canonflow.api.deps import Admin, RuntimeDep, SessionDep, Viewer
from canonflow.api.pagination import decode_cursor, encode_cursor
from canonflow.core.enums import JobStatus
from canonflow.errors import Invalid
from canonflow.jobs.schemas import JobAccepted
from canonflow.notifications import service
from canonflow.notifications.catalog import EVENTS, TEST
from canonflow.notifications.schemas import (
    DeliveryPage,
    DeliveryRead,
    DeliveryStatus,
    NotificationsPut,
    NotificationsRead,
    TestRequest,
)

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


@router.get("", response_model=NotificationsRead)
def get_notifications(session: SessionDep, principal: Viewer) -> NotificationsRead:
    """The tenant's destinations (`has_secret`, never the secret) and every event name."""
    destinations = service.list_destinations(session, principal.tenant_id)
    return NotificationsRead(destinations=[service.read(d) for d in destinations])


@router.put("", response_model=NotificationsRead)
def put_notifications(
    data: NotificationsPut, session: SessionDep, runtime: RuntimeDep, principal: Admin
) -> NotificationsRead:
    """Replace the destinations. Send an existing destination's `id` without `secret` to
    keep its stored secret; a destination left out is removed."""
    destinations = service.put(session, runtime.secrets, principal, data)
    return NotificationsRead(destinations=[service.read(d) for d in destinations])


@router.post("/test", response_model=JobAccepted, status_code=status.HTTP_202_ACCEPTED)
def send_test(
    session: SessionDep, runtime: RuntimeDep, principal: Admin, data: TestRequest | None = None
) -> JobAccepted:
    """Send a `test` event to one destination (or all) through the delivery job."""
    destination_id = data.destination_id if data is not None else None
    job_id = service.send_test(session, runtime.jobs, principal, destination_id)
    return JobAccepted(job_id=job_id, status=JobStatus.QUEUED, url=f"/api/v1/jobs/{job_id}")


@router.get("/deliveries", response_model=DeliveryPage)
def list_deliveries(
    session: SessionDep,
    principal: Viewer,
    destination_id: uuid.UUID | None = None,
    event: Annotated[str | None, Query(max_length=50)] = None,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> DeliveryPage:
    """Every delivery attempt, newest first (keyset-paged by `next_cursor`)."""
    if event is not None and event not in (*EVENTS, TEST):
        raise Invalid(f"event: unknown event {event!r}; known: {[*EVENTS, TEST]}")
    rows = service.deliveries_page(
        session, principal.tenant_id, limit=limit + 1, after=_after(cursor),
        destination_id=destination_id, event=event, status=status,
    )  # fmt: skip
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)])
    return DeliveryPage(
        deliveries=[DeliveryRead.model_validate(r) for r in rows], next_cursor=next_cursor
    )


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        created_at, row_id = decode_cursor(cursor)
        return datetime.fromisoformat(created_at), uuid.UUID(row_id)
    except (TypeError, ValueError):
        raise Invalid("invalid cursor: pass back the next_cursor of a previous page") from None
