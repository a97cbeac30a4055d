"""The audit log: every write is recorded with who did it."""

from __future__ import annotations

import sys
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

if TYPE_CHECKING:  # the audit table (and the workflow tables its keys name) map on first write
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
    from canonflow.db.models import AuditEntry

    entry = AuditEntry(
        tenant_id=tenant_id,
        actor=actor,
        actor_token_id=actor_token_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details or {},
        request_id=_request_id(),
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


def _request_id() -> str | None:
    """The id the API's middleware bound in structlog's context. A process that has not
    loaded structlog has bound none, and does not load it for this (a CLI command)."""
    structlog = sys.modules.get("structlog")
    if structlog is None:
        return None
    request_id: str | None = structlog.contextvars.get_contextvars().get("request_id")
    return request_id
