"""Snapshots as people read them: which apply job took each one, and how a snapshot differs
from what its side holds now (what restoring it would bring back). Read only, from the
database: the environment's latest copy (kept fresh by syncs) or Git's canonical version."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from canonflow.core.diff import diff_workflows
from canonflow.core.diff_render import render_diff
from canonflow.core.enums import SnapshotSide
from canonflow.core.status import MappingStatus
from canonflow.db.models import BackgroundJob, CanonicalWorkflow, Snapshot, WorkflowEnvMap
from canonflow.reconcile.apply import RECONCILE_APPLY
from canonflow.sync.mappings import reference_slugs

LIVE = (MappingStatus.LINKED, MappingStatus.UNTRACKED, MappingStatus.IGNORED)


def jobs_of(
    session: Session, tenant_id: uuid.UUID, snapshots: Sequence[Snapshot]
) -> dict[uuid.UUID, uuid.UUID]:
    """Snapshot id -> the apply job that took it. A finished job names its snapshots in its
    result; a running one is told by time (a tenant's applies run one at a time)."""
    if not snapshots:
        return {}
    first = min(s.created_at for s in snapshots)
    last = max(s.created_at for s in snapshots)
    jobs = session.scalars(
        select(BackgroundJob).where(
            BackgroundJob.tenant_id == tenant_id,
            BackgroundJob.type == RECONCILE_APPLY,
            BackgroundJob.started_at.is_not(None),
            BackgroundJob.started_at <= last,
            or_(BackgroundJob.finished_at.is_(None), BackgroundJob.finished_at >= first),
        )
    ).all()
    named: dict[str, uuid.UUID] = {}
    for job in jobs:
        for item in (job.result or {}).get("items", []):
            if item.get("snapshot_id"):
                named[str(item["snapshot_id"])] = job.id
    found: dict[uuid.UUID, uuid.UUID] = {}
    for snapshot in snapshots:
        by_result = named.get(str(snapshot.id))
        by_time = [
            j.id
            for j in jobs
            if j.started_at is not None
            and j.started_at <= snapshot.created_at
            and (j.finished_at is None or j.finished_at >= snapshot.created_at)
        ]
        if by_result is not None:
            found[snapshot.id] = by_result
        elif len(by_time) == 1:
            found[snapshot.id] = by_time[0]
    return found


def diff_against_now(session: Session, snapshot: Snapshot) -> dict[str, Any]:
    """From the snapshot to what its side holds now: n8n's current copy in the snapshot's
    environment (env side) or Git's canonical version (git side). `now_exists` False: that
    side holds nothing now (restoring creates it)."""
    now, now_hash = _now(session, snapshot)
    refs: dict[str, str] = {}
    if snapshot.environment_id is not None:
        refs = reference_slugs(session, snapshot.tenant_id, snapshot.environment_id)
    result: dict[str, Any] = {
        "side": snapshot.side.value,
        "from_hash": snapshot.content_hash,
        "to_hash": now_hash,
        "now_exists": now is not None,
        "identical": False,
        "lines": [],
    }
    if now is None:
        return result
    diff = diff_workflows(snapshot.workflow, now, old_refs=refs, new_refs=refs)
    result["identical"] = diff.is_empty
    result["lines"] = [{"kind": line.kind.value, "text": line.text} for line in render_diff(diff)]
    return result


def _now(session: Session, snapshot: Snapshot) -> tuple[dict[str, Any] | None, str | None]:
    if snapshot.canonical_id is None:
        return None, None
    if snapshot.side is SnapshotSide.GIT:
        canonical = session.scalars(
            select(CanonicalWorkflow).where(
                CanonicalWorkflow.tenant_id == snapshot.tenant_id,
                CanonicalWorkflow.id == snapshot.canonical_id,
            )
        ).one_or_none()
        if canonical is None or canonical.is_deleted:
            return None, None
        return dict(canonical.workflow_definition), canonical.content_hash
    mapping = session.scalars(
        select(WorkflowEnvMap).where(
            WorkflowEnvMap.tenant_id == snapshot.tenant_id,
            WorkflowEnvMap.canonical_id == snapshot.canonical_id,
            WorkflowEnvMap.environment_id == snapshot.environment_id,
            WorkflowEnvMap.status.in_(LIVE),
        )
    ).first()
    if mapping is None or mapping.workflow_data is None:
        return None, None
    return dict(mapping.workflow_data), mapping.env_content_hash
