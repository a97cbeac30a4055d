"""The audit log: every write is recorded with who did it."""

from __future__ import annotations

import uuid
from typing import Any

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
