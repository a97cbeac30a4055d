"""Write definitions into one environment's n8n (git_wins, rollback, restore), a batch at a
time: read the batch's rows (one transaction), re-check each target and build its body,
snapshot every target about to be overwritten (one transaction, committed before n8n is
written), write, record what n8n now holds (one transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow.core.deploy import DeployBlocked, DeployBody, build_deploy_body
from canonflow.core.enums import SnapshotSide
from canonflow.core.hashing import content_hash
from canonflow.core.status import MappingStatus
from canonflow.db.models import CanonicalWorkflow, WorkflowEnvMap
from canonflow.n8n import N8nClient, N8nNotFound
from canonflow.reconcile import snapshots
from canonflow.reconcile.items import ApplyItem, Outcome, Result
from canonflow.reconcile.planning import TargetFacts


@dataclass(frozen=True)
class Actor:
    tenant_id: uuid.UUID
    name: str
    token_id: uuid.UUID | None
    reason: str


@dataclass(frozen=True)
class Row:
    """What the database holds for one item when its batch starts."""

    slug: str
    canonical_hash: str | None
    definition: dict[str, Any]
    mapping_found: bool
    n8n_id: str | None  # the live workflow to overwrite; None: create one
    mapping_status: MappingStatus | None = None
    canonical_deleted: bool = False


@dataclass
class Prepared:
    item: ApplyItem
    row: Row
    target: dict[str, Any] | None
    current_hash: str | None
    body: DeployBody
    snapshot_id: uuid.UUID | None = None


def load_rows(session: Session, tenant_id: uuid.UUID, items: Sequence[ApplyItem]) -> dict[int, Row]:
    """Row of each item (by position): two queries for the whole batch."""
    c, m = CanonicalWorkflow, WorkflowEnvMap
    canonicals = {
        row.id: row
        for row in session.execute(
            select(
                c.id, c.canonical_slug, c.content_hash, c.workflow_definition, c.is_deleted
            ).where(c.tenant_id == tenant_id, c.id.in_({i.canonical_id for i in items}))
        )
    }
    mappings = {
        (row.canonical_id, row.environment_id): row
        for row in session.execute(
            select(m.canonical_id, m.environment_id, m.n8n_workflow_id, m.status).where(
                m.tenant_id == tenant_id,
                m.canonical_id.in_({i.canonical_id for i in items}),
                m.environment_id.in_({i.environment_id for i in items}),
            )
        )
    }
    rows = {}
    for position, item in enumerate(items):
        canonical = canonicals[item.canonical_id]
        mapping = mappings.get((item.canonical_id, item.environment_id))
        # a missing workflow (deleted in n8n) is created again, its mapping re-pointed
        live = mapping is not None and mapping.status is MappingStatus.LINKED
        rows[position] = Row(
            slug=canonical.canonical_slug,
            canonical_hash=canonical.content_hash,
            definition=canonical.workflow_definition,
            mapping_found=mapping is not None,
            n8n_id=mapping.n8n_workflow_id if mapping is not None and live else None,
            mapping_status=mapping.status if mapping is not None else None,
            canonical_deleted=canonical.is_deleted,
        )
    return rows


def prepare(
    item: ApplyItem,
    row: Row,
    client: N8nClient,
    facts: TargetFacts,
    *,
    definition: Mapping[str, Any] | None = None,
    target: dict[str, Any] | None = None,
) -> Prepared | Outcome:
    """Re-check the item against both sides and build its body (no database). `target`:
    the workflow as n8n listed it a moment ago, else it is read now; `definition`: what to
    write, else the canonical one. Raises `N8nError` when n8n fails."""
    if row.canonical_deleted:
        return Outcome(item, Result.STALE, "the workflow was deleted in Git since the plan")
    if row.mapping_status in (MappingStatus.IGNORED, MappingStatus.DELETED):
        return Outcome(item, Result.BLOCKED, f"its mapping is {row.mapping_status.value}")
    if item.expected_git_hash is not None and row.canonical_hash != item.expected_git_hash:
        return Outcome(item, Result.STALE, "Git changed since the plan: plan again")
    if item.mapping_id is None and row.mapping_found:
        return Outcome(item, Result.STALE, "the workflow appeared in n8n since the plan")
    current = None
    if row.n8n_id is not None:
        try:
            target = target if target is not None else client.get_workflow(row.n8n_id)
        except N8nNotFound:
            return Outcome(item, Result.STALE, f"workflow {row.n8n_id} was deleted in n8n")
        current = content_hash(target, facts.refs)
    else:
        target = None
    try:
        body = build_deploy_body(
            dict(definition if definition is not None else row.definition),
            target=target,
            credentials=facts.credentials,
            workflow_ids=facts.workflow_ids,
        )
    except DeployBlocked as blocked:
        return Outcome(item, Result.BLOCKED, str(blocked))
    prepared = Prepared(item, row, target, current, body)
    if target is not None and current == body.content_hash:
        return prepared  # already there: recorded without a write (see `already_there`)
    if item.expected_env_hash is not None and current != item.expected_env_hash:
        return Outcome(item, Result.STALE, "the workflow changed in n8n since the plan")
    return prepared


def already_there(prepared: Prepared) -> bool:
    """n8n holds the version already (a run cut short after n8n took the write)."""
    return prepared.target is not None and prepared.current_hash == prepared.body.content_hash


def take_snapshots(session: Session, batch: Sequence[Prepared], actor: Actor) -> None:
    """A snapshot of every target about to be overwritten; the caller commits before
    writing to n8n."""
    for prepared in batch:
        if prepared.target is None or already_there(prepared):
            continue
        item = prepared.item
        prepared.snapshot_id = snapshots.take(
            session,
            tenant_id=actor.tenant_id,
            side=SnapshotSide.ENV,
            workflow=prepared.target,
            content_hash=prepared.current_hash,
            reason=actor.reason,
            created_by=actor.name,
            mapping_id=item.mapping_id,
            canonical_id=item.canonical_id,
            environment_id=item.environment_id,
        ).id


def write(prepared: Prepared, client: N8nClient, facts: TargetFacts) -> tuple[dict[str, Any], str]:
    """PUT (or POST) the body; n8n's answer and its content hash. Raises `N8nError`."""
    if already_there(prepared):
        assert prepared.target is not None and prepared.current_hash is not None
        return prepared.target, prepared.current_hash
    n8n_id = prepared.row.n8n_id
    body = prepared.body.body
    written = client.update_workflow(n8n_id, body) if n8n_id else client.create_workflow(body)
    written_id = str(written["id"])
    facts.workflow_ids[prepared.row.slug] = written_id  # later deploys may reference it
    facts.refs[written_id] = prepared.row.slug
    return written, content_hash(written, facts.refs)
