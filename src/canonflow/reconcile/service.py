"""Reconcile requests: a plan, or its application as a job; deploys (rollback) and
restores of snapshots go through the same job. Services flush; the caller commits."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow import audit
from canonflow.core.enums import JobStatus, SnapshotSide
from canonflow.core.reconcile import Action
from canonflow.core.status import MappingStatus
from canonflow.crypto import SecretBox
from canonflow.db.models import (
    Approval,
    BackgroundJob,
    CanonicalWorkflow,
    Environment,
    WorkflowEnvMap,
)
from canonflow.errors import Conflict, Invalid, NotFound
from canonflow.governance.gate import admit_write
from canonflow.jobs import repository as jobs_repository
from canonflow.jobs import service as jobs
from canonflow.jobs.registry import JobRegistry
from canonflow.reconcile import history, snapshots
from canonflow.reconcile.apply import RECONCILE_APPLY
from canonflow.reconcile.items import ApplyItem, BaseAfter, Kind
from canonflow.reconcile.planning import Plan, make_plan
from canonflow.reconcile.schemas import DeployRequest, PlanItem, ReconcileRequest, VersionRead
from canonflow.tenancy.service import Principal

APPLY = "apply"  # the approval kind of a held apply (governance.starters)
_INTO_ENVIRONMENT = (Kind.DEPLOY, Kind.DELETE)  # COMMIT writes Git; READOPT Git and the DB


def reconcile(
    session: Session,
    registry: JobRegistry,
    principal: Principal,
    request: ReconcileRequest,
    *,
    prune_guard_percent: float,
) -> Plan | BackgroundJob | Approval:
    """The plan (dry run), or a job applying it (an approval when an environment it writes
    into is protected: held as a whole). An apply the prune guard holds is refused whole
    (nothing is queued) until the request confirms it."""
    plan = make_plan(
        session,
        principal.tenant_id,
        request,
        prune_guard_percent=prune_guard_percent,
        check_deploys=request.dry_run,
    )
    if request.dry_run:
        return plan
    if plan.held:
        raise Conflict("; ".join(plan.held), details={"counts": dict(plan.counts)})
    items = [_item(i) for i in plan.acting]
    if not items:
        raise Conflict(
            "nothing to apply: the plan has no deploy or commit (see its items' reasons)",
            details={"counts": dict(plan.counts)},
        )
    return enqueue_apply(
        session, registry, principal, items, f"reconcile {request.strategy.value}",
        window_override=request.window_override,
    )  # fmt: skip


def deploy(
    session: Session,
    registry: JobRegistry,
    principal: Principal,
    canonical_id: uuid.UUID,
    request: DeployRequest,
    *,
    secrets: SecretBox | None = None,
    cache_root: Path | None = None,
) -> BackgroundJob | Approval:
    """Deploy the canonical version, or the file as `commit` had it (a rollback), to one
    environment: overwrites what is there (a snapshot keeps it), creates it if absent.
    Into a protected environment only a commit of the branch's history of the file goes
    (`secrets` and `cache_root` read that history)."""
    canonical = history.canonical_or_404(session, principal.tenant_id, canonical_id)
    if canonical.is_deleted:
        raise Conflict(f"canonical workflow {canonical.canonical_slug} is deleted")
    environment = _environment_or_404(session, principal.tenant_id, request.environment_id)
    mapping = _mapping(session, principal.tenant_id, canonical_id, request.environment_id)
    if mapping is not None and mapping.status in (MappingStatus.IGNORED, MappingStatus.DELETED):
        raise Conflict(f"its workflow in that environment is {mapping.status.value}")
    if request.commit:
        _check_commit_in_branch(session, canonical, request, secrets, cache_root)
    source = f"commit:{request.commit}" if request.commit else "canonical"
    item = ApplyItem(
        Kind.DEPLOY, canonical_id, request.environment_id, mapping.id if mapping else None,
        None, None, source, BaseAfter.WRITTEN, f"{canonical.canonical_slug}@{environment}",
    )  # fmt: skip
    what = f"rollback to {request.commit[:12]}" if request.commit else "deploy"
    return enqueue_apply(
        session, registry, principal, [item], f"{what} {canonical.canonical_slug}",
        window_override=request.window_override,
    )  # fmt: skip


def restore(
    session: Session,
    registry: JobRegistry,
    principal: Principal,
    snapshot_id: uuid.UUID,
    *,
    window_override: str | None = None,
) -> BackgroundJob | Approval:
    """Put a snapshot back on its side: n8n (a deploy) or Git (a commit)."""
    snapshot = snapshots.get_or_raise(session, principal.tenant_id, snapshot_id)
    if snapshot.canonical_id is None or snapshot.environment_id is None:
        raise Conflict("the snapshot's workflow or environment no longer exists")
    canonical = history.canonical_or_404(session, principal.tenant_id, snapshot.canonical_id)
    if canonical.is_deleted:
        raise Conflict(f"canonical workflow {canonical.canonical_slug} is deleted in Git")
    mapping = _mapping(session, principal.tenant_id, snapshot.canonical_id, snapshot.environment_id)
    if mapping is not None and mapping.status in (MappingStatus.IGNORED, MappingStatus.DELETED):
        raise Conflict(f"its workflow in that environment is {mapping.status.value}")
    kind = Kind.DEPLOY if snapshot.side is SnapshotSide.ENV else Kind.COMMIT
    item = ApplyItem(
        kind, snapshot.canonical_id, snapshot.environment_id, mapping.id if mapping else None,
        None, None, f"snapshot:{snapshot.id}", BaseAfter.KEEP, f"snapshot {snapshot.id}",
    )  # fmt: skip
    return enqueue_apply(
        session, registry, principal, [item], f"restore snapshot {snapshot.id}",
        window_override=window_override, restores_env_snapshot=kind is Kind.DEPLOY,
    )  # fmt: skip


def enqueue_apply(
    session: Session,
    registry: JobRegistry,
    principal: Principal,
    items: list[ApplyItem],
    reason: str,
    *,
    window_override: str | None = None,
    restores_env_snapshot: bool = False,
) -> BackgroundJob | Approval:
    """Queue the writes, unless an apply is already queued or running for the tenant. The
    environments they write into gate them first (`governance.gate.admit_write`): a closed
    sync window refuses them, a protected environment holds them all for an approval."""
    approval = admit_write(
        session, principal, kind=APPLY, summary=reason,
        environment_ids={i.environment_id for i in items if i.kind in _INTO_ENVIRONMENT},
        payload={"items": [i.as_dict() for i in items], "reason": reason},
        window_override=window_override, restores_env_snapshot=restores_env_snapshot,
        registry=registry,
    )  # fmt: skip
    if approval is not None:
        return approval
    return _enqueue(session, registry, principal, items, reason)


def start_approved(
    session: Session, registry: JobRegistry, principal: Principal, approval: Approval
) -> BackgroundJob:
    """The approved apply, as stored: not gated again; the job re-checks staleness."""
    items = [ApplyItem.from_dict(i) for i in approval.payload["items"]]
    reason = f"{approval.payload.get('reason', approval.summary)} (approval {approval.id})"
    return _enqueue(session, registry, principal, items, reason)


def _enqueue(
    session: Session,
    registry: JobRegistry,
    principal: Principal,
    items: list[ApplyItem],
    reason: str,
) -> BackgroundJob:
    for status in (JobStatus.RUNNING, JobStatus.QUEUED):
        active = jobs_repository.list_page(
            session, principal.tenant_id, limit=1, status=status, job_type=RECONCILE_APPLY
        )
        if active:
            raise Conflict(
                f"an apply is already {status.value} (job {active[0].id}): wait for it",
                details={"job_id": str(active[0].id)},
            )
    params: dict[str, Any] = {
        "items": [i.as_dict() for i in items],
        "reason": reason,
        "actor": principal.name,
        "actor_token_id": str(principal.token_id) if principal.token_id else None,
    }
    job = jobs.enqueue(
        session,
        registry,
        tenant_id=principal.tenant_id,
        job_type=RECONCILE_APPLY,
        params=params,
        created_by=principal,
    )
    audit.record_by(
        session,
        principal,
        action="reconcile.apply",
        target_type="background_job",
        target_id=str(job.id),
        details={"reason": reason, "items": len(items)},
    )
    return job


def _check_commit_in_branch(
    session: Session,
    canonical: CanonicalWorkflow,
    request: DeployRequest,
    secrets: SecretBox | None,
    cache_root: Path | None,
) -> None:
    """Only versions in Git's branch go into a protected environment."""
    environment = session.scalars(
        select(Environment).where(
            Environment.tenant_id == canonical.tenant_id,
            Environment.id == request.environment_id,
        )
    ).one_or_none()
    if environment is None or not environment.protected or request.commit is None:
        return
    sha = request.commit.lower()
    found: list[VersionRead] = []
    if secrets is not None and cache_root is not None:
        ref = history.file_ref(session, secrets, canonical, cache_root)
        found = history.versions(ref, limit=history.MAX_VERSIONS)
    if not any(v.commit.startswith(sha) and v.content_hash for v in found):
        raise Conflict(
            f"{environment.name} is protected: only a version in the history of "
            f"{canonical.canonical_slug} on Git's branch goes into it, and {sha} is not one"
        )


