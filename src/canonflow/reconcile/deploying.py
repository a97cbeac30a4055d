"""Write definitions into one environment's n8n (git_wins, rollback, restore), a batch at a
time: read the batch's rows (one transaction), re-check each target and build its body,
snapshot every target about to be overwritten (one transaction, committed before n8n is
written), write, record what n8n now holds (one transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from canonflow import audit
from canonflow.core.deploy import DeployBlocked, DeployBody, build_deploy_body
from canonflow.core.enums import SnapshotSide
from canonflow.core.hashing import content_hash
from canonflow.core.status import MappingStatus
from canonflow.db.models import AuditEntry, CanonicalWorkflow, StatusEvent, WorkflowEnvMap
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


def record_batch(
    session: Session,
    written: Sequence[tuple[Prepared, dict[str, Any], str]],
    actor: Actor,
) -> list[Outcome]:
    """`record` for a batch: the workflows overwritten in place with one executemany for
    their mappings and one for their audit entries; the others (created) one by one."""
    in_place = [w for w in written if w[0].row.n8n_id is not None and w[0].item.mapping_id]
    others = [w for w in written if w not in in_place]
    outcomes = [record(session, *w, actor) for w in others]
    if not in_place:
        return outcomes
    now = utcnow()
    values = [
        _mapping_values(prepared, answer, digest, now) for prepared, answer, digest in in_place
    ]
    m = _MAPPINGS
    for keep_base in (False, True):
        batch = [v for v in values if v["keep_base"] is keep_base]
        if batch:
            columns: dict[str, Any] = {
                c: bindparam(f"v_{c}")
                for c in _RECORDED
                if not (keep_base and c == "base_content_hash")
            }
            session.execute(
                update(m)
                .where(m.c.id == bindparam("mapping_id"), m.c.tenant_id == actor.tenant_id)
                .values(columns),
                batch,
            )
    session.execute(
        insert(_AUDIT),
        [_audit_row(prepared, digest, actor, now) for prepared, _answer, digest in in_place],
    )
    return outcomes + [
        Outcome(
            p.item, Result.APPLIED, _detail(p, digest), digest, str(answer["id"]), p.snapshot_id
        )
        for p, answer, digest in in_place
    ]


_MAPPINGS: Table = WorkflowEnvMap.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]
# not the Git hash: a repo sync may have moved it meanwhile, and it owns it
_RECORDED = (
    "env_content_hash", "base_content_hash", "workflow_name", "workflow_data",
    "n8n_updated_at", "updated_at",
)  # fmt: skip


def _mapping_values(
    prepared: Prepared, answer: dict[str, Any], digest: str, now: Any
) -> dict[str, Any]:
    return {
        "mapping_id": prepared.item.mapping_id,
        "keep_base": prepared.item.base_after is BaseAfter.KEEP,
        "v_env_content_hash": digest,
        "v_base_content_hash": digest,
        "v_workflow_name": answer.get("name"),
        "v_workflow_data": answer,
        "v_n8n_updated_at": parse_timestamp(answer.get("updatedAt")),
        "v_updated_at": now,
    }


def _audit_row(prepared: Prepared, digest: str, actor: Actor, now: Any) -> dict[str, Any]:
    item = prepared.item
    return {
        "id": uuid.uuid4(),
        "tenant_id": actor.tenant_id,
        "actor": actor.name,
        "actor_token_id": actor.token_id,
        "action": "workflow.deploy",
        "target_type": "workflow_env_map",
        "target_id": str(item.mapping_id),
        "details": {"source": item.source, "content_hash": digest, "reason": actor.reason},
        "request_id": None,
        "at": now,
    }


def record(
    session: Session,
    prepared: Prepared,
    written: dict[str, Any],
    new_hash: str,
    actor: Actor,
) -> Outcome:
    """What n8n now holds, on the mapping (created for a new workflow), with an audit entry."""
    item, now = prepared.item, utcnow()
    # the Git side as it is now (a repo sync may have moved it since the batch began)
    git_hash = session.scalar(
        select(CanonicalWorkflow.content_hash).where(
            CanonicalWorkflow.tenant_id == actor.tenant_id,
            CanonicalWorkflow.id == item.canonical_id,
        )
    )
    mapping = _mapping(session, actor.tenant_id, item)
    before = mapping.status if mapping is not None else None
    if mapping is None:
        mapping = WorkflowEnvMap(
            tenant_id=actor.tenant_id,
            canonical_id=item.canonical_id,
            environment_id=item.environment_id,
        )
        session.add(mapping)
    mapping.git_content_hash = git_hash
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
    return Outcome(
        item,
        Result.APPLIED,
        _detail(prepared, new_hash),
        new_hash,
        str(written["id"]),
        prepared.snapshot_id,
    )


def _detail(prepared: Prepared, written_hash: str) -> str:
    if already_there(prepared):
        return "already in n8n"
    detail = "deployed" if prepared.row.n8n_id is not None else "created"
    if prepared.body.left_out:
        detail += f" (left out, n8n's API cannot take them: {', '.join(prepared.body.left_out)})"
    if written_hash != prepared.body.content_hash:
        detail += (
            "; n8n stored a variant of it (its content hash differs from Git's: a bound "
            "credential under its own name, or a field n8n changed), so it will not read as "
            "in sync"
        )
    return detail


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
