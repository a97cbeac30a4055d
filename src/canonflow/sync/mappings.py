"""Queries and bulk writes on `workflow_env_map` used by the environment sync."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from canonflow.core.status import LIVE_STATUSES, MappingStatus
from canonflow.db.models import CanonicalWorkflow, StatusEvent, SyncRun, WorkflowEnvMap
from canonflow.db.planner import unindexed

# Core tables for bulk writes: no ORM bookkeeping per row.
MAPPINGS: Table = WorkflowEnvMap.__table__  # type: ignore[assignment]
STATUS_EVENTS: Table = StatusEvent.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class ExistingMapping:
    id: uuid.UUID
    n8n_workflow_id: str
    canonical_id: uuid.UUID | None
    status: MappingStatus
    env_content_hash: str | None
    workflow_name: str | None
    n8n_updated_at: Any
    status_changed_at: Any
    present: bool = True
    env_hash_version: int | None = None
    n8n_draft_hash: str | None = None
    n8n_active: bool | None = None
    n8n_active_version_id: str | None = None


def existing_in_environment(
    session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID
) -> dict[str, ExistingMapping]:
    """Every mapping of the environment, keyed by n8n id: one query at the start of a sync."""
    return _existing(
        session,
        WorkflowEnvMap.tenant_id == tenant_id,
        WorkflowEnvMap.environment_id == environment_id,
    )


def existing_for(
    session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID, n8n_ids: Collection[str]
) -> dict[str, ExistingMapping]:
    """The environment's mappings of these n8n ids (one listed page's), keyed by n8n id: a
    sync reads them page by page, so its memory does not grow with the environment. They
    are looked up on the unique (environment, n8n id) key; the tenant filters, but must not
    pick SQLite's index (`canonflow.db.planner`)."""
    if not n8n_ids:
        return {}
    return _existing(
        session,
        unindexed(MAPPINGS.c.tenant_id) == tenant_id,
        WorkflowEnvMap.environment_id == environment_id,
        WorkflowEnvMap.n8n_workflow_id.in_(sorted(n8n_ids)),
    )


def presence_page(
    session: Session,
    tenant_id: uuid.UUID,
    environment_id: uuid.UUID,
    *,
    after: str | None,
    limit: int,
) -> list[ExistingMapping]:
    """Up to `limit` of the environment's mappings a complete listing could mark absent
    (present, or linked/untracked), in n8n id order after `after`: a keyset page on the
    unique (environment_id, n8n_workflow_id) index."""
    m = WorkflowEnvMap
    conditions = [
        m.tenant_id == tenant_id,
        m.environment_id == environment_id,
        or_(m.present.is_(True), m.status.in_((MappingStatus.LINKED, MappingStatus.UNTRACKED))),
    ]
    if after is not None:
        conditions.append(m.n8n_workflow_id > after)
    rows = _existing(session, *conditions, order=m.n8n_workflow_id, limit=limit)
    return list(rows.values())


def _existing(
    session: Session, *conditions: Any, order: Any = None, limit: int | None = None
) -> dict[str, ExistingMapping]:
    rows = session.execute(
        select(
            WorkflowEnvMap.id,
            WorkflowEnvMap.n8n_workflow_id,
            WorkflowEnvMap.canonical_id,
            WorkflowEnvMap.status,
            WorkflowEnvMap.env_content_hash,
            WorkflowEnvMap.workflow_name,
            WorkflowEnvMap.n8n_updated_at,
            WorkflowEnvMap.status_changed_at,
            WorkflowEnvMap.present,
            WorkflowEnvMap.env_hash_version,
            WorkflowEnvMap.n8n_draft_hash,
            WorkflowEnvMap.n8n_active,
            WorkflowEnvMap.n8n_active_version_id,
        )
        .where(*conditions)
        .order_by(order)
        .limit(limit)
    )
    return {row.n8n_workflow_id: ExistingMapping(**row._mapping) for row in rows}


