"""Promotion requests: the dry run, or the start of a promotion (a row and its job); the
promotions as the API lists them; the one place a promotion reaches a final state.
Services flush; the caller commits."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from canonflow import audit
from canonflow.db.models import Approval, BackgroundJob, Promotion
from canonflow.db.types import utcnow
from canonflow.errors import Conflict, NotFound
from canonflow.governance.gate import admit_write
from canonflow.jobs import service as jobs
from canonflow.jobs.registry import JobRegistry
from canonflow.notifications import events
from canonflow.notifications.catalog import PROMOTION_FINISHED
from canonflow.promotion.planning import ALREADY_IN_GIT, plan_promotion
from canonflow.promotion.schemas import (
    FINAL_STATES,
    PromotionPlanItem,
    PromotionPlanRead,
    PromotionRequest,
    PromotionState,
)
from canonflow.tenancy.service import Principal

PROMOTION_RUN = "canonical.promotion.run"
PROMOTION = "promotion"  # the approval kind of a held promotion (governance.starters)
ACTIVE = (
    PromotionState.QUEUED,
    PromotionState.COMMITTING,
    PromotionState.WAITING_FOR_MERGE,
    PromotionState.DEPLOYING,
)


def promote(
    session: Session, registry: JobRegistry, principal: Principal, request: PromotionRequest
) -> PromotionPlanRead | tuple[Promotion, BackgroundJob] | Approval:
    """The dry run, or (`dry_run: false`) the promotion started: its row and its job; an
    approval (pending) when the target is protected: the promotion starts once another
    admin approves it. A closed sync window of the target refuses it
    (`governance.gate.admit_write`)."""
    if request.dry_run:
        return plan_promotion(session, principal.tenant_id, request)
    plan, acting = _startable(session, principal, request)
    approval = admit_write(
        session, principal, kind=PROMOTION, environment_ids=[request.to_environment_id],
        payload=request.model_dump(mode="json"),
        summary=f"promote {', '.join(i.slug for i in acting)} from {plan.from_environment} "
        f"to {plan.to_environment}",
        window_override=request.window_override, registry=registry,
    )  # fmt: skip
    if approval is not None:
        return approval
    return _start(session, registry, principal, plan, acting)


def start_promotion(
    session: Session, registry: JobRegistry, principal: Principal, request_payload: dict[str, Any]
) -> tuple[Promotion, BackgroundJob]:
    """Plan again and start the promotion: any blocker refuses it whole (409, nothing
    written); else a `promotions` row and its job. `request_payload`: a
    `PromotionRequest` as JSON (an approval stores it and starts it later)."""
    request = PromotionRequest.model_validate(request_payload)
    plan, acting = _startable(session, principal, request)
    return _start(session, registry, principal, plan, acting)


def start_approved(
    session: Session, registry: JobRegistry, principal: Principal, approval: Approval
) -> BackgroundJob:
    """An approved promotion (`governance.starters`): planned again, not gated again. The
    promotion records its requester; the approval records who approved it."""
    requester = replace(
        principal, token_id=approval.requested_by_token_id, name=approval.requested_by
    )
    _promotion, job = start_promotion(session, registry, requester, approval.payload)
    return job


def _startable(
    session: Session, principal: Principal, request: PromotionRequest
) -> tuple[PromotionPlanRead, list[PromotionPlanItem]]:
    """The plan and its items that act; 409 when anything blocks it or nothing acts."""
    plan = plan_promotion(session, principal.tenant_id, request)
    blocked = [
        {"slug": i.slug, "kind": b.kind, "detail": b.detail} for i in plan.items for b in i.blockers
    ]
    if blocked:
        raise Conflict(
            "the promotion is blocked: " + "; ".join(b["detail"] for b in blocked[:5]),
            details={"blockers": blocked},
        )
    acting = [i for i in plan.items if i.commit != ALREADY_IN_GIT or i.deploy != "none"]
    if not acting:
        raise Conflict(
            f"nothing to promote: {plan.to_environment} already runs {plan.from_environment}'s "
            "versions, and Git holds them"
        )
    return plan, acting


def _start(
    session: Session,
    registry: JobRegistry,
    principal: Principal,
    plan: PromotionPlanRead,
    acting: list[PromotionPlanItem],
) -> tuple[Promotion, BackgroundJob]:
    _refuse_concurrent(session, principal.tenant_id)
    promotion = Promotion(
        tenant_id=principal.tenant_id,
        from_environment_id=plan.from_environment_id,
        to_environment_id=plan.to_environment_id,
        from_environment=plan.from_environment,
        to_environment=plan.to_environment,
        items=[_job_item(i) for i in acting],
        state=PromotionState.QUEUED.value,
        job_ids=[],
        results={},
        requested_by=principal.name,
        requested_by_token_id=principal.token_id,
    )
    session.add(promotion)
    session.flush()
    job = enqueue_phase(session, registry, promotion, "commit", created_by=principal)
    audit.record_by(
        session,
        principal,
        action="promotion.start",
        target_type="promotion",
        target_id=str(promotion.id),
        details={
            "from": plan.from_environment,
            "to": plan.to_environment,
            "workflows": [i.slug for i in acting],
            "job_id": str(job.id),
        },
    )
    return promotion, job


def enqueue_phase(
    session: Session,
    registry: JobRegistry,
    promotion: Promotion,
    phase: str,
    *,
    created_by: Principal | None = None,
) -> BackgroundJob:
    """Queue the promotion's job for `phase` ("commit": commit, then deploy when pushed;
    "deploy": after the pull request was merged)."""
    job = jobs.enqueue(
        session,
        registry,
        tenant_id=promotion.tenant_id,
        job_type=PROMOTION_RUN,
        params={"promotion_id": str(promotion.id), "phase": phase},
        created_by=created_by,
    )
    promotion.job_ids = [*promotion.job_ids, str(job.id)]
    session.flush()
    return job


def finish(
    session: Session,
    registry: JobRegistry,
    promotion: Promotion,
    state: PromotionState,
    detail: str | None = None,
) -> None:
    """The one place a promotion reaches a final state (succeeded, failed, cancelled); it
    queues the `promotion.finished` notification in the same transaction."""
    assert state in FINAL_STATES
    promotion.state, promotion.finished_at = state.value, utcnow()
    if detail is not None:
        promotion.detail = detail[:2000]
    audit.record(
        session,
        tenant_id=promotion.tenant_id,
        actor="canonflow",
        actor_token_id=None,
        action="promotion.finish",
        target_type="promotion",
        target_id=str(promotion.id),
        details={"state": state.value, "detail": promotion.detail},
    )
    notify_finished(session, registry, promotion)
    session.flush()


def get_or_raise(session: Session, tenant_id: uuid.UUID, promotion_id: uuid.UUID) -> Promotion:
    found = session.scalars(
        select(Promotion).where(Promotion.tenant_id == tenant_id, Promotion.id == promotion_id)
    ).one_or_none()
    if found is None:
        raise NotFound(f"no promotion {promotion_id}")
    return found


def list_page(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
    state: PromotionState | None = None,
) -> list[Promotion]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = select(Promotion).where(Promotion.tenant_id == tenant_id)
    if state is not None:
        query = query.where(Promotion.state == state.value)
    if after is not None:
        query = query.where(tuple_(Promotion.created_at, Promotion.id) < after)
    query = query.order_by(Promotion.created_at.desc(), Promotion.id.desc()).limit(limit)
    return list(session.scalars(query))


def _refuse_concurrent(session: Session, tenant_id: uuid.UUID) -> None:
    running = session.scalars(
        select(Promotion.id).where(
            Promotion.tenant_id == tenant_id,
            Promotion.state.in_(
                [
                    PromotionState.QUEUED.value,
                    PromotionState.COMMITTING.value,
                    PromotionState.DEPLOYING.value,
                ]
            ),
        )
    ).first()
    if running is not None:
        raise Conflict(
            f"promotion {running} is running: wait for it", details={"promotion_id": str(running)}
        )


def _job_item(item: PromotionPlanItem) -> dict[str, Any]:
    """What the job needs of a planned workflow (the hashes it must find again)."""
    return {
        "canonical_id": str(item.canonical_id),
        "slug": item.slug,
        "included_because": item.included_because,
        "source_mapping_id": str(item.source_mapping_id) if item.source_mapping_id else None,
        "target_mapping_id": str(item.target_mapping_id) if item.target_mapping_id else None,
        "source_hash": item.source_hash,
        "git_hash": item.git_hash,
        "target_hash": item.target_hash,
        "commit": item.commit != ALREADY_IN_GIT,
        "deploy": item.deploy,
        "calls": item.calls,
    }


def notify_finished(session: Session, registry: JobRegistry, promotion: Promotion) -> None:
    """Queue `promotion.finished` (counts of what each phase did, by outcome)."""
    counts: dict[str, dict[str, int]] = {}
    for phase, outcomes in (promotion.results or {}).items():
        by_result: dict[str, int] = {}
        for outcome in outcomes.values():
            result = str(outcome.get("result", "unknown"))
            by_result[result] = by_result.get(result, 0) + 1
        counts[phase] = by_result
    last_job = promotion.job_ids[-1] if promotion.job_ids else None
    events.emit(
        session,
        registry,
        promotion.tenant_id,
        PROMOTION_FINISHED,
        {
            "promotion_id": str(promotion.id),
            "job_id": last_job,
            "link": f"/api/v1/promotions/{promotion.id}",
            "from_environment": promotion.from_environment,
            "to_environment": promotion.to_environment,
            "status": promotion.state,
            "detail": promotion.detail,
            "counts": counts,
            "summary": f"promotion {promotion.from_environment} -> "
            f"{promotion.to_environment} {promotion.state}",
        },
    )
