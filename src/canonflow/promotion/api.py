"""`POST /api/v1/canonical/promote` (dry run or start), `GET /api/v1/promotions[/{id}]`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from canonflow.api.deps import Operator, RuntimeDep, SessionDep, Viewer
from canonflow.api.pagination import decode_cursor, encode_cursor
from canonflow.db.models import Approval
from canonflow.errors import Invalid
from canonflow.governance.approvals import pending_answer
from canonflow.governance.schemas import ApprovalPending
from canonflow.promotion import service
from canonflow.promotion.schemas import (
    PromotionAccepted,
    PromotionPage,
    PromotionPlanRead,
    PromotionRead,
    PromotionRequest,
    PromotionState,
)

router = APIRouter(prefix="/api/v1", tags=["promotion"])


@router.post(
    "/canonical/promote",
    response_model=PromotionPlanRead,
    responses={
        202: {
            "model": PromotionAccepted | ApprovalPending,
            "description": "dry_run false: the promotion started, or (a protected target) "
            "held for another admin's approval",
        }
    },
    summary="Plan a promotion between environments (dry run), or start it",
)
def promote(
    body: PromotionRequest, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> Any:
    outcome = service.promote(session, runtime.jobs, principal, body)
    if isinstance(outcome, PromotionPlanRead):
        return outcome
    if isinstance(outcome, Approval):
        held = pending_answer(outcome)
        return JSONResponse(held.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)
    promotion, job = outcome
    accepted = PromotionAccepted(
        promotion_id=promotion.id,
        job_id=job.id,
        state=PromotionState(promotion.state),
        url=f"/api/v1/promotions/{promotion.id}",
        job_url=f"/api/v1/jobs/{job.id}",
    )
    return JSONResponse(accepted.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)


@router.get("/promotions", response_model=PromotionPage, summary="Promotions, newest first")
def list_promotions(
    session: SessionDep,
    principal: Viewer,
    state: PromotionState | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> PromotionPage:
    after = _after(cursor) if cursor else None
    rows = service.list_page(
        session, principal.tenant_id, limit=limit + 1, after=after, state=state
    )
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if page else None
    return PromotionPage(
        promotions=[PromotionRead.model_validate(p) for p in page],
        next_cursor=encode_cursor([last.created_at.isoformat(), str(last.id)])
        if more and last
        else None,
    )


@router.get("/promotions/{promotion_id}", response_model=PromotionRead)
def get_promotion(promotion_id: uuid.UUID, session: SessionDep, principal: Viewer) -> PromotionRead:
    """State, pull request and per-workflow results of one promotion."""
    return PromotionRead.model_validate(
        service.get_or_raise(session, principal.tenant_id, promotion_id)
    )


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    values = decode_cursor(cursor)
    try:
        at, last = values
        return datetime.fromisoformat(at), uuid.UUID(last)
    except (ValueError, TypeError):
        raise Invalid("invalid cursor: pass back the next_cursor of a previous page") from None
