"""Snapshots: the full JSON of whatever a write replaces, taken before the write (DESIGN
section 6 "Nothing is lost"). Listed newest first; restored through the apply path."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, defer

from canonflow.core.enums import SnapshotSide
from canonflow.db.models import CanonicalWorkflow, Environment, Snapshot, WorkflowEnvMap
from canonflow.errors import NotFound


def take(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    side: SnapshotSide,
    workflow: dict[str, Any],
    content_hash: str | None,
    reason: str,
    created_by: str,
    mapping_id: uuid.UUID | None = None,
    canonical_id: uuid.UUID | None = None,
    environment_id: uuid.UUID | None = None,
) -> Snapshot:
    snapshot = Snapshot(
        tenant_id=tenant_id,
        side=side,
        workflow=workflow,
        content_hash=content_hash,
        reason=reason,
        created_by=created_by,
        mapping_id=mapping_id,
        canonical_id=canonical_id,
        environment_id=environment_id,
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def list_page(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
    canonical_id: uuid.UUID | None = None,
    mapping_id: uuid.UUID | None = None,
    environment_id: uuid.UUID | None = None,
) -> list[Snapshot]:
    """Newest first, keyset-paginated on (created_at, id); the JSON is not loaded. A filter
    that names a workflow, mapping or environment the tenant does not have is `NotFound`."""
    _require_known(
        session,
        tenant_id,
        canonical_id=canonical_id,
        mapping_id=mapping_id,
        environment_id=environment_id,
    )
    query = (
        select(Snapshot).options(defer(Snapshot.workflow)).where(Snapshot.tenant_id == tenant_id)
    )
    if canonical_id is not None:
        query = query.where(Snapshot.canonical_id == canonical_id)
    if mapping_id is not None:
        query = query.where(Snapshot.mapping_id == mapping_id)
    if environment_id is not None:
        query = query.where(Snapshot.environment_id == environment_id)
    if after is not None:
        query = query.where(tuple_(Snapshot.created_at, Snapshot.id) < after)
    query = query.order_by(Snapshot.created_at.desc(), Snapshot.id.desc()).limit(limit)
    return list(session.scalars(query))


def _require_known(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    canonical_id: uuid.UUID | None,
    mapping_id: uuid.UUID | None,
    environment_id: uuid.UUID | None = None,
) -> None:
    known: tuple[tuple[type[CanonicalWorkflow | WorkflowEnvMap | Environment], Any, str], ...] = (
        (CanonicalWorkflow, canonical_id, "canonical workflow"),
        (WorkflowEnvMap, mapping_id, "mapping"),
        (Environment, environment_id, "environment"),
    )
    for model, wanted, what in known:
        if wanted is None:
            continue
        found = session.scalar(
            select(model.id).where(model.tenant_id == tenant_id, model.id == wanted)
        )
        if found is None:
            raise NotFound(f"no {what} {wanted}")


def get_or_raise(session: Session, tenant_id: uuid.UUID, snapshot_id: uuid.UUID) -> Snapshot:
    snapshot = session.scalars(
        select(Snapshot).where(Snapshot.tenant_id == tenant_id, Snapshot.id == snapshot_id)
    ).one_or_none()
    if snapshot is None:
        raise NotFound(f"no snapshot {snapshot_id}")
    return snapshot