def _item(planned: PlanItem) -> ApplyItem:
    label = f"{planned.slug}@{planned.environment}"
    if planned.action is Action.DEPLOY:
        return ApplyItem(
            Kind.DEPLOY, planned.canonical_id, planned.environment_id, planned.mapping_id,
            planned.env_hash, planned.git_hash, label=label,
        )  # fmt: skip
    if planned.action is Action.COMMIT:
        return ApplyItem(
            Kind.COMMIT, planned.canonical_id, planned.environment_id, planned.mapping_id,
            planned.env_hash, planned.git_hash, "environment", label=label,
        )  # fmt: skip
    if planned.action in (Action.DELETE, Action.READOPT):
        kind = Kind.DELETE if planned.action is Action.DELETE else Kind.READOPT
        return ApplyItem(
            kind, planned.canonical_id, planned.environment_id, planned.mapping_id,
            planned.env_hash, None, "environment", label=label,
        )  # fmt: skip
    raise Invalid(f"{planned.action.value} is not applied")


def _environment_or_404(session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID) -> str:
    """The environment's name."""
    found = session.scalars(
        select(Environment.name).where(
            Environment.tenant_id == tenant_id, Environment.id == environment_id
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"no environment {environment_id}")
    return found


def _mapping(
    session: Session, tenant_id: uuid.UUID, canonical_id: uuid.UUID, environment_id: uuid.UUID
) -> WorkflowEnvMap | None:
    return session.scalars(
        select(WorkflowEnvMap).where(
            WorkflowEnvMap.tenant_id == tenant_id,
            WorkflowEnvMap.canonical_id == canonical_id,
            WorkflowEnvMap.environment_id == environment_id,
        )
    ).one_or_none()
