"""Queries and bulk writes on `workflow_env_map` used by the environment sync."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, Update, cast, column, insert, select, update, values
from sqlalchemy.orm import Session

from canonflow.core.status import MappingStatus
from canonflow.db.models import CanonicalWorkflow, StatusEvent, SyncRun, WorkflowEnvMap

# Core tables for bulk writes: no ORM bookkeeping per row.
MAPPINGS: Table = WorkflowEnvMap.__table__  # type: ignore[assignment]
STATUS_EVENTS: Table = StatusEvent.__table__  # type: ignore[assignment]
UPDATE_CHUNK = 500  # rows per guarded UPDATE: (2 + columns) bound values each


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


def existing_in_environment(
    session: Session, environment_id: uuid.UUID
) -> dict[str, ExistingMapping]:
    """Every mapping of the environment, keyed by n8n id: one query at the start of a sync."""
    return _existing(session, WorkflowEnvMap.environment_id == environment_id)


def _existing(session: Session, *conditions: Any) -> dict[str, ExistingMapping]:
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
        ).where(*conditions)
    )
    return {row.n8n_workflow_id: ExistingMapping(*row) for row in rows}


def reference_slugs(session: Session, environment_id: uuid.UUID) -> dict[str, str]:
    """n8n workflow id → canonical slug for the environment's linked workflows."""
    rows = session.execute(
        select(WorkflowEnvMap.n8n_workflow_id, CanonicalWorkflow.canonical_slug)
        .join(CanonicalWorkflow, CanonicalWorkflow.id == WorkflowEnvMap.canonical_id)
        .where(WorkflowEnvMap.environment_id == environment_id)
    )
    return {row.n8n_workflow_id: row.canonical_slug for row in rows}


def untracked_in(
    session: Session, environment_id: uuid.UUID
) -> list[tuple[uuid.UUID, str | None, str | None]]:
    rows = session.execute(
        select(
            WorkflowEnvMap.id, WorkflowEnvMap.workflow_name, WorkflowEnvMap.env_content_hash
        ).where(
            WorkflowEnvMap.environment_id == environment_id,
            WorkflowEnvMap.status == MappingStatus.UNTRACKED,
            WorkflowEnvMap.canonical_id.is_(None),
        )
    )
    return [(row.id, row.workflow_name, row.env_content_hash) for row in rows]


def unlinked_canonicals(
    session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID
) -> list[tuple[uuid.UUID, str, str | None]]:
    """Canonical workflows of the tenant with no mapping in this environment."""
    linked_here = select(WorkflowEnvMap.canonical_id).where(
        WorkflowEnvMap.environment_id == environment_id,
        WorkflowEnvMap.canonical_id.is_not(None),
    )
    rows = session.execute(
        select(CanonicalWorkflow.id, CanonicalWorkflow.name, CanonicalWorkflow.content_hash).where(
            CanonicalWorkflow.tenant_id == tenant_id,
            CanonicalWorkflow.is_deleted.is_(False),
            CanonicalWorkflow.id.not_in(linked_here),
        )
    )
    return [(row.id, row.name, row.content_hash) for row in rows]


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
    since it was read); returns the ids that were skipped.

    One `WITH given AS (VALUES ...) UPDATE ... FROM given RETURNING id` per UPDATE_CHUNK
    rows: the database matches and reports them, instead of a statement per row and a
    read back."""
    if not rows:
        return set()
    updated: set[uuid.UUID] = set()
    postgresql = session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(rows), UPDATE_CHUNK):
        chunk = rows[start : start + UPDATE_CHUNK]
        updated.update(session.scalars(_guarded_update(chunk, columns, typed=postgresql)))
    return {row["id"] for row in rows} - updated


def _guarded_update(rows: list[dict[str, Any]], columns: Sequence[str], *, typed: bool) -> Update:
    """`typed`: cast each given value to its column's type (PostgreSQL types a NULL in a
    VALUES list as text; SQLite's CAST would turn a timestamp's text into a number)."""
    table = MAPPINGS
    rows_given = values(
        column("key", table.c.id.type),
        column("expected_status", table.c.status.type),
        *(column(name, table.c[name].type) for name in columns),
        name="given",
    ).data([(row["id"], row["expected_status"], *(row[name] for name in columns)) for row in rows])
    given = rows_given.cte("given")  # SQLite takes column names on a CTE, not on a FROM alias
    return (
        update(table)
        .where(table.c.id == given.c.key, table.c.status == given.c.expected_status)
        .values(
            {
                name: cast(given.c[name], table.c[name].type) if typed else given.c[name]
                for name in columns
            }
        )
        .returning(table.c.id)
    )


def insert_status_events(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(STATUS_EVENTS), rows)


def last_complete_run_details(session: Session, environment_id: uuid.UUID) -> dict[str, Any]:
    details = session.scalars(
        select(SyncRun.details)
        .where(SyncRun.environment_id == environment_id, SyncRun.complete.is_(True))
        .order_by(SyncRun.started_at.desc())
        .limit(1)
    ).first()
    return details or {}
