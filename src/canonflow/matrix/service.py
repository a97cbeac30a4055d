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

from canonflow.core.sync_state import SyncState
from canonflow.db.models import CanonicalWorkflow, Environment
from canonflow.errors import NotFound
from canonflow.matrix.queries import ABSENT, MatrixFilter, page_statement, summary_statement

SHORT_HASH = 12  # hex digits shown of each hash
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
    rows = session.execute(page_statement(tenant_id, ids, filters, after=after, limit=limit + 1))
    workflows = list(_assemble(rows, ids))
    next_after = None
    if len(workflows) > limit:
        workflows = workflows[:limit]
        last = workflows[-1]
        next_after = (last["name"], last["canonical_id"])
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
    counts: dict[uuid.UUID, dict[str, dict[str, int]]] = {
        e.id: {"statuses": {}, "states": {}} for e in environments
    }
    ids = list(counts)
    for row in session.execute(summary_statement(tenant_id, ids)):
        environment_id, status, state, count = row[0], row[1], row[2], row[3]
        entry = counts[environment_id]
        key = str(getattr(status, "value", status))
        entry["statuses"][key] = entry["statuses"].get(key, 0) + int(count)
        if state is not None:
            entry["states"][str(state)] = entry["states"].get(str(state), 0) + int(count)
    live = _live_canonicals(session, tenant_id)
    result = []
    for environment in environments:
        entry = counts[environment.id]
        entry["statuses"].setdefault(ABSENT, live)  # no mapping at all: every one is absent
        result.append({"id": environment.id, "name": environment.name} | entry)
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


def _assemble(rows: Any, environment_ids: list[uuid.UUID]) -> Iterator[dict[str, Any]]:
    current: dict[str, Any] | None = None
    for row in rows:
        if current is None or current["canonical_id"] != row.id:
            if current is not None:
                yield _fill_absent(current, environment_ids)
            current = {
                "canonical_id": row.id,
                "name": row.name,
                "slug": row.canonical_slug,
                "environments": {},
            }
        if row.environment_id is not None:
            current["environments"][str(row.environment_id)] = _cell(row)
    if current is not None:
        yield _fill_absent(current, environment_ids)


def _cell(row: Any) -> dict[str, Any]:
    status = getattr(row.status, "value", row.status)
    return {
        "status": status,
        "state": row.state,
        "synced": row.state == SyncState.IN_SYNC.value,
        "mapping_id": row.mapping_id,
        "env_hash": _short(row.env_content_hash),
        "git_hash": _short(row.git_content_hash),
        "base_hash": _short(row.base_content_hash),
        "n8n_updated_at": row.n8n_updated_at,
    }


def _fill_absent(workflow: dict[str, Any], environment_ids: list[uuid.UUID]) -> dict[str, Any]:
    cells = workflow["environments"]
    for environment_id in environment_ids:
        cells.setdefault(str(environment_id), {"status": ABSENT, "state": None, "synced": False})
    return workflow


def _short(digest: str | None) -> str | None:
    if digest is None:
        return None
    return digest.split(":", 1)[-1][:SHORT_HASH]
