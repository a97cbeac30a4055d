"""The changed node/parameter paths of the workflows a drift/conflict event lists: the
semantic diff (`core.diff`) from Git's version to what the environment runs, computed in
the delivery job from the stored documents (never in the sync)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow.core.definitions import referenced_ids
from canonflow.core.diff import diff_workflows
from canonflow.core.diff_paths import capped, changed_paths
from canonflow.core.publication import running_form
from canonflow.db.models import CanonicalWorkflow, WorkflowEnvMap
from canonflow.notifications.catalog import MAX_PATHS_PER_WORKFLOW


def with_changed_paths(
    session: Session, tenant_id: uuid.UUID, data: dict[str, Any]
) -> dict[str, Any]:
    """`data` with each listed workflow's `changed_paths` (capped) and `more_paths`."""
    workflows = []
    for workflow in data.get("workflows") or []:
        paths = _paths(session, tenant_id, workflow.get("mapping_id"))
        shown, more = capped(paths, MAX_PATHS_PER_WORKFLOW)
        workflows.append({**workflow, "changed_paths": shown, "more_paths": more})
    return {**data, "workflows": workflows}


def _paths(session: Session, tenant_id: uuid.UUID, mapping_id: str | None) -> list[str]:
    if mapping_id is None:
        return []
    row = session.execute(
        select(WorkflowEnvMap, CanonicalWorkflow)
        .join(CanonicalWorkflow, CanonicalWorkflow.id == WorkflowEnvMap.canonical_id)
        .where(
            WorkflowEnvMap.tenant_id == tenant_id,
            CanonicalWorkflow.tenant_id == tenant_id,
            WorkflowEnvMap.id == uuid.UUID(mapping_id),
        )
    ).one_or_none()
    if row is None:
        return []
    mapping, canonical = row
    if mapping.workflow_data is None:
        return []
    old, new = dict(canonical.workflow_definition), dict(running_form(mapping.workflow_data))
    refs = _reference_slugs(
        session, tenant_id, mapping.environment_id, referenced_ids(old) | referenced_ids(new)
    )
    return changed_paths(diff_workflows(old, new, old_refs=refs, new_refs=refs))


def _reference_slugs(
    session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID, only: Collection[str]
) -> dict[str, str]:
    """n8n id → canonical slug for the ids the two documents name (as the diff API does)."""
    if not only:
        return {}
    rows = session.execute(
        select(WorkflowEnvMap.n8n_workflow_id, CanonicalWorkflow.canonical_slug)
        .join(CanonicalWorkflow, CanonicalWorkflow.id == WorkflowEnvMap.canonical_id)
        .where(
            WorkflowEnvMap.tenant_id == tenant_id,
            WorkflowEnvMap.environment_id == environment_id,
            CanonicalWorkflow.tenant_id == tenant_id,
            WorkflowEnvMap.n8n_workflow_id.in_(sorted(only)),
        )
    )
    return {row.n8n_workflow_id: row.canonical_slug for row in rows}