def reference_slugs(
    session: Session,
    tenant_id: uuid.UUID,
    environment_id: uuid.UUID,
    *,
    only: Collection[str] | None = None,
) -> dict[str, str]:
    """n8n workflow id → canonical slug for the environment's linked workflows; with `only`,
    just for those ids (a diff needs the few its two documents name, not the whole
    environment's thousands), looked up on the unique (environment, n8n id) key."""
    tenant = MAPPINGS.c.tenant_id if only is None else unindexed(MAPPINGS.c.tenant_id)
    statement = (
        select(WorkflowEnvMap.n8n_workflow_id, CanonicalWorkflow.canonical_slug)
        .join(CanonicalWorkflow, CanonicalWorkflow.id == WorkflowEnvMap.canonical_id)
        .where(
            tenant == tenant_id,
            WorkflowEnvMap.environment_id == environment_id,
            CanonicalWorkflow.tenant_id == tenant_id,
        )
    )
    if only is not None:
        if not only:
            return {}
        statement = statement.where(WorkflowEnvMap.n8n_workflow_id.in_(sorted(only)))
    return {row.n8n_workflow_id: row.canonical_slug for row in session.execute(statement)}


def reference_fingerprint(
    session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID, *, chunk: int = 2000
) -> str:
    """`refs_fingerprint(reference_slugs(...))` without holding the map: the pairs stream
    in code point order of the n8n id (Python's `sorted`; byte order of UTF-8, hence
    `COLLATE "C"` on PostgreSQL) into the same SHA-256 over the same JSON bytes."""
    order: Any = WorkflowEnvMap.n8n_workflow_id
    if session.get_bind().dialect.name == "postgresql":
        order = order.collate("C")
    statement = (
        select(WorkflowEnvMap.n8n_workflow_id, CanonicalWorkflow.canonical_slug)
        .join(CanonicalWorkflow, CanonicalWorkflow.id == WorkflowEnvMap.canonical_id)
        .where(
            WorkflowEnvMap.tenant_id == tenant_id,
            WorkflowEnvMap.environment_id == environment_id,
            CanonicalWorkflow.tenant_id == tenant_id,
        )
        .order_by(order)
        .execution_options(yield_per=chunk)
    )
    digest = hashlib.sha256(b"[")
    separator = b""
    result = session.execute(statement)
    try:
        for n8n_id, slug in result:
            digest.update(separator + orjson.dumps((n8n_id, slug)))
            separator = b","
    finally:
        result.close()  # a server-side cursor on PostgreSQL
    digest.update(b"]")
    return digest.hexdigest()[:16]


def untracked_in(
    session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID
) -> list[tuple[uuid.UUID, str | None, str | None]]:
    rows = session.execute(
        select(
            WorkflowEnvMap.id, WorkflowEnvMap.workflow_name, WorkflowEnvMap.env_content_hash
        ).where(
            WorkflowEnvMap.tenant_id == tenant_id,
            WorkflowEnvMap.environment_id == environment_id,
            WorkflowEnvMap.status == MappingStatus.UNTRACKED,
            WorkflowEnvMap.canonical_id.is_(None),
        )
    )
    return [(row.id, row.workflow_name, row.env_content_hash) for row in rows]


def unlinked_canonicals(
    session: Session,
    tenant_id: uuid.UUID,
    environment_id: uuid.UUID,
    *,
    matching: tuple[Collection[str], Collection[str]] | None = None,
) -> list[tuple[uuid.UUID, str, str | None]]:
    """Canonical workflows of the tenant that no live mapping holds in this environment (a
    missing or deleted one lets go of it when another workflow takes its place).
    `matching` = (names, content hashes): only those with one of the names or hashes."""
    linked_here = select(WorkflowEnvMap.canonical_id).where(
        WorkflowEnvMap.tenant_id == tenant_id,
        WorkflowEnvMap.environment_id == environment_id,
        WorkflowEnvMap.canonical_id.is_not(None),
        WorkflowEnvMap.status.in_(LIVE_STATUSES),
    )
    query = select(
        CanonicalWorkflow.id, CanonicalWorkflow.name, CanonicalWorkflow.content_hash
    ).where(
        CanonicalWorkflow.tenant_id == tenant_id,
        CanonicalWorkflow.is_deleted.is_(False),
        CanonicalWorkflow.id.not_in(linked_here),
    )
    if matching is not None:
        names, hashes = matching
        query = query.where(
            or_(
                CanonicalWorkflow.name.in_(sorted(names)),
                CanonicalWorkflow.content_hash.in_(sorted(hashes)),
            )
        )
    rows = session.execute(query)
    return [(row.id, row.name, row.content_hash) for row in rows]


