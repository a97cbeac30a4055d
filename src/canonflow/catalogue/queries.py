"""The catalogue's SQL: a keyset page of canonical workflows with their cells' counts per
state, one workflow's cells and events, its timeline, and the drift trend's two grouped
reads (today's counts, the window's changes). Every statement filters by tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    Table,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import SyncState
from canonflow.db.models import Environment, StateChange, StatusEvent
from canonflow.matrix.queries import CANONICALS, MAPPINGS

CHANGES: Table = StateChange.__table__  # type: ignore[assignment]
EVENTS: Table = StatusEvent.__table__  # type: ignore[assignment]
ENVIRONMENTS: Table = Environment.__table__  # type: ignore[assignment]
DELETED = MappingStatus.DELETED.value
DRIFT, IN_SYNC = SyncState.DRIFT.value, SyncState.IN_SYNC.value


@dataclass(frozen=True)
class CatalogueFilter:
    search: str | None = None  # name or slug contains, any case
    slug: str | None = None
    deleted: bool = False  # False: live ones only; True: deleted ones only
    in_git: bool | None = None  # has a file in Git yet (a commit), or not
    tag: str | None = None  # an n8n tag as last seen in the anchor environment
    state: str | None = None  # any cell in this state


def page_statement(
    tenant_id: uuid.UUID,
    filters: CatalogueFilter,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> Select[Any]:
    """Up to `limit` canonical workflows in (name, id) order after `after`."""
    c = CANONICALS
    statement = (
        _workflows()
        .where(c.c.tenant_id == tenant_id, *_conditions(tenant_id, filters))
        .order_by(c.c.name, c.c.id)
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(tuple_(c.c.name, c.c.id) > tuple_(*after))
    return statement


def one_statement(
    tenant_id: uuid.UUID, *, canonical_id: uuid.UUID | None = None, slug: str | None = None
) -> Select[Any]:
    """One canonical workflow of the tenant (deleted or not), by id or slug."""
    c = CANONICALS
    statement = _workflows().where(c.c.tenant_id == tenant_id)
    if canonical_id is not None:
        statement = statement.where(c.c.id == canonical_id)
    if slug is not None:
        statement = statement.where(c.c.canonical_slug == slug)
    return statement.add_columns(c.c.workflow_definition)


def _workflows() -> Select[Any]:
    c = CANONICALS
    return select(
        c.c.id,
        c.c.canonical_slug,
        c.c.name,
        c.c.content_hash,
        c.c.git_file_path,
        c.c.git_commit,
        c.c.is_deleted,
        c.c.created_at,
        c.c.updated_at,
    )


def _conditions(tenant_id: uuid.UUID, filters: CatalogueFilter) -> list[ColumnElement[bool]]:
    c, m = CANONICALS, MAPPINGS
    conditions: list[ColumnElement[bool]] = [c.c.is_deleted.is_(filters.deleted)]
    if filters.search:
        pattern = "%" + _escape_like(filters.search.lower()) + "%"
        conditions.append(
            or_(
                func.lower(c.c.name).like(pattern, escape="/"),
                func.lower(c.c.canonical_slug).like(pattern, escape="/"),
            )
        )
    if filters.slug:
        conditions.append(c.c.canonical_slug == filters.slug)
    if filters.in_git is not None:
        has_commit = c.c.git_commit.is_not(None)
        conditions.append(has_commit if filters.in_git else c.c.git_commit.is_(None))
    if filters.state:
        conditions.append(
            exists(
                select(literal(1)).where(
                    m.c.canonical_id == c.c.id,
                    m.c.tenant_id == tenant_id,
                    m.c.derived_state == filters.state,
                )
            )
        )
    if filters.tag:
        e = ENVIRONMENTS
        conditions.append(
            exists(
                select(literal(1))
                .select_from(m.join(e, e.c.id == m.c.environment_id))
                .where(
                    m.c.canonical_id == c.c.id,
                    m.c.tenant_id == tenant_id,
                    e.c.is_anchor.is_(True),
                    HasTag(m.c.workflow_data, literal(filters.tag, String)),
                )
            )
        )
    return conditions


def state_counts(tenant_id: uuid.UUID, canonical_ids: list[uuid.UUID]) -> Select[Any]:
    """Per canonical workflow and state, its cells (deleted ones left out)."""
    m = MAPPINGS
    return (
        select(m.c.canonical_id, m.c.derived_state, func.count())
        .where(
            m.c.tenant_id == tenant_id,
            m.c.canonical_id.in_(canonical_ids),
            m.c.status != DELETED,
        )
        .group_by(m.c.canonical_id, m.c.derived_state)
    )


def cells_statement(tenant_id: uuid.UUID, canonical_id: uuid.UUID) -> Select[Any]:
    """Every environment of the tenant (by name), with the workflow's mapping there if any."""
    e, m = ENVIRONMENTS, MAPPINGS
    return (
        select(
            e.c.id.label("environment_id"),
            e.c.name.label("environment"),
            e.c.is_anchor,
            e.c.last_synced_at,
            m.c.id.label("mapping_id"),
            m.c.n8n_workflow_id,
            m.c.status,
            m.c.derived_state,
            m.c.env_content_hash,
            m.c.git_content_hash,
            m.c.base_content_hash,
            m.c.n8n_updated_at,
            m.c.workflow_data,
            m.c.n8n_draft_hash,
            e.c.n8n_major,
        )
        .select_from(
            e.outerjoin(
                m,
                and_(
                    m.c.environment_id == e.c.id,
                    m.c.canonical_id == canonical_id,
                    m.c.tenant_id == tenant_id,
                ),
            )
        )
        .where(e.c.tenant_id == tenant_id)
        .order_by(e.c.name)
    )


