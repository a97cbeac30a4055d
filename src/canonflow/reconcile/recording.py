"""Record what deploys wrote: the one write path for a deploy's outcome (a batch of one or
many, in place or created).

For every written workflow, in one transaction: its mapping gets what n8n now holds (env
hash and its rule version, name, JSON, `updatedAt`), the Git side as it is now (a repo sync
may have moved it since the batch began), the base (unless the item keeps it: a restore),
and the status the facts call for (the workflow is present and linked), with a status
event where that changes; an audit entry. A workflow created where the canonical's
mapping was missing or deleted gets a mapping of its own, and the old one lets go of the
canonical and keeps its history (DESIGN section 3). Bulk statements: one query per kind of
row, whatever the batch's size.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.hashing import version_of
from canonflow.core.publication import active_version_id
from canonflow.core.status import MappingEvent, MappingFacts, MappingState, MappingStatus, step
from canonflow.db.models import AuditEntry, CanonicalWorkflow, StatusEvent, WorkflowEnvMap
from canonflow.db.types import utcnow
from canonflow.reconcile.deploying import Actor, Prepared, already_there
from canonflow.reconcile.items import BaseAfter, Outcome, Result
from canonflow.sync import mappings as mapping_queries
from canonflow.sync.records import parse_timestamp

Written = tuple[Prepared, dict[str, Any], str]  # what was written, n8n's answer, its hash

_MAPPINGS: Table = WorkflowEnvMap.__table__  # type: ignore[assignment]
_EVENTS: Table = StatusEvent.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]
_RECORDED = (
    "canonical_id", "status", "status_changed_at", "present", "env_content_hash",
    "env_hash_version", "git_content_hash", "base_content_hash", "workflow_name",
    "workflow_data", "n8n_updated_at", "updated_at", "n8n_draft_hash", "n8n_active",
    "n8n_active_version_id",
)  # fmt: skip


@dataclass(frozen=True)
class _Current:
    """A mapping as it is when the outcome is recorded."""

    id: uuid.UUID
    canonical_id: uuid.UUID | None
    environment_id: uuid.UUID
    n8n_workflow_id: str
    status: MappingStatus
    present: bool
    base_content_hash: str | None
    status_changed_at: datetime


@dataclass
class _Rows:
    updates: list[dict[str, Any]]
    inserts: list[dict[str, Any]]
    events: list[dict[str, Any]]
    audits: list[dict[str, Any]]


def record(session: Session, written: Sequence[Written], actor: Actor) -> list[Outcome]:
    """Record each written workflow on its mapping; one outcome each (applied)."""
    if not written:
        return []
    now = utcnow()
    git_hashes = _git_hashes(session, actor.tenant_id, {w[0].item.canonical_id for w in written})
    current = _current(session, actor.tenant_id, written)
    _release_replaced(session, actor.tenant_id, written, current)
    rows = _Rows([], [], [], [])
    for prepared, answer, digest in written:
        item = prepared.item
        mapping = current.get((item.environment_id, str(answer["id"])))
        values = _values(prepared, answer, digest, git_hashes.get(item.canonical_id), now)
        mapping_id = _place(rows, mapping, values, actor, prepared, now)
        rows.audits.append(_audit_row(prepared, mapping_id, digest, actor, now))
    if rows.inserts:
        session.execute(insert(_MAPPINGS), rows.inserts)
    if rows.updates:
        m = _MAPPINGS
        session.execute(
            update(m)
            .where(m.c.id == bindparam("key"), m.c.tenant_id == actor.tenant_id)
            .values({column: bindparam(f"v_{column}") for column in _RECORDED}),
            rows.updates,
        )
    if rows.events:
        session.execute(insert(_EVENTS), rows.events)
    session.execute(insert(_AUDIT), rows.audits)
    _record_states(session, actor.tenant_id, written, rows, now)
    return [_outcome(p, answer, digest) for p, answer, digest in written]


def _record_states(
    session: Session, tenant_id: uuid.UUID, written: Sequence[Written], rows: _Rows, at: datetime
) -> None:
    """The cells written change state: `restore` where the item keeps the base, else `deploy`."""
    ids = {row["key"] for row in rows.updates} | {row["id"] for row in rows.inserts}
    restored = any(p.item.base_after is BaseAfter.KEEP for p, _answer, _digest in written)
    cause = StateCause.RESTORE if restored else StateCause.DEPLOY
    record_state_changes(session, tenant_id, cause, mapping_ids=ids, at=at)


def _place(
    rows: _Rows,
    mapping: _Current | None,
    values: dict[str, Any],
    actor: Actor,
    prepared: Prepared,
    now: datetime,
) -> uuid.UUID:
    """Add the mapping's row (an update of the one holding this n8n workflow, or a new
    one) and its status event; returns the mapping's id."""
    item = prepared.item
    facts = MappingFacts(has_canonical=True, present=mapping.present if mapping else False)
    before = MappingState(mapping.status if mapping else None, facts)
    after = step(before, MappingEvent.SYNC_SEEN)  # n8n holds it: present, and linked
    assert after.status is not None
    moved = after.status is not before.status
    values |= {
        "canonical_id": item.canonical_id,
        "status": after.status,
        "present": True,
        "status_changed_at": now if moved or mapping is None else mapping.status_changed_at,
    }
    if item.base_after is BaseAfter.KEEP or prepared.drafted:
        values["base_content_hash"] = mapping.base_content_hash if mapping else None
    if mapping is None:
        mapping_id = uuid.uuid4()
        rows.inserts.append(_new_row(mapping_id, actor.tenant_id, item.environment_id, values, now))
    else:
        mapping_id = mapping.id
        rows.updates.append({"key": mapping_id} | {f"v_{c}": values[c] for c in _RECORDED})
    if moved:
        rows.events.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": actor.tenant_id,
                "mapping_id": mapping_id,
                "canonical_id": item.canonical_id,
                "environment_id": item.environment_id,
                "from_status": before.status,
                "to_status": after.status,
                "at": now,
            }
        )
    return mapping_id


