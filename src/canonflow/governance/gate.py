"""The one gate every write into an environment passes: its sync window, then its
protection (an approval stored for another admin). Services flush; the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow import audit
from canonflow.core.enums import Role
from canonflow.db.models import Approval, ApprovalStatus, Environment
from canonflow.db.types import utcnow
from canonflow.environments.windows import window_read
from canonflow.errors import Forbidden, Invalid, NotFound
from canonflow.governance.errors import WindowClosed
from canonflow.governance.schemas import EnvironmentGate
from canonflow.jobs.registry import JobRegistry
from canonflow.notifications import events
from canonflow.notifications.catalog import APPROVAL_REQUESTED
from canonflow.tenancy.service import Principal


def admit_write(
    session: Session,
    principal: Principal,
    *,
    kind: str,
    environment_ids: Collection[uuid.UUID],
    payload: dict[str, Any],
    summary: str,
    window_override: str | None = None,
    restores_env_snapshot: bool = False,
    now: datetime | None = None,
    registry: JobRegistry | None = None,
) -> Approval | None:
    """None: write now. An `Approval` (pending, flushed): the write waits for another admin;
    with `registry`, `approval.requested` is queued for the tenant's notification
    destinations in the same transaction.
    Raises `WindowClosed`, or `Forbidden` (an override or a snapshot restore by a non-admin)."""
    environments = load(session, principal.tenant_id, environment_ids)
    check_windows(session, principal, environments, window_override, now=now)
    protected = [e for e in environments if e.protected]
    if not protected:
        return None
    names = ", ".join(e.name for e in protected)
    if restores_env_snapshot and not principal.role.allows(Role.ADMIN):
        raise Forbidden(
            f"restoring an n8n snapshot into protected environment {names} needs an admin: "
            "it puts back a version that is not Git's"
        )
    approval = Approval(
        tenant_id=principal.tenant_id,
        kind=kind,
        status=ApprovalStatus.PENDING,
        summary=summary,
        payload=payload,
        environment_ids=[str(e.id) for e in environments],
        requested_by_token_id=principal.token_id,
        requested_by=principal.name,
        requested_at=now or utcnow(),
    )
    session.add(approval)
    session.flush()
    audit.record_by(
        session, principal, action="approval.requested", target_type="approval",
        target_id=str(approval.id),
        details={"kind": kind, "summary": summary, "protected": [e.name for e in protected]},
    )  # fmt: skip
    if registry is not None:
        _announce(session, registry, approval, protected)
    return approval


def _announce(
    session: Session, registry: JobRegistry, approval: Approval, protected: list[Environment]
) -> None:
    """`approval.requested` (notifications): what waits, for whom, and where."""
    events.emit(
        session,
        registry,
        approval.tenant_id,
        APPROVAL_REQUESTED,
        {
            "approval_id": str(approval.id),
            "link": f"/api/v1/approvals/{approval.id}",
            "kind": approval.kind,
            "environment_id": str(protected[0].id),
            "environment": ", ".join(e.name for e in protected),
            "requested_by": approval.requested_by,
            "summary": f"approval needed: {approval.summary} (requested by "
            f"{approval.requested_by})",
        },
    )


def check_windows(
    session: Session,
    principal: Principal,
    environments: list[Environment],
    window_override: str | None,
    *,
    now: datetime | None = None,
) -> None:
    """Refuse a write into an environment whose window is closed, unless an admin
    overrides it with a reason (audited)."""
    at = now or utcnow()
    closed = [(e, window_read(e, at)) for e in environments]
    closed = [(e, w) for e, w in closed if not w.open]
    if not closed:
        return
    if window_override is None:
        environment, window = closed[0]
        raise WindowClosed(environment.name, window.next_open)
    reason = window_override.strip()
    if not reason:
        raise Invalid("window_override needs a reason")
    if not principal.role.allows(Role.ADMIN):
        raise Forbidden(
            f"overriding the sync window of {closed[0][0].name!r} needs the admin role; "
            f"the token has {principal.role.value}"
        )
    for environment, window in closed:
        audit.record_by(
            session, principal, action="window.override", target_type="environment",
            target_id=str(environment.id),
            details={"environment": environment.name, "reason": reason,
                     "next_open": window.next_open.isoformat() if window.next_open else None},
        )  # fmt: skip


def load(
    session: Session, tenant_id: uuid.UUID, environment_ids: Collection[uuid.UUID]
) -> list[Environment]:
    wanted = set(environment_ids)
    if not wanted:
        return []
    found = list(
        session.scalars(
            select(Environment)
            .where(Environment.tenant_id == tenant_id, Environment.id.in_(wanted))
            .order_by(Environment.name)
        )
    )
    missing = wanted - {e.id for e in found}
    if missing:
        raise NotFound(f"no environment {sorted(map(str, missing))[0]}")
    return found


def environment_gates(
    session: Session, tenant_id: uuid.UUID, environment_ids: Collection[uuid.UUID]
) -> list[EnvironmentGate]:
    """Per environment, what a write into it meets now (shown by a dry run)."""
    now = utcnow()
    return [
        EnvironmentGate(
            environment_id=e.id,
            environment=e.name,
            protected=e.protected,
            window=window_read(e, now),
        )
        for e in load(session, tenant_id, environment_ids)
    ]
