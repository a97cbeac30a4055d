"""`/api/v1/canonical/reconcile`, diffs, versions, deploys (rollback) and snapshots."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from canonflow.api.deps import Operator, RuntimeDep, SessionDep, Viewer
from canonflow.api.pagination import decode_cursor, encode_cursor
from canonflow.db.models import Approval, BackgroundJob
from canonflow.errors import Invalid
from canonflow.governance import approvals, gate
from canonflow.governance.schemas import ApprovalPending
from canonflow.jobs.schemas import JobAccepted
from canonflow.reconcile import diffs, history, service, snapshots
from canonflow.reconcile.planning import Plan
from canonflow.reconcile.schemas import (
    DeployRequest,
    PlanRead,
    ReconcileRequest,
    RestoreRequest,
    SnapshotDetail,
    SnapshotPage,
    SnapshotRead,
    VersionRead,
)

router = APIRouter(prefix="/api/v1", tags=["reconcile"])


@router.post(
    "/canonical/reconcile",
    response_model=PlanRead,
    responses={
        202: {
            "model": JobAccepted | ApprovalPending,
            "description": "dry_run false: the apply job, or (an environment it writes into "
            "is protected) the approval it waits for",
        }
    },
    summary="Plan a reconcile (dry run), or apply it in the background",
)
def reconcile(
    body: ReconcileRequest, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> Any:
    outcome = service.reconcile(
        session,
        runtime.jobs,
        principal,
        body,
        prune_guard_percent=runtime.settings.prune_guard_percent,
    )
    if not isinstance(outcome, Plan):
        return _accepted(outcome)
    return PlanRead(
        strategy=outcome.strategy,
        counts=dict(outcome.counts),
        items=outcome.items,
        prune_guard=outcome.held,
        environments=gate.environment_gates(
            session, principal.tenant_id, {i.environment_id for i in outcome.items}
        ),
    )


@router.get("/canonical/workflows/{canonical_id}/diff", summary="Semantic diff")
def diff(
    canonical_id: uuid.UUID,
    environment_id: uuid.UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Viewer,
    against: Literal["git", "base"] = "git",
) -> dict[str, Any]:
    return diffs.workflow_diff(
        session,
        runtime.secrets,
        tenant_id=principal.tenant_id,
        canonical_id=canonical_id,
        environment_id=environment_id,
        against=against,
        cache_root=runtime.settings.resolved_git_cache_dir,
    )


@router.get("/canonical/workflows/{canonical_id}/versions", response_model=list[VersionRead])
def versions(
    canonical_id: uuid.UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Viewer,
    limit: Annotated[int, Query(ge=1, le=history.MAX_VERSIONS)] = 50,
) -> list[VersionRead]:
    """The Git history of the workflow's file, newest first, as last fetched."""
    canonical = history.canonical_or_404(session, principal.tenant_id, canonical_id)
    ref = history.file_ref(
        session, runtime.secrets, canonical, runtime.settings.resolved_git_cache_dir
    )
    return history.versions(ref, limit=limit)


@router.post(
    "/canonical/workflows/{canonical_id}/deploy",
    response_model=JobAccepted | ApprovalPending,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Deploy the current or an older version (rollback) to one environment",
)
def deploy(
    canonical_id: uuid.UUID,
    body: DeployRequest,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
) -> JSONResponse:
    return _accepted(
        service.deploy(
            session, runtime.jobs, principal, canonical_id, body,
            secrets=runtime.secrets, cache_root=runtime.settings.resolved_git_cache_dir,
        )
    )  # fmt: skip


@router.get("/snapshots", response_model=SnapshotPage)
def list_snapshots(
    session: SessionDep,
    principal: Viewer,
    canonical_id: uuid.UUID | None = None,
    mapping_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> SnapshotPage:
    after = _after(cursor) if cursor else None
    rows = snapshots.list_page(
        session, principal.tenant_id, limit=limit + 1, after=after,
        canonical_id=canonical_id, mapping_id=mapping_id,
    )  # fmt: skip
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if page else None
    return SnapshotPage(
        snapshots=[SnapshotRead.model_validate(s) for s in page],
        next_cursor=encode_cursor([last.created_at.isoformat(), str(last.id)])
        if more and last
        else None,
    )


@router.get("/snapshots/{snapshot_id}", response_model=SnapshotDetail)
def get_snapshot(snapshot_id: uuid.UUID, session: SessionDep, principal: Viewer) -> SnapshotDetail:
    return SnapshotDetail.model_validate(
        snapshots.get_or_raise(session, principal.tenant_id, snapshot_id)
    )


@router.post(
    "/snapshots/{snapshot_id}/restore",
    response_model=JobAccepted | ApprovalPending,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Put a snapshot back on its side (n8n or Git), in the background",
)
def restore(
    snapshot_id: uuid.UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
    body: RestoreRequest | None = None,
) -> JSONResponse:
    override = body.window_override if body else None
    return _accepted(
        service.restore(session, runtime.jobs, principal, snapshot_id, window_override=override)
    )


def _accepted(started: BackgroundJob | Approval) -> JSONResponse:
    """202: the job doing the write, or the approval it waits for."""
    answer: JobAccepted | ApprovalPending
    if isinstance(started, Approval):
        answer = approvals.pending_answer(started)
    else:
        answer = JobAccepted(
            job_id=started.id, status=started.status, url=f"/api/v1/jobs/{started.id}"
        )
    return JSONResponse(answer.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    values = decode_cursor(cursor)
    try:
        at, last = values
        return datetime.fromisoformat(at), uuid.UUID(last)
    except (ValueError, TypeError):
        raise Invalid("invalid cursor: pass back the next_cursor of a previous page") from None
