"""Approvals: list, read, approve (starts the stored write), reject. The requester's own
token may not approve; rejecting one's own request withdraws it (`cancelled`). Services
flush; the caller commits. Every decision is audited."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow import audit
from canonflow.core.enums import Role
from canonflow.db.models import Approval, ApprovalStatus, Environment
from canonflow.db.types import utcnow
from canonflow.errors import Conflict, Forbidden, NotFound, Unavailable
from canonflow.governance import gate
from canonflow.governance.schemas import ApprovalPending, ApprovalRead
from canonflow.governance.starters import STARTERS
from canonflow.jobs.registry import JobRegistry
from canonflow.tenancy.service import Principal


def get_or_raise(session: Session, tenant_id: uuid.UUID, approval_id: uuid.UUID) -> Approval:
    found = session.scalars(
        select(Approval).where(Approval.tenant_id == tenant_id, Approval.id == approval_id)
    ).one_or_none()
    if found is None:
        raise NotFound(f"no approval {approval_id}")
    return found


def list_page(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    limit: int,
    status: ApprovalStatus | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[Approval]:
    """Newest first, keyset paged by (requested_at, id)."""
    query = select(Approval).where(Approval.tenant_id == tenant_id)
    if status is not None:
        query = query.where(Approval.status == status)
    if after is not None:
        at, last = after
        query = query.where(
            (Approval.requested_at < at) | ((Approval.requested_at == at) & (Approval.id < last))
        )
    order = (Approval.requested_at.desc(), Approval.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def approve(
    session: Session,
    jobs: JobRegistry,
    principal: Principal,
    approval_id: uuid.UUID,
    *,
    comment: str | None,
    window_override: str | None = None,
) -> Approval:
    """Start the stored write as `principal`, an admin other than the requester, once the
    environments' windows allow it (or the approver overrides them)."""
    approval = _pending(session, principal, approval_id)
    _require_admin(principal, "approve")
    if _is_requester(principal, approval):
        raise Forbidden(
            f"{principal.name} requested this write and may not approve it: "
            f"{waiting_for(approval)} must"
        )
    environments = gate.load(session, principal.tenant_id, _environment_ids(approval))
    gate.check_windows(session, principal, environments, window_override)
    starter = STARTERS.get(approval.kind)
    if starter is None:
        raise Unavailable(f"nothing here starts a {approval.kind!r} write")
    job = starter(session, jobs, principal, approval)
    _decide(approval, principal, ApprovalStatus.APPROVED, comment)
    approval.job_id = job.id
    session.flush()
    _audit(session, principal, approval, "approval.approved", job_id=str(job.id))
    return approval


def reject(
    session: Session, principal: Principal, approval_id: uuid.UUID, *, comment: str | None
) -> Approval:
    """An admin rejects it; the requester (any role) withdraws it: `cancelled`."""
    approval = _pending(session, principal, approval_id)
    own = _is_requester(principal, approval)
    if not own:
        _require_admin(principal, "reject")
    status = ApprovalStatus.CANCELLED if own else ApprovalStatus.REJECTED
    _decide(approval, principal, status, comment)
    session.flush()
    _audit(session, principal, approval, f"approval.{status.value}")
    return approval


def waiting_for(approval: Approval) -> str:
    return f"an admin other than {approval.requested_by}"


def pending_answer(approval: Approval) -> ApprovalPending:
    return ApprovalPending(
        approval_id=approval.id,
        url=f"/api/v1/approvals/{approval.id}",
        waiting_for=waiting_for(approval),
    )


def read_all(session: Session, approvals: list[Approval]) -> list[ApprovalRead]:
    ids = {uuid.UUID(i) for a in approvals for i in a.environment_ids}
    names: dict[uuid.UUID, str] = {}
    if approvals and ids:
        rows = session.execute(
            select(Environment.id, Environment.name).where(
                Environment.tenant_id == approvals[0].tenant_id, Environment.id.in_(ids)
            )
        )
        names = {row.id: row.name for row in rows}
    return [_read(a, names) for a in approvals]


def _read(approval: Approval, names: dict[uuid.UUID, str]) -> ApprovalRead:
    ids = _environment_ids(approval)
    pending = approval.status is ApprovalStatus.PENDING
    return ApprovalRead(
        id=approval.id, kind=approval.kind, status=approval.status, summary=approval.summary,
        environment_ids=ids, environments=[names.get(i, "(deleted)") for i in ids],
        waiting_for=waiting_for(approval) if pending else None,
        requested_by=approval.requested_by,
        requested_by_token_id=approval.requested_by_token_id,
        requested_at=approval.requested_at, decided_by=approval.decided_by,
        decided_by_token_id=approval.decided_by_token_id, decided_at=approval.decided_at,
        comment=approval.comment, job_id=approval.job_id,
        items=len(approval.payload.get("items", [])),
    )  # fmt: skip


def _pending(session: Session, principal: Principal, approval_id: uuid.UUID) -> Approval:
    approval = get_or_raise(session, principal.tenant_id, approval_id)
    if approval.status is not ApprovalStatus.PENDING:
        raise Conflict(
            f"approval {approval.id} is already {approval.status.value}",
            details={"status": approval.status.value},
        )
    return approval


def _is_requester(principal: Principal, approval: Approval) -> bool:
    """The same token (the CLI, which has none, by its name)."""
    if principal.token_id is not None or approval.requested_by_token_id is not None:
        return principal.token_id == approval.requested_by_token_id
    return principal.name == approval.requested_by


def _require_admin(principal: Principal, what: str) -> None:
    if not principal.role.allows(Role.ADMIN):
        raise Forbidden(
            f"to {what} another's request needs the admin role; the token has "
            f"{principal.role.value}"
        )


def _decide(
    approval: Approval, principal: Principal, status: ApprovalStatus, comment: str | None
) -> None:
    approval.status = status
    approval.decided_by = principal.name
    approval.decided_by_token_id = principal.token_id
    approval.decided_at = utcnow()
    approval.comment = comment


def _environment_ids(approval: Approval) -> list[uuid.UUID]:
    return [uuid.UUID(i) for i in approval.environment_ids]


def _audit(
    session: Session, principal: Principal, approval: Approval, action: str, **extra: str
) -> None:
    audit.record_by(
        session, principal, action=action, target_type="approval", target_id=str(approval.id),
        details={"kind": approval.kind, "summary": approval.summary,
                 "requested_by": approval.requested_by, "comment": approval.comment, **extra},
    )  # fmt: skip
