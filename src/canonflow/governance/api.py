"""`/api/v1/approvals`: writes into protected environments waiting for another admin."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from canonflow.api.deps import Admin, Operator, RuntimeDep, SessionDep, Viewer
from canonflow.api.pagination import decode_cursor, encode_cursor
from canonflow.db.models import ApprovalStatus
from canonflow.errors import Invalid
from canonflow.governance import approvals
from canonflow.governance.schemas import ApprovalDecision, ApprovalPage, ApprovalRead

router = APIRouter(prefix="/api/v1/approvals", tags=["governance"])


@router.get("", response_model=ApprovalPage, summary="Approvals, newest first")
def list_approvals(
    session: SessionDep,
    principal: Viewer,
    status: ApprovalStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> ApprovalPage:
    """Each with what it writes where and who it waits for (`waiting_for`)."""
    after = _after(cursor) if cursor else None
    rows = approvals.list_page(
        session, principal.tenant_id, limit=limit + 1, status=status, after=after
    )
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if page else None
    return ApprovalPage(
        approvals=approvals.read_all(session, page),
        next_cursor=encode_cursor([last.requested_at.isoformat(), str(last.id)])
        if more and last
        else None,
    )


@router.get("/{approval_id}", response_model=ApprovalRead)
def get_approval(approval_id: uuid.UUID, session: SessionDep, principal: Viewer) -> ApprovalRead:
    approval = approvals.get_or_raise(session, principal.tenant_id, approval_id)
    return approvals.read_all(session, [approval])[0]


@router.post(
    "/{approval_id}/approve",
    response_model=ApprovalRead,
    summary="Approve (an admin other than the requester): starts the write as a job",
)
def approve(
    approval_id: uuid.UUID,
    body: ApprovalDecision,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Admin,
) -> ApprovalRead:
    approval = approvals.approve(
        session, runtime.jobs, principal, approval_id,
        comment=body.comment, window_override=body.window_override,
    )  # fmt: skip
    return approvals.read_all(session, [approval])[0]


@router.post(
    "/{approval_id}/reject",
    response_model=ApprovalRead,
    summary="Reject (an admin), or withdraw one's own request (cancelled)",
)
def reject(
    approval_id: uuid.UUID, body: ApprovalDecision, session: SessionDep, principal: Operator
) -> ApprovalRead:
    approval = approvals.reject(session, principal, approval_id, comment=body.comment)
    return approvals.read_all(session, [approval])[0]


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    values = decode_cursor(cursor)
    try:
        at, last = values
        return datetime.fromisoformat(at), uuid.UUID(last)
    except (ValueError, TypeError):
        raise Invalid("invalid cursor: pass back the next_cursor of a previous page") from None
