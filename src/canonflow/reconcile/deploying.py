"""Write one definition into one environment's n8n (git_wins, rollback, restore): re-check
the target, snapshot what it holds, PUT (or POST), record the result."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canonflow import audit
from canonflow.core.deploy import DeployBlocked, build_deploy_body
from canonflow.core.enums import SnapshotSide
from canonflow.core.hashing import content_hash
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, StatusEvent, WorkflowEnvMap
from canonflow.db.types import utcnow
from canonflow.n8n import N8nClient, N8nNotFound
from canonflow.reconcile import snapshots
from canonflow.reconcile.items import ApplyItem, BaseAfter, Outcome, Result
from canonflow.reconcile.planning import TargetFacts
from canonflow.sync.records import parse_timestamp


@dataclass(frozen=True)
class Actor:
    tenant_id: uuid.UUID
    name: str
    token_id: uuid.UUID | None
    reason: str


def deploy_item(
    sessions: sessionmaker[Session],
    client: N8nClient,
    facts: TargetFacts,
    item: ApplyItem,
    definition: Mapping[str, Any],
    actor: Actor,
) -> Outcome:
    """Raises `N8nError` when n8n fails (the caller decides whether to go on)."""
    with transaction(sessions) as session:
        canonical = _canonical(session, actor.tenant_id, item.canonical_id)
        mapping = _mapping(session, actor.tenant_id, item)
        slug, canonical_hash = canonical.canonical_slug, canonical.content_hash
        # a missing workflow (deleted in n8n) is created again, its mapping re-pointed
        live = mapping is not None and mapping.status is not MappingStatus.MISSING
        n8n_id = mapping.n8n_workflow_id if mapping is not None and live else None
    if item.expected_git_hash is not None and canonical_hash != item.expected_git_hash:
        return Outcome(item, Result.STALE, "Git changed since the plan: plan again")
    if item.mapping_id is None and mapping is not None:
        return Outcome(item, Result.STALE, "the workflow appeared in n8n since the plan")
    target, current = None, None
    if n8n_id is not None:
        try:
            target = client.get_workflow(n8n_id)
        except N8nNotFound:
            return Outcome(item, Result.STALE, f"workflow {n8n_id} was deleted in n8n")
        current = content_hash(target, facts.refs)
    try:
        body = build_deploy_body(
            dict(definition),
            target=target,
            credentials=facts.credentials,
            workflow_ids=facts.workflow_ids,
        )
    except DeployBlocked as blocked:
        return Outcome(item, Result.BLOCKED, str(blocked))
    if target is not None and current == body.content_hash:
        # already there (a run cut short after n8n took the write): record it, write nothing
        with transaction(sessions) as session:
            _record(session, item, target, body.content_hash, canonical_hash, actor)
        return Outcome(item, Result.APPLIED, "already in n8n", current, n8n_id)
    if item.expected_env_hash is not None and current != item.expected_env_hash:
        return Outcome(item, Result.STALE, "the workflow changed in n8n since the plan")
    snapshot_id = _snapshot(sessions, item, target, facts, actor)
    if n8n_id is not None:
        written = client.update_workflow(n8n_id, body.body)
    else:
        written = client.create_workflow(body.body)
    refs = {**facts.refs, str(written["id"]): slug}
    new_hash = content_hash(written, refs)
    with transaction(sessions) as session:
        _record(session, item, written, new_hash, canonical_hash, actor)
    facts.workflow_ids[slug] = str(written["id"])
    facts.refs[str(written["id"])] = slug
    detail = "deployed" if n8n_id is not None else "created"
    if body.left_out:
        detail += f" (left out, n8n's API cannot take them: {', '.join(body.left_out)})"
    return Outcome(item, Result.APPLIED, detail, new_hash, str(written["id"]), snapshot_id)


def _snapshot(
    sessions: sessionmaker[Session],
    item: ApplyItem,
    target: dict[str, Any] | None,
    facts: TargetFacts,
    actor: Actor,
) -> uuid.UUID | None:
    if target is None:
        return None
    with transaction(sessions) as session:  # committed before n8n is written
        return snapshots.take(
            session,
            tenant_id=actor.tenant_id,
            side=SnapshotSide.ENV,
            workflow=target,
            content_hash=content_hash(target, facts.refs),
            reason=actor.reason,
            created_by=actor.name,
            mapping_id=item.mapping_id,
            canonical_id=item.canonical_id,
            environment_id=item.environment_id,
        ).id


def _record(
    session: Session,
    item: ApplyItem,
    written: dict[str, Any],
    new_hash: str,
    git_hash: str | None,
    actor: Actor,
) -> None:
    now = utcnow()
    mapping = _mapping(session, actor.tenant_id, item)
    before = mapping.status if mapping is not None else None
    if mapping is None:
        mapping = WorkflowEnvMap(
            tenant_id=actor.tenant_id,
            canonical_id=item.canonical_id,
            environment_id=item.environment_id,
        )
        session.add(mapping)
    if before is not MappingStatus.LINKED:  # created, or created again where it was missing
        mapping.n8n_workflow_id = str(written["id"])
        mapping.status, mapping.status_changed_at = MappingStatus.LINKED, now
        session.flush()
        session.add(
            StatusEvent(
                tenant_id=actor.tenant_id,
                mapping_id=mapping.id,
                canonical_id=item.canonical_id,
                environment_id=item.environment_id,
                from_status=before,
                to_status=MappingStatus.LINKED,
                at=now,
            )
        )
    mapping.env_content_hash = new_hash
    mapping.git_content_hash = git_hash
    if item.base_after is BaseAfter.WRITTEN:
        mapping.base_content_hash = new_hash
    mapping.workflow_name = written.get("name")
    mapping.workflow_data = written
    mapping.n8n_updated_at = parse_timestamp(written.get("updatedAt"))
    mapping.updated_at = now
    session.flush()
    audit.record(
        session,
        tenant_id=actor.tenant_id,
        actor=actor.name,
        actor_token_id=actor.token_id,
        action="workflow.deploy",
        target_type="workflow_env_map",
        target_id=str(mapping.id),
        details={"source": item.source, "content_hash": new_hash, "reason": actor.reason},
    )


def _canonical(
    session: Session, tenant_id: uuid.UUID, canonical_id: uuid.UUID
) -> CanonicalWorkflow:
    return session.scalars(
        select(CanonicalWorkflow).where(
            CanonicalWorkflow.tenant_id == tenant_id, CanonicalWorkflow.id == canonical_id
        )
    ).one()


def _mapping(session: Session, tenant_id: uuid.UUID, item: ApplyItem) -> WorkflowEnvMap | None:
    """The item's mapping, or (for a create) the one that appeared meanwhile."""
    query = select(WorkflowEnvMap).where(WorkflowEnvMap.tenant_id == tenant_id)
    if item.mapping_id is not None:
        query = query.where(WorkflowEnvMap.id == item.mapping_id)
    else:
        query = query.where(
            WorkflowEnvMap.canonical_id == item.canonical_id,
            WorkflowEnvMap.environment_id == item.environment_id,
        )
    return session.scalars(query).one_or_none()
