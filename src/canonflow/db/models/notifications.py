"""Notification destinations (per-tenant webhooks) and the log of every delivery attempt."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from canonflow.crypto import Sealed
from canonflow.db.base import Base, created_at, tenant_fk, updated_at, uuid_pk
from canonflow.db.models import jobs, tenancy  # noqa: F401 (their tables: foreign keys)
from canonflow.db.types import JSONDocument, SealedSecret


class NotificationDestination(Base):
    """A webhook the tenant's events are posted to; `secret` signs them (never sent)."""

    __tablename__ = "notification_destinations"
    __table_args__ = (Index("ix_notification_destinations_tenant", "tenant_id", "position"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    position: Mapped[int] = mapped_column(default=0)
    url: Mapped[str] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(20))  # generic | slack
    secret: Mapped[Sealed | None] = mapped_column(SealedSecret)
    #: the event names it receives (`canonflow.notifications.catalog.EVENTS`)
    events: Mapped[list[str]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class NotificationDelivery(Base):
    """One attempt to post one event batch to one destination."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        # the delivery log: a tenant's newest first (keyset on created_at, id)
        Index("ix_notification_deliveries_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    destination_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("notification_destinations.id", ondelete="SET NULL")
    )
    #: the destination's URL when the attempt was made (the destination may be replaced)
    url: Mapped[str] = mapped_column(String(2000))
    event: Mapped[str] = mapped_column(String(50))
    #: the event batch's id: the `id` of the body and the `X-Canonflow-Delivery` header
    event_id: Mapped[uuid.UUID]
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("background_jobs.id", ondelete="SET NULL")
    )
    attempt: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))  # delivered | retrying | failed
    http_status: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    #: sha256 of the body sent (the body itself stays out of the log)
    body_sha256: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime] = created_at()
    delivered_at: Mapped[datetime | None]
