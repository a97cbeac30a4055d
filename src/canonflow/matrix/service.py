"""Matrix pages, summary and export rows, as plain dicts ready for orjson.

A page is one statement; the response is built straight from its rows (no ORM objects,
no per-row validation), which is what keeps a page near the database's own time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canonflow import gc_pause
from canonflow.core.sync_state import SyncState
from canonflow.db.models import CanonicalWorkflow, Environment
from canonflow.errors import NotFound
from canonflow.matrix.queries import (
    ABSENT,
    STATES,
    STATUSES,
    MatrixFilter,
    deleted_canonical_cells,
    page_query,
    summary_statement,
)

IN_SYNC = SyncState.IN_SYNC.value
EXPORT_CHUNK = 1000  # canonical workflows per statement while exporting


@dataclass(frozen=True)
class MatrixEnvironment:
    id: uuid.UUID
    name: str


@dataclass
class MatrixPage:
    environments: list[MatrixEnvironment]
    workflows: list[dict[str, Any]]
    next_after: tuple[str, uuid.UUID] | None


def environments_of(
    session: Session, tenant_id: uuid.UUID, wanted: Sequence[uuid.UUID] = ()
) -> list[MatrixEnvironment]:
    """The tenant's environments by name, or those of `wanted` (404 for one not its own)."""
    rows = session.execute(
        select(Environment.id, Environment.name)
        .where(Environment.tenant_id == tenant_id)
        .order_by(Environment.name)
    ).all()
    environments = [MatrixEnvironment(row.id, row.name) for row in rows]
    if not wanted:
        return environments
    known = {e.id for e in environments}
    for environment_id in wanted:
        if environment_id not in known:
            raise NotFound(f"no environment {environment_id}")
    return [e for e in environments if e.id in set(wanted)]


def page(
    session: Session,
    tenant_id: uuid.UUID,
    environments: list[MatrixEnvironment],
    filters: MatrixFilter,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> MatrixPage:
    ids = [e.id for e in environments]
    statement, params = page_query(tenant_id, ids, filters, after=after, limit=limit + 1)
    with gc_pause.paused():  # thousands of small dicts, all alive until serialized
        workflows = _assemble(session.execute(statement, params).all(), environments)
    next_after = None
    if len(workflows) > limit:
        workflows = workflows[:limit]
        last = workflows[-1]
        next_after = (last["name"], uuid.UUID(last["canonical_id"]))
    return MatrixPage(environments, workflows, next_after)


def export_rows(
    session: Session,
    tenant_id: uuid.UUID,
    environments: list[MatrixEnvironment],
    filters: MatrixFilter,
) -> Iterator[dict[str, Any]]:
    """Every matching workflow, EXPORT_CHUNK at a time (memory stays flat)."""
    after: tuple[str, uuid.UUID] | None = None
    while True:
        chunk = page(session, tenant_id, environments, filters, after=after, limit=EXPORT_CHUNK)
        yield from chunk.workflows
        if chunk.next_after is None:
            return
        after = chunk.next_after


def summary(
    session: Session, tenant_id: uuid.UUID, environments: list[MatrixEnvironment]
) -> list[dict[str, Any]]:
    """Per environment: counts per stored status (and `absent`) and per derived state."""
    rows = {
        row[0]: row[1:]
        for row in session.execute(summary_statement(tenant_id, [e.id for e in environments]))
    }
    of_deleted = {
        row[0]: row[1]
        for row in session.execute(deleted_canonical_cells(tenant_id, [e.id for e in environments]))
    }
    live = _live_canonicals(session, tenant_id)
    result = []
    for environment in environments:
        counts = rows.get(environment.id) or (0,) * (len(STATUSES) + len(STATES) + 1)
        statuses = {s: n for s, n in zip(STATUSES, counts, strict=False) if n}
        states = {s: n for s, n in zip(STATES, counts[len(STATUSES) :], strict=False) if n}
        statuses[ABSENT] = live - (counts[-1] - of_deleted.get(environment.id, 0))
        result.append(
            {"id": environment.id, "name": environment.name, "statuses": statuses, "states": states}
        )
    return result


def _live_canonicals(session: Session, tenant_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                CanonicalWorkflow.tenant_id == tenant_id, CanonicalWorkflow.is_deleted.is_(False)
            )
        )
        or 0
    )


def _assemble(rows: Sequence[Any], environments: list[MatrixEnvironment]) -> list[dict[str, Any]]:
    """Rows (one per cell, in canonical order) → one dict per workflow, every environment
    present (`absent` where there is no cell)."""
    keys = {_uuid_text(str(e.id)): str(e.id) for e in environments}
    keys |= {e.id.hex: str(e.id) for e in environments}  # SQLite's text form of a UUID
    absent = {"status": ABSENT, "state": None, "synced": False}
    template = dict.fromkeys(keys.values(), absent)
    workflows: list[dict[str, Any]] = []
    current_id: str | None = None
    cells: dict[str, Any] = {}
    for canonical_id, name, slug, env_id, mapping_id, status, state, env, git, base, at in rows:
        if canonical_id != current_id:
            current_id, cells = canonical_id, dict(template)
            workflows.append(
                {
                    "canonical_id": _uuid_text(canonical_id),
                    "name": name,
                    "slug": slug,
                    "environments": cells,
                }
            )
        if env_id is not None:
            cells[keys[env_id]] = {
                "status": status,
                "state": state,
                "synced": state == IN_SYNC,
                "mapping_id": _uuid_text(mapping_id),
                "env_hash": env,
                "git_hash": git,
                "base_hash": base,
                "n8n_updated_at": at,
            }
    return workflows


def _uuid_text(value: str) -> str:
    """A UUID in its usual text form, from PostgreSQL's (already so) or SQLite's (hex)."""
    if len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return value