def events_statement(tenant_id: uuid.UUID, canonical_id: uuid.UUID, limit: int) -> Select[Any]:
    v = EVENTS
    return (
        select(v.c.environment_id, v.c.mapping_id, v.c.from_status, v.c.to_status, v.c.at)
        .where(v.c.tenant_id == tenant_id, v.c.canonical_id == canonical_id)
        .order_by(v.c.at.desc(), v.c.id)
        .limit(limit)
    )


def history_statement(
    tenant_id: uuid.UUID, canonical_id: uuid.UUID, since: datetime | None, limit: int
) -> Select[Any]:
    s = CHANGES
    statement = (
        select(s.c.environment_id, s.c.mapping_id, s.c.from_state, s.c.to_state, s.c.cause, s.c.at)
        .where(s.c.tenant_id == tenant_id, s.c.canonical_id == canonical_id)
        .order_by(s.c.at, s.c.id)
        .limit(limit)
    )
    if since is not None:
        statement = statement.where(s.c.at >= since)
    return statement


def current_counts(tenant_id: uuid.UUID, environment_id: uuid.UUID | None) -> Select[Any]:
    """Today's cells per environment and recorded state (an index-only scan on PostgreSQL),
    of the tenant or of one environment."""
    m = MAPPINGS
    statement = (
        select(m.c.environment_id, m.c.derived_state, func.count())
        .where(m.c.tenant_id == tenant_id)
        .group_by(m.c.environment_id, m.c.derived_state)
    )
    if environment_id is not None:
        statement = statement.where(m.c.environment_id == environment_id)
    return statement


def window_changes(
    tenant_id: uuid.UUID, environment_id: uuid.UUID | None, start: datetime
) -> Select[Any]:
    """The changes since `start`, per environment, UTC day (days since 1970-01-01), from and
    to state: their count, and the seconds spent in drift by those that went back in sync
    (`since` is when each entered its `from_state`). Only indexed columns are read."""
    s = CHANGES
    day = UTCDayNumber(s.c.at)
    synced = and_(s.c.from_state == DRIFT, s.c.to_state == IN_SYNC)
    seconds = func.sum(SecondsBetween(s.c.since, s.c.at)).filter(synced)
    statement = (
        select(s.c.environment_id, day, s.c.from_state, s.c.to_state, func.count(), seconds)
        .where(s.c.tenant_id == tenant_id, s.c.at >= start)
        .group_by(s.c.environment_id, day, s.c.from_state, s.c.to_state)
    )
    if environment_id is not None:
        statement = statement.where(s.c.environment_id == environment_id)
    return statement


def _escape_like(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


class UTCDayNumber(FunctionElement[int]):
    """A timestamp's UTC day as days since 1970-01-01 (arithmetic, no text formatting:
    it runs once per change in the trend's window)."""

    inherit_cache = True
    type = Integer()
    name = "utc_day_number"


@compiles(UTCDayNumber, "postgresql")
def _utc_day_postgresql(element: UTCDayNumber, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"(({column} AT TIME ZONE 'UTC')::date - DATE '1970-01-01')"


@compiles(UTCDayNumber, "sqlite")
def _utc_day_sqlite(element: UTCDayNumber, compiler: Any, **kw: Any) -> str:
    # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (canonflow.db.types.UTCDateTime)
    column = compiler.process(element.clauses, **kw)
    return f"CAST(julianday(substr({column}, 1, 10)) - 2440587.5 AS INTEGER)"


class SecondsBetween(FunctionElement[float]):
    """Seconds from the first timestamp to the second (NULL when either is)."""

    inherit_cache = True
    name = "seconds_between"


@compiles(SecondsBetween, "postgresql")
def _seconds_postgresql(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    first, second = (compiler.process(c, **kw) for c in element.clauses)
    return f"extract(epoch from ({second} - {first}))"


@compiles(SecondsBetween, "sqlite")
def _seconds_sqlite(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    first, second = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({second}) - julianday({first})) * 86400.0)"


class HasTag(FunctionElement[bool]):
    """The n8n workflow JSON's `tags` has one with this name."""

    inherit_cache = True
    name = "has_tag"


@compiles(HasTag, "postgresql")
def _has_tag_postgresql(element: HasTag, compiler: Any, **kw: Any) -> str:
    # compiled fragments: the tag is a bound parameter, never text in the statement
    document, tag = (compiler.process(c, **kw) for c in element.clauses)
    elements = f"jsonb_array_elements({document} -> 'tags') AS t(tag)"
    match = f"t.tag ->> 'name' = {tag}"
    return (
        f"(jsonb_typeof({document} -> 'tags') = 'array' AND EXISTS "  # noqa: S608
        f"(SELECT 1 FROM {elements} WHERE {match}))"
    )


@compiles(HasTag, "sqlite")
def _has_tag_sqlite(element: HasTag, compiler: Any, **kw: Any) -> str:
    document, tag = (compiler.process(c, **kw) for c in element.clauses)
    elements = f"json_each({document}, '$.tags')"
    match = f"json_extract(value, '$.name') = {tag}"
    return (
        f"(json_type({document}, '$.tags') = 'array' AND EXISTS "  # noqa: S608
        f"(SELECT 1 FROM {elements} WHERE {match}))"
    )