def _values(
    prepared: Prepared, answer: dict[str, Any], digest: str, git_hash: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "env_content_hash": digest,
        "env_hash_version": version_of(digest),
        "git_content_hash": git_hash,
        "base_content_hash": digest,
        "workflow_name": answer.get("name"),
        "workflow_data": answer,
        "n8n_updated_at": parse_timestamp(answer.get("updatedAt")),
        "updated_at": now,
        # what runs and whether a draft waits, as an env sync keeps them (its skip test and
        # the draft_pending state read these): a drafted write leaves a draft, a publish none
        "n8n_draft_hash": prepared.draft_hash,
        "n8n_active": answer.get("active") is True,
        "n8n_active_version_id": active_version_id(answer),
    }


def _new_row(
    mapping_id: uuid.UUID,
    tenant_id: uuid.UUID,
    environment_id: uuid.UUID,
    values: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    return values | {
        "id": mapping_id,
        "tenant_id": tenant_id,
        "environment_id": environment_id,
        "n8n_workflow_id": str(values["workflow_data"]["id"]),
        "released_canonical_id": None,
        "is_deleted": False,
        "created_at": now,
    }


def _git_hashes(
    session: Session, tenant_id: uuid.UUID, canonical_ids: set[uuid.UUID]
) -> dict[uuid.UUID, str | None]:
    """The Git side as it is now (a repo sync may have moved it since the batch began)."""
    rows = session.execute(
        select(CanonicalWorkflow.id, CanonicalWorkflow.content_hash).where(
            CanonicalWorkflow.tenant_id == tenant_id, CanonicalWorkflow.id.in_(canonical_ids)
        )
    )
    return {row.id: row.content_hash for row in rows}


def _current(
    session: Session, tenant_id: uuid.UUID, written: Sequence[Written]
) -> dict[tuple[uuid.UUID, str], _Current]:
    """The mappings of the written n8n workflows, by (environment, n8n id)."""
    m = WorkflowEnvMap
    environments = {p.item.environment_id for p, _a, _d in written}
    n8n_ids = {str(answer["id"]) for _p, answer, _d in written}
    rows = session.execute(
        select(
            m.id, m.canonical_id, m.environment_id, m.n8n_workflow_id, m.status, m.present,
            m.base_content_hash, m.status_changed_at,
        ).where(
            m.tenant_id == tenant_id,
            m.environment_id.in_(environments),
            m.n8n_workflow_id.in_(n8n_ids),
        )
    )  # fmt: skip
    found = [_Current(**row._mapping) for row in rows]
    return {(row.environment_id, row.n8n_workflow_id): row for row in found}


def _release_replaced(
    session: Session,
    tenant_id: uuid.UUID,
    written: Sequence[Written],
    current: dict[tuple[uuid.UUID, str], _Current],
) -> None:
    """A workflow created where its canonical's mapping was missing or deleted takes its
    place: that mapping lets go of the canonical (and keeps its history)."""
    created: dict[uuid.UUID, list[uuid.UUID]] = {}
    for prepared, answer, _digest in written:
        item = prepared.item
        holder = current.get((item.environment_id, str(answer["id"])))
        if holder is None or holder.canonical_id != item.canonical_id:
            created.setdefault(item.environment_id, []).append(item.canonical_id)
    for environment_id, canonical_ids in created.items():
        mapping_queries.release_replaced(session, tenant_id, environment_id, canonical_ids)


def _audit_row(
    prepared: Prepared, mapping_id: uuid.UUID, digest: str, actor: Actor, now: datetime
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": actor.tenant_id,
        "actor": actor.name,
        "actor_token_id": actor.token_id,
        "action": "workflow.deploy",
        "target_type": "workflow_env_map",
        "target_id": str(mapping_id),
        "details": {
            "source": prepared.item.source,
            "content_hash": digest,
            "reason": actor.reason,
        },
        "request_id": None,
        "at": now,
    }


def _outcome(prepared: Prepared, answer: dict[str, Any], digest: str) -> Outcome:
    detail = _detail(prepared, digest)
    n8n_id = str(answer["id"])
    result = Result.DRAFTED if prepared.drafted else Result.APPLIED
    return Outcome(prepared.item, result, detail, digest, n8n_id, prepared.snapshot_id)


def _detail(prepared: Prepared, written_hash: str) -> str:
    if already_there(prepared):
        return "already in n8n"
    if prepared.drafted:
        return (
            "saved in n8n as a draft but not published, so the environment still runs its "
            f"previous version ({prepared.drafted}); publish it in n8n, or deploy again "
            "with a key that may publish"
        )
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
