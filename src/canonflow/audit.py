"""The audit log: every write is recorded with who did it."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

import structlog
from sqlalchemy.orm import Session

from canonflow.db.models import AuditEntry


def record(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    actor: str,
    action: str,
    actor_token_id: uuid.UUID | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    entry = AuditEntry(
        tenant_id=tenant_id,
        actor=actor,
        actor_token_id=actor_token_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details or {},
        request_id=request_id,
    )
    session.add(entry)
    return entry


class Actor(Protocol):
    """Who acts: a principal (a token of a tenant), or the CLI's local admin."""

    @property
    def tenant_id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def token_id(self) -> uuid.UUID | None: ...


def record_by(
    session: Session,
    actor: Actor,
    *,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """`record` for an action of `actor` in its own tenant."""
    return record(
        session,
        tenant_id=actor.tenant_id,
        actor=actor.name,
        actor_token_id=actor.token_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details,
    )
