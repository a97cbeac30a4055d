"""Notification flows: read and replace a tenant's destinations, send a test, read the
delivery log. Services flush; the caller commits. Every write is audited."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

from canonflow import audit
from canonflow.crypto import SecretBox
from canonflow.db.models import NotificationDelivery, NotificationDestination
from canonflow.egress import entry as egress_entry
from canonflow.egress.policy import origin
from canonflow.errors import Invalid, NotFound
from canonflow.jobs.registry import JobRegistry
from canonflow.jobs.spec import Origin
from canonflow.notifications import events
from canonflow.notifications.catalog import TEST
from canonflow.notifications.schemas import DestinationPut, DestinationRead, NotificationsPut
from canonflow.tenancy.service import Principal


def list_destinations(session: Session, tenant_id: uuid.UUID) -> list[NotificationDestination]:
    return list(
        session.scalars(
            select(NotificationDestination)
            .where(NotificationDestination.tenant_id == tenant_id)
            .order_by(NotificationDestination.position, NotificationDestination.id)
        )
    )


def read(destination: NotificationDestination) -> DestinationRead:
    return DestinationRead(
        id=destination.id,
        url=destination.url,
        kind=destination.kind,
        events=list(destination.events),
        has_secret=destination.secret is not None,
        created_at=destination.created_at,
        updated_at=destination.updated_at,
    )


def put(
    session: Session, secrets: SecretBox, principal: Principal, data: NotificationsPut
) -> list[NotificationDestination]:
    """Replace the tenant's destinations with `data`'s (see `DestinationPut` for `id`)."""
    existing = {d.id: d for d in list_destinations(session, principal.tenant_id)}
    for index, item in enumerate(data.destinations):
        _check(index, item, existing)
    ids = [item.id for item in data.destinations if item.id is not None]
    if len(ids) != len(set(ids)):
        raise Invalid("destinations: an id appears twice")
    kept = set(ids)
    _remove(session, principal.tenant_id, [i for i in existing if i not in kept])
    result = []
    for position, item in enumerate(data.destinations):
        destination = existing.get(item.id) if item.id else None
        if destination is None:
            destination = NotificationDestination(tenant_id=principal.tenant_id)
            session.add(destination)
        destination.position, destination.url = position, item.url
        destination.kind, destination.events = item.kind, list(item.events)
        if item.secret is not None:
            destination.secret = secrets.seal(item.secret.get_secret_value())
        result.append(destination)
    session.flush()
    audit.record_by(
        session, principal, action="notifications.put", target_type="notification_destinations",
        details={"destinations": [_audited(d, data.destinations[i]) for i, d in enumerate(result)],
                 "removed": [str(i) for i in existing if i not in kept]},
    )  # fmt: skip
    return result


def _check(
    index: int, item: DestinationPut, existing: dict[uuid.UUID, NotificationDestination]
) -> None:
    field = f"destinations[{index}]"
    egress_entry.check_http_url(f"{field}.url", item.url)
    if item.id is None:
        return
    old = existing.get(item.id)
    if old is None:
        raise NotFound(f"{field}.id: no notification destination {item.id}")
    egress_entry.require_secret_for_new_origin(
        field=f"{field}.url", old=old.url, new=item.url, resend=f"{field}.secret",
        has_stored=old.secret is not None, sent=item.secret is not None,
    )  # fmt: skip


def _remove(session: Session, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
    if not ids:
        return
    session.execute(  # the log keeps its rows (and their URL) without the destination
        update(NotificationDelivery)
        .where(NotificationDelivery.tenant_id == tenant_id)
        .where(NotificationDelivery.destination_id.in_(ids))
        .values(destination_id=None)
    )
    for destination in session.scalars(
        select(NotificationDestination).where(
            NotificationDestination.tenant_id == tenant_id, NotificationDestination.id.in_(ids)
        )
    ):
        session.delete(destination)
    session.flush()


def _audited(destination: NotificationDestination, item: DestinationPut) -> dict[str, object]:
    host = origin(destination.url)
    return {
        "id": str(destination.id),
        "kind": destination.kind,
        "events": list(destination.events),
        "host": host[1] if host else None,  # not the URL: a Slack webhook's path is a key
        "secret": "set" if item.secret is not None else ("kept" if destination.secret else None),
    }


def send_test(
    session: Session,
    registry: JobRegistry,
    principal: Principal,
    destination_id: uuid.UUID | None,
) -> uuid.UUID:
    """Queue a `test` event to one destination (or all) through the delivery job."""
    destinations = list_destinations(session, principal.tenant_id)
    if destination_id is not None:
        destinations = [d for d in destinations if d.id == destination_id]
        if not destinations:
            raise NotFound(f"no notification destination {destination_id}")
    if not destinations:
        raise Invalid("no notification destination to test: PUT /api/v1/notifications first")
    payload = {"message": "a test notification from canonflow", "requested_by": principal.name}
    job_id = events.queue_delivery(
        session, registry, principal.tenant_id, TEST, payload, [d.id for d in destinations],
        origin=Origin.INTERACTIVE,
    )  # fmt: skip
    audit.record_by(
        session, principal, action="notifications.test", target_type="background_job",
        target_id=str(job_id), details={"destinations": [str(d.id) for d in destinations]},
    )  # fmt: skip
    return job_id


def deliveries_page(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
    destination_id: uuid.UUID | None = None,
    event: str | None = None,
    status: str | None = None,
) -> list[NotificationDelivery]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = select(NotificationDelivery).where(NotificationDelivery.tenant_id == tenant_id)
    if destination_id is not None:
        query = query.where(NotificationDelivery.destination_id == destination_id)
    if event is not None:
        query = query.where(NotificationDelivery.event == event)
    if status is not None:
        query = query.where(NotificationDelivery.status == status)
    if after is not None:
        query = query.where(
            tuple_(NotificationDelivery.created_at, NotificationDelivery.id) < after
        )
    query = query.order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id.desc())
    return list(session.scalars(query.limit(limit)))
