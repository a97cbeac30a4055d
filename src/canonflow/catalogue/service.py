"""The catalogue's reads: pages of canonical workflows, one workflow with its cells and
events, its state timeline, and the drift trend. Plain dicts, ready for the response."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from canonflow.catalogue import queries
from canonflow.catalogue.queries import CatalogueFilter
from canonflow.core.hashing import HASH_PREFIX
from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import SyncState, has_pending_draft
from canonflow.db.models import Environment
from canonflow.errors import NotFound

SHORT_HASH = 12
EVENTS_SHOWN = 20
DRIFT, IN_SYNC = SyncState.DRIFT.value, SyncState.IN_SYNC.value
NOT_COUNTED = {"deleted"}
EPOCH = date(1970, 1, 1)  # a deleted mapping is no workflow of the environment any more


@dataclass
class CataloguePage:
    items: list[dict[str, Any]]
    next_after: tuple[str, uuid.UUID] | None


def page(
    session: Session,
    tenant_id: uuid.UUID,
    filters: CatalogueFilter,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> CataloguePage:
    statement = queries.page_statement(tenant_id, filters, after=after, limit=limit + 1)
    rows = session.execute(statement).all()
    more = len(rows) > limit
    rows = rows[:limit]
    counts = _state_counts(session, tenant_id, [row.id for row in rows])
    items = [_item(row, counts.get(row.id, {})) for row in rows]
    last = rows[-1] if more and rows else None
    return CataloguePage(items, (last.name, last.id) if last is not None else None)


def get(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    canonical_id: uuid.UUID | None = None,
    slug: str | None = None,
) -> dict[str, Any]:
    """One canonical workflow with its definition, a cell per environment and its last
    status events; NotFound for another tenant's (or no such) workflow."""
    row = session.execute(
        queries.one_statement(tenant_id, canonical_id=canonical_id, slug=slug)
    ).first()
    if row is None:
        raise NotFound(f"no canonical workflow {canonical_id or slug!r}")
    counts = _state_counts(session, tenant_id, [row.id])
    cells = [_cell(c) for c in session.execute(queries.cells_statement(tenant_id, row.id))]
    events = session.execute(queries.events_statement(tenant_id, row.id, EVENTS_SHOWN))
    return _item(row, counts.get(row.id, {})) | {
        "definition": row.workflow_definition,
        "environments": cells,
        "events": [
            {
                "environment_id": e.environment_id,
                "mapping_id": e.mapping_id,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "at": e.at,
            }
            for e in events
        ],
    }


def history(
    session: Session,
    tenant_id: uuid.UUID,
    canonical_id: uuid.UUID,
    *,
    since: datetime | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The workflow's state changes, oldest first (404 for another tenant's workflow)."""
    if session.execute(queries.one_statement(tenant_id, canonical_id=canonical_id)).first() is None:
        raise NotFound(f"no canonical workflow {canonical_id}")
    rows = session.execute(queries.history_statement(tenant_id, canonical_id, since, limit))
    return [dict(row._mapping) for row in rows]


def environment_ids(
    session: Session, tenant_id: uuid.UUID, wanted: uuid.UUID | None
) -> list[tuple[uuid.UUID, str, datetime]]:
    """The tenant's environments (id, name, created), or the wanted one (404 if not its own)."""
    statement = select(Environment.id, Environment.name, Environment.created_at).where(
        Environment.tenant_id == tenant_id
    )
    if wanted is not None:
        statement = statement.where(Environment.id == wanted)
    rows = [
        (r.id, r.name, r.created_at) for r in session.execute(statement.order_by(Environment.name))
    ]
    if wanted is not None and not rows:
        raise NotFound(f"no environment {wanted}")
    return rows


