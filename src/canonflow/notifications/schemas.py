"""Notification representations for the API and the CLI."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from canonflow.notifications.catalog import EVENTS

Kind = Literal["generic", "slack"]
DeliveryStatus = Literal["delivered", "retrying", "failed"]


class DestinationPut(BaseModel):
    """One destination. `id` names an existing one to keep its stored secret without
    sending it again (omit `secret`); a new `secret` replaces it. Without `id`, a new
    destination. A URL moved to another host needs its secret sent again."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = None
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    kind: Kind = "generic"
    secret: Annotated[SecretStr | None, Field(description="HMAC key; never returned")] = None
    events: Annotated[list[str], Field(min_length=1, max_length=len(EVENTS))]

    @field_validator("events")
    @classmethod
    def _known_events(cls, events: list[str]) -> list[str]:
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            raise ValueError(f"unknown event(s) {unknown}; known: {list(EVENTS)}")
        return sorted(set(events), key=EVENTS.index)

    @field_validator("secret")
    @classmethod
    def _non_empty_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value()) < 8:
            raise ValueError("a secret has at least 8 characters")
        return secret


class NotificationsPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    destinations: Annotated[list[DestinationPut], Field(max_length=50)]


class DestinationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    kind: Kind
    events: list[str]
    has_secret: bool
    created_at: datetime
    updated_at: datetime


class NotificationsRead(BaseModel):
    destinations: list[DestinationRead]
    events: list[str] = Field(default=list(EVENTS), description="every event name")


class TestRequest(BaseModel):
    """`destination_id`: one destination; omitted: every destination."""

    model_config = ConfigDict(extra="forbid")

    destination_id: uuid.UUID | None = None


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    destination_id: uuid.UUID | None
    url: str
    event: str
    event_id: uuid.UUID
    job_id: uuid.UUID | None
    attempt: int
    status: DeliveryStatus
    http_status: int | None
    error: str | None
    body_sha256: str
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryRead]
    next_cursor: str | None
