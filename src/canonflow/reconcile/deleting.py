"""Delete orphaned workflows from n8n (`git_wins` or a manual `git` on a workflow whose
canonical was deleted in Git): per environment, holding its sync lease, each workflow is
read again, checked against the plan, snapshotted (committed before n8n is touched),
deleted with `DELETE /api/v1/workflows/{id}`, and its mapping becomes `deleted` with a
status event and an audit entry.

n8n 2.x refuses to delete a published (active) workflow: the client unpublishes it first
and retries 2.x's "still being unpublished" answer (`N8nClient.delete_workflow`). It is a
real delete on both majors, not 2.x's archive: the snapshot taken before keeps the content,
and an archived copy would linger in n8n's listing. An archived workflow counts as missing
(a sync marks its mapping so): it is left alone here, stale."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow import audit
from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.enums import SnapshotSide
from canonflow.core.hashing import content_hash
from canonflow.core.status import MappingEvent, MappingFacts, MappingStatus, transition
from canonflow.db import leases
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, StatusEvent, WorkflowEnvMap
from canonflow.db.types import utcnow
from canonflow.jobs.registry import JobContext
from canonflow.n8n import N8nClient, N8nNotFound
from canonflow.reconcile import snapshots
from canonflow.reconcile.deploying import Actor
from canonflow.reconcile.items import ApplyItem, Outcome, Result
from canonflow.sync.environment import LEASE_TTL, sync_lease_name
from canonflow.sync.mappings import reference_slugs

ClientFor = Callable[[uuid.UUID], N8nClient]


@dataclass(frozen=True)
class _Target:
    n8n_id: str
    refs: dict[str, str]


def delete_items(
    context: JobContext,
    clients: ClientFor,
    actor: Actor,
    items: list[ApplyItem],
    outcomes: list[Outcome],
    total: int,
) -> None:
    """Delete `items` from n8n, one outcome each appended to `outcomes`. Raises the
    `N8nError` that stops them (what was deleted before is recorded)."""
    by_environment: dict[uuid.UUID, list[ApplyItem]] = defaultdict(list)
    for item in items:
        by_environment[item.environment_id].append(item)
    for environment_id, batch in by_environment.items():
        with leases.held(
            context.sessions,
            name=sync_lease_name(environment_id),
            tenant_id=context.tenant_id,
            ttl=LEASE_TTL,
            busy_message="a sync of the environment is running: apply again once it ends",
        ) as lease:
            for item in batch:
                outcomes.append(_delete(context, clients(environment_id), actor, item))
                context.report_progress(len(outcomes), total)
                lease.renew()


def _delete(context: JobContext, client: N8nClient, actor: Actor, item: ApplyItem) -> Outcome:
    with transaction(context.sessions) as session:
        target = _check(session, actor.tenant_id, item)
    if isinstance(target, Outcome):
        return target
    try:
        workflow = client.get_workflow(target.n8n_id)
    except N8nNotFound:
        return Outcome(item, Result.STALE, f"workflow {target.n8n_id} is no longer in n8n")
    if workflow.get("isArchived") is True:
        detail = f"workflow {target.n8n_id} is archived in n8n: it counts as missing, not deleted"
        return Outcome(item, Result.STALE, detail)
    current = content_hash(workflow, target.refs)  # of what it runs (core.publication)
    if item.expected_env_hash is not None and current != item.expected_env_hash:
        return Outcome(item, Result.STALE, "the workflow changed in n8n since the plan")
    with transaction(context.sessions) as session:  # committed before n8n is written
        snapshot_id = _snapshot(session, item, workflow, current, actor)
    try:
        client.delete_workflow(target.n8n_id)
    except N8nNotFound:
        return Outcome(item, Result.STALE, f"workflow {target.n8n_id} was deleted meanwhile")
    with transaction(context.sessions) as session:
        _record(session, item, target.n8n_id, snapshot_id, actor)
    detail = "deleted from n8n (its canonical workflow is deleted in Git)"
    return Outcome(item, Result.APPLIED, detail, current, target.n8n_id, snapshot_id)


def _check(session: Session, tenant_id: uuid.UUID, item: ApplyItem) -> _Target | Outcome:
    """The workflow to delete, or why not: it must still be an orphan as planned."""
    mapping = _mapping(session, tenant_id, item.mapping_id)
    if mapping is None or mapping.canonical_id != item.canonical_id:
        return Outcome(item, Result.STALE, "its mapping changed since the plan: plan again")
    if mapping.status is not MappingStatus.LINKED:
        return Outcome(item, Result.STALE, f"its mapping is {mapping.status.value} now")
    deleted = session.scalar(
        select(CanonicalWorkflow.is_deleted).where(
            CanonicalWorkflow.tenant_id == tenant_id, CanonicalWorkflow.id == item.canonical_id
        )
    )
    if not deleted:
        return Outcome(item, Result.STALE, "the workflow is back in Git since the plan")
    return _Target(
        mapping.n8n_workflow_id, reference_slugs(session, tenant_id, item.environment_id)
    )


def _snapshot(
    session: Session, item: ApplyItem, workflow: dict[str, Any], digest: str, actor: Actor
) -> uuid.UUID:
    return snapshots.take(
        session,
        tenant_id=actor.tenant_id,
        side=SnapshotSide.ENV,
        workflow=workflow,
        content_hash=digest,
        reason=actor.reason,
        created_by=actor.name,
        mapping_id=item.mapping_id,
        canonical_id=item.canonical_id,
        environment_id=item.environment_id,
    ).id


def _record(
    session: Session, item: ApplyItem, n8n_id: str, snapshot_id: uuid.UUID, actor: Actor
) -> None:
    """The mapping is `deleted` now (terminal), with its status event and an audit entry."""
    mapping = _mapping(session, actor.tenant_id, item.mapping_id)
    assert mapping is not None
    before, now = mapping.status, utcnow()
    facts = MappingFacts(has_canonical=True, present=False)
    mapping.status = transition(before, MappingEvent.DELETED, facts)
    mapping.is_deleted, mapping.status_changed_at, mapping.updated_at = True, now, now
    session.add(
        StatusEvent(
            tenant_id=actor.tenant_id,
            mapping_id=mapping.id,
            canonical_id=mapping.canonical_id,
            environment_id=mapping.environment_id,
            from_status=before,
            to_status=mapping.status,
            at=now,
        )
    )
    session.flush()
    record_state_changes(
        session, actor.tenant_id, StateCause.DELETE, mapping_ids=[mapping.id], at=now
    )
    audit.record(
        session,
        tenant_id=actor.tenant_id,
        actor=actor.name,
        actor_token_id=actor.token_id,
        action="workflow.delete",
        target_type="workflow_env_map",
        target_id=str(mapping.id),
        details={
            "n8n_workflow_id": n8n_id,
            "canonical_id": str(item.canonical_id),
            "snapshot_id": str(snapshot_id),
            "state": "orphaned",
            "reason": actor.reason,
        },
    )


def _mapping(
    session: Session, tenant_id: uuid.UUID, mapping_id: uuid.UUID | None
) -> WorkflowEnvMap | None:
    if mapping_id is None:
        return None
    return session.scalars(
        select(WorkflowEnvMap).where(
            WorkflowEnvMap.tenant_id == tenant_id, WorkflowEnvMap.id == mapping_id
        )
    ).one_or_none()