def drift_trend(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    days: int,
    environment_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Per UTC day (the last `days`, today included) and environment: the cells in each
    state at the end of the day (today: now), drift incidents opened (changes into drift)
    and closed (changes out of it), and the mean seconds from drift to in sync of the
    incidents that ended in sync that day.

    Counts at the end of day D are today's counts (the recorded states) minus the changes
    after D: two grouped reads, whatever the history's length. An environment has rows from
    the day it was created (or of its first change, if earlier) on."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    environments = environment_ids(session, tenant_id, environment_id)
    current: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for env, state, count in session.execute(queries.current_counts(tenant_id, environment_id)):
        if state is not None:
            current[env][state] = count
    start = datetime.combine(first, time.min, tzinfo=UTC)
    changes: dict[tuple[uuid.UUID, str], list[tuple[Any, ...]]] = defaultdict(list)
    for row in session.execute(queries.window_changes(tenant_id, environment_id, start)):
        day = (EPOCH + timedelta(days=row[1])).isoformat()
        changes[(row[0], day)].append(tuple(row))
    items: list[dict[str, Any]] = []
    for env, _name, created in environments:
        days_of_env = _days(first, today, created, [d for e, d in changes if e == env])
        items += _environment_days(env, days_of_env, today, current[env], changes)
    items.sort(key=lambda item: (item["day"], _order(environments, item["environment_id"])))
    return items


def _environment_days(
    env: uuid.UUID,
    days: Sequence[date],
    today: date,
    current: dict[str, int],
    changes: dict[tuple[uuid.UUID, str], list[tuple[Any, ...]]],
) -> list[dict[str, Any]]:
    """Walk back from today: the counts at the end of day D, then undo D's changes."""
    running = dict(current)
    items: list[dict[str, Any]] = []
    day = today
    shown = set(days)
    while shown and day >= min(shown):
        rows = changes.get((env, day.isoformat()), [])
        opened = sum(r[4] for r in rows if r[3] == DRIFT)
        closed = sum(r[4] for r in rows if r[2] == DRIFT)
        synced = [r for r in rows if r[2] == DRIFT and r[3] == IN_SYNC]
        synced_count = sum(r[4] for r in synced)
        total_s = sum(float(r[5] or 0) for r in synced)
        if day in shown:
            items.append(
                {
                    "day": day,
                    "environment_id": env,
                    "counts": {
                        s: n for s, n in sorted(running.items()) if n > 0 and s not in NOT_COUNTED
                    },
                    "opened": opened,
                    "closed": closed,
                    "mean_time_to_sync_s": round(total_s / synced_count, 3)
                    if synced_count
                    else None,
                }
            )
        for r in rows:  # the state before the day's changes
            running[r[3]] = running.get(r[3], 0) - r[4]
            if r[2] is not None:
                running[r[2]] = running.get(r[2], 0) + r[4]
        day -= timedelta(days=1)
    return items


def _days(first: date, today: date, created: datetime, changed: list[str]) -> list[date]:
    since = created.astimezone(UTC).date()
    if changed:
        since = min(since, min(date.fromisoformat(d) for d in changed))
    start = max(first, since)
    return [start + timedelta(days=i) for i in range((today - start).days + 1)]


def _order(environments: list[tuple[uuid.UUID, str, datetime]], env: uuid.UUID) -> int:
    return next(i for i, e in enumerate(environments) if e[0] == env)


def _state_counts(
    session: Session, tenant_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    counts: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    if ids:
        for canonical_id, state, count in session.execute(queries.state_counts(tenant_id, ids)):
            if state is not None:
                counts[canonical_id][state] = count
    return counts


def _item(row: Row[Any], counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": row.id,
        "slug": row.canonical_slug,
        "name": row.name,
        "content_hash": row.content_hash,
        "content_hash_short": _short(row.content_hash),
        "git_file_path": row.git_file_path,
        "git_commit": row.git_commit,
        "deleted": row.is_deleted,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "states": dict(sorted(counts.items())),
    }


def _cell(row: Row[Any]) -> dict[str, Any]:
    data = row.workflow_data if isinstance(row.workflow_data, dict) else {}
    return {
        "environment_id": row.environment_id,
        "environment": row.environment,
        "is_anchor": row.is_anchor,
        "mapping_id": row.mapping_id,
        "n8n_workflow_id": row.n8n_workflow_id,
        "status": row.status.value if row.status is not None else "absent",
        "state": row.derived_state,
        "env_hash": row.env_content_hash,
        "git_hash": row.git_content_hash,
        "base_hash": row.base_content_hash,
        "n8n_updated_at": row.n8n_updated_at,
        "last_synced_at": row.last_synced_at,
        "active": bool(data.get("active")) if row.mapping_id is not None else None,
        "tags": sorted(_tags(data)),
        "draft_pending": row.status == MappingStatus.LINKED
        and has_pending_draft(row.env_content_hash, row.n8n_draft_hash),
        "draft_hash": row.n8n_draft_hash,
        "n8n_major": row.n8n_major,
    }


def _tags(data: dict[str, Any]) -> set[str]:
    tags = data.get("tags")
    if not isinstance(tags, list):
        return set()
    return {t["name"] for t in tags if isinstance(t, dict) and isinstance(t.get("name"), str)}


def _short(digest: str | None) -> str | None:
    if digest is None:
        return None
    return digest.removeprefix(HASH_PREFIX)[:SHORT_HASH]


def daily_states(
    session: Session, tenant_id: uuid.UUID, workflow: dict[str, Any], *, days: int
) -> dict[uuid.UUID, list[str | None]]:
    """Per environment, the workflow's cell state at the end of each of the last `days` UTC
    days (oldest first; None before the cell existed): today's state, walked back through
    the workflow's timeline."""
    today = datetime.now(UTC).date()
    start = datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=UTC)
    changes = history(session, tenant_id, workflow["id"], since=start, limit=100_000)
    result: dict[uuid.UUID, list[str | None]] = {}
    for cell in workflow["environments"]:
        if cell["mapping_id"] is None:
            continue
        state: str | None = cell["state"]
        mine = [c for c in changes if c["mapping_id"] == cell["mapping_id"]]
        series: list[str | None] = []
        for offset in range(days):
            day = today - timedelta(days=offset)
            series.append(state)
            for change in reversed([c for c in mine if c["at"].astimezone(UTC).date() == day]):
                state = change["from_state"]
        result[cell["environment_id"]] = list(reversed(series))
    return result