def release_replaced(
    session: Session,
    tenant_id: uuid.UUID,
    environment_id: uuid.UUID,
    canonical_ids: Iterable[uuid.UUID],
) -> dict[uuid.UUID, uuid.UUID]:
    """Before other mappings take these canonical workflows in the environment, the missing
    or deleted mappings holding them let go (their history stays, and
    `released_canonical_id` says what they held). Returns canonical id → released mapping id.
    A live holder keeps its canonical (linking to it then stays a conflict)."""
    m = WorkflowEnvMap
    held = session.execute(
        select(m.id, m.canonical_id).where(
            unindexed(MAPPINGS.c.tenant_id) == tenant_id,  # the unique (canonical, env) key
            m.environment_id == environment_id,
            m.canonical_id.in_(list(canonical_ids)),
            m.status.not_in(LIVE_STATUSES),
        )
    ).all()
    released: dict[uuid.UUID, uuid.UUID] = {}
    for mapping_id, canonical_id in held:
        done = session.execute(
            update(m)
            .where(m.id == mapping_id, m.status.not_in(LIVE_STATUSES))
            .values(canonical_id=None, released_canonical_id=canonical_id)
        )
        if canonical_id is not None and getattr(done, "rowcount", 0) == 1:
            released[canonical_id] = mapping_id
    return released


def reclaim_released(
    session: Session, released: dict[uuid.UUID, uuid.UUID], taken: Iterable[uuid.UUID]
) -> None:
    """Undo `release_replaced` for the canonical workflows no mapping took after all (its
    link was skipped): the old mapping holds its canonical again."""
    kept = set(taken)
    untaken = [mapping for canonical, mapping in released.items() if canonical not in kept]
    if untaken:
        m = WorkflowEnvMap
        session.execute(
            update(m)
            .where(m.id.in_(untaken))
            .values(canonical_id=m.released_canonical_id, released_canonical_id=None)
        )


def canonical_hashes(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    rows = session.execute(
        select(CanonicalWorkflow.id, CanonicalWorkflow.content_hash).where(
            CanonicalWorkflow.id.in_(list(ids))
        )
    )
    return {row.id: row.content_hash for row in rows}


def insert_mappings(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(MAPPINGS), rows)


def update_if_status_unchanged(
    session: Session, rows: list[dict[str, Any]], columns: Sequence[str]
) -> set[uuid.UUID]:
    """Bulk UPDATE rows whose status is still `expected_status` (a user may have changed it
    since it was read); returns the ids that were skipped."""
    if not rows:
        return set()
    table = MAPPINGS
    statement = (
        update(table)
        .where(table.c.id == bindparam("key"), table.c.status == bindparam("expected_status"))
        .values({column: bindparam(f"new_{column}") for column in columns})
    )
    params = [
        {"key": row["id"], "expected_status": row["expected_status"]}
        | {f"new_{column}": row[column] for column in columns}
        for row in rows
    ]
    session.execute(statement, params)
    still = session.execute(
        select(table.c.id, table.c.status).where(table.c.id.in_([row["id"] for row in rows]))
    )
    wanted = {row["id"]: row.get("status", row["expected_status"]) for row in rows}
    return {row.id for row in still if row.status != wanted[row.id]}


def insert_status_events(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(STATUS_EVENTS), rows)


def last_complete_run_details(
    session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID
) -> dict[str, Any]:
    details = session.scalars(
        select(SyncRun.details)
        .where(
            SyncRun.tenant_id == tenant_id,
            SyncRun.environment_id == environment_id,
            SyncRun.complete.is_(True),
        )
        .order_by(SyncRun.started_at.desc())
        .limit(1)
    ).first()
    return details or {}
