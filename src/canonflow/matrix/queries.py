"""The matrix's SQL: one statement per page (the page of canonical workflows and their
cells, joined), one for the summary; filters as EXISTS subqueries on the mappings.

The derived state (DESIGN §3) is computed in SQL with the same rules as
`canonflow.core.sync_state.derive_sync_state`, for linked mappings only; a test checks the
two agree on every combination. A deleted canonical workflow's row is on a page while it
has a live mapping (linked or ignored: its n8n copy exists) in the chosen environments; its
linked cells are `orphaned`.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from canonflow.core.hashing import HASH_PREFIX
from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import SyncState
from canonflow.db.models import CanonicalWorkflow, WorkflowEnvMap

CANONICALS: Table = CanonicalWorkflow.__table__  # type: ignore[assignment]
MAPPINGS: Table = WorkflowEnvMap.__table__  # type: ignore[assignment]
ABSENT = "absent"  # a canonical workflow with no mapping in an environment
SHORT_HASH = 12  # hex digits shown of each hash
STATUSES = tuple(status.value for status in MappingStatus)
STATES = tuple(state.value for state in SyncState)
HASH_STATES = tuple(s for s in STATES if s != SyncState.ORPHANED.value)  # from hashes alone
IN_SYNC = SyncState.IN_SYNC.value


@dataclass(frozen=True)
class MatrixFilter:
    """Which rows: a row matches when one of its cells (in `environment_ids`) does."""

    statuses: tuple[str, ...] = ()  # MappingStatus values, or "absent"
    states: tuple[SyncState, ...] = ()
    search: str | None = None  # case-insensitive substring of the name
    problems_only: bool = False  # anything but linked and in_sync in every environment


def draft_differs(m: Table = MAPPINGS) -> ColumnElement[bool]:
    """n8n holds a draft other than the published version the environment runs (the
    `draft_pending` flag of a cell; `core.sync_state.has_pending_draft`)."""
    draft = m.c.n8n_draft_hash
    return draft.is_not(None) & (draft != m.c.env_content_hash)


def effective_hashes(
    m: Table = MAPPINGS,
) -> tuple[ColumnElement[str | None], ColumnElement[str | None], ColumnElement[str | None]]:
    """The (env, git, base) hashes a cell's state is derived from, as
    `core.sync_state.effective_hashes`: the ignored ones where ignore rules apply and they
    agree or the base's is known, else the raw ones."""
    env_ig, git_ig, base_ig = m.c.env_ignored_hash, m.c.git_ignored_hash, m.c.base_ignored_hash
    use = and_(
        m.c.ignore_fingerprint.is_not(None),
        env_ig.is_not(None),
        git_ig.is_not(None),
        or_(env_ig == git_ig, base_ig.is_not(None)),
    )
    return (
        case((use, env_ig), else_=m.c.env_content_hash),
        case((use, git_ig), else_=m.c.git_content_hash),
        case((use, base_ig), else_=m.c.base_content_hash),
    )


def derived_state(
    m: Table = MAPPINGS, canonical_deleted: ColumnElement[bool] | None = None
) -> ColumnElement[str | None]:
    """The derived state of a linked mapping (None otherwise); `orphaned` where
    `canonical_deleted` (the canonical workflow's `is_deleted`) is true."""
    env, git, base = effective_hashes(m)
    state = case(
        (env.is_(None) | git.is_(None), SyncState.UNKNOWN.value),
        (env == git, case((draft_differs(m), SyncState.DRAFT_PENDING.value), else_=IN_SYNC)),
        (base.is_(None), SyncState.UNKNOWN.value),
        (git == base, SyncState.DRIFT.value),
        (env == base, SyncState.OUT_OF_DATE.value),
        else_=SyncState.CONFLICT.value,
    )
    linked = m.c.status == MappingStatus.LINKED.value
    if canonical_deleted is None:
        return case((linked, state), else_=None)
    return case(
        (linked & canonical_deleted.is_(True), SyncState.ORPHANED.value),
        (linked, state),
        else_=None,
    )


def page_query(
    tenant_id: uuid.UUID,
    environment_ids: Sequence[uuid.UUID],
    filters: MatrixFilter,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
    before: tuple[str, uuid.UUID] | None = None,
) -> tuple[Select[Any], dict[str, Any]]:
    """Up to `limit` canonical workflows after `after` (name, id), each joined to its cells
    in `environment_ids`: one row per cell, or one row with no cell. With `before` instead,
    the last `limit` workflows before it (a previous page), still in ascending order.

    The statement is built once per shape of the filters and reused with its parameters
    (building it took longer than PostgreSQL takes to run it)."""
    statement = _page_template(
        tuple(sorted(filters.statuses)),
        tuple(sorted(filters.states)),
        bool(filters.search),
        filters.problems_only,
        after is not None,
        before is not None and after is None,
    )
    params: dict[str, Any] = {
        "tenant_id": tenant_id,
        "environment_ids": list(environment_ids),
        "environment_count": len(environment_ids),
        "limit": limit,
    }
    if filters.search:
        params["pattern"] = "%" + _escape_like(filters.search) + "%"
    if after is not None:
        params["after_name"], params["after_id"] = after
    elif before is not None:
        params["after_name"], params["after_id"] = before
    return statement, params


def page_statement(
    tenant_id: uuid.UUID,
    environment_ids: Sequence[uuid.UUID],
    filters: MatrixFilter,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> Select[Any]:
    """`page_query` with its parameters bound into the statement (to print or EXPLAIN it)."""
    statement, params = page_query(tenant_id, environment_ids, filters, after=after, limit=limit)
    return statement.params(**params)


@functools.lru_cache(maxsize=256)
def _page_template(
    statuses: tuple[str, ...],
    states: tuple[SyncState, ...],
    search: bool,
    problems_only: bool,
    keyset: bool,
    backward: bool = False,
) -> Select[Any]:
    c, m = CANONICALS, MAPPINGS
    tenant = bindparam("tenant_id", type_=c.c.tenant_id.type)
    shape = MatrixFilter(statuses, states, "?" if search else None, problems_only)
    page = (
        select(c.c.id, c.c.name, c.c.canonical_slug, c.c.is_deleted)
        .where(c.c.tenant_id == tenant, or_(c.c.is_deleted.is_(False), _has_live_cell()))
        .where(*_row_conditions(shape))
        .limit(bindparam("limit", type_=Integer))
    )
    page = (
        page.order_by(c.c.name.desc(), c.c.id.desc())
        if backward
        else page.order_by(c.c.name, c.c.id)
    )
    if keyset or backward:
        after = tuple_(
            bindparam("after_name", type_=c.c.name.type), bindparam("after_id", type_=c.c.id.type)
        )
        key = tuple_(c.c.name, c.c.id)
        page = page.where(key < after if backward else key > after)
    rows = page.cte("page")
    return (
        select(
            cast(rows.c.id, String),  # ids as text, hashes cut short: no per-value objects
            rows.c.name,
            rows.c.canonical_slug,
            cast(m.c.environment_id, String),
            cast(m.c.id, String),
            type_coerce(m.c.status, String),
            derived_state(canonical_deleted=rows.c.is_deleted),
            _short(m.c.env_content_hash),
            _short(m.c.git_content_hash),
            _short(m.c.base_content_hash),
            UTCText(m.c.n8n_updated_at),
            rows.c.is_deleted,
            _short(m.c.n8n_draft_hash),
        )
        .select_from(
            rows.outerjoin(
                m,
                and_(
                    m.c.canonical_id == rows.c.id,
                    m.c.tenant_id == tenant,
                    m.c.environment_id.in_(_environment_ids()),
                ),
            )
        )
        .order_by(rows.c.name, rows.c.id)
    )


def _has_live_cell() -> ColumnElement[bool]:
    """The page's canonical workflow (a deleted one) has a live mapping (its n8n copy
    exists: linked or ignored) in the chosen environments.

    The outer `is_deleted` inside the subquery keeps it a per-row check: without it
    PostgreSQL turns the EXISTS into a hashed subplan, one scan of every mapping of the
    tenant as soon as a page meets a deleted canonical workflow (EXPLAIN in bench/README.md)."""
    c, m = CANONICALS, MAPPINGS
    return exists(
        select(literal(1)).where(
            c.c.is_deleted.is_(True),
            m.c.canonical_id == c.c.id,
            m.c.tenant_id == bindparam("tenant_id", type_=c.c.tenant_id.type),
            m.c.environment_id.in_(_environment_ids()),
            m.c.status.in_([MappingStatus.LINKED.value, MappingStatus.IGNORED.value]),
        )
    )


def _environment_ids() -> BindParameter[Any]:
    return bindparam("environment_ids", expanding=True, type_=MAPPINGS.c.environment_id.type)


def _escape_like(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


class UTCText(FunctionElement[str]):
    """A UTC timestamp column as ISO 8601 text (`2026-11-27T10:00:00.000000+00:00`), made
    by the database: a page's thousand timestamps cost Python nothing."""

    inherit_cache = True
    type = String()
    name = "utc_text"


@compiles(UTCText, "postgresql")
def _utc_text_postgresql(element: UTCText, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"


@compiles(UTCText, "sqlite")
def _utc_text_sqlite(element: UTCText, compiler: Any, **kw: Any) -> str:
    # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (canonflow.db.types.UTCDateTime)
    column = compiler.process(element.clauses, **kw)
    return f"(replace({column}, ' ', 'T') || '+00:00')"


def _short(digest: ColumnElement[str | None]) -> ColumnElement[str | None]:
    """The hash's first SHORT_HASH hex digits, after its version prefix."""
    return func.substr(digest, len(HASH_PREFIX) + 1, SHORT_HASH)


def summary_statement(tenant_id: uuid.UUID, environment_ids: Sequence[uuid.UUID]) -> Select[Any]:
    """One row per environment, in one pass over its mappings (no join): the environment
    id, a count per stored status (`STATUSES` order), per derived state from the hashes
    (`HASH_STATES` order: a deleted canonical workflow's are corrected by
    `deleted_canonical_cells`), of the mappings that have a canonical workflow, and of the
    linked ones that hold a pending draft (whatever their state)."""
    m = MAPPINGS
    state = derived_state()
    counts = [func.count().filter(m.c.status == status) for status in STATUSES]
    counts += [func.count().filter(state == value) for value in HASH_STATES]
    counts.append(func.count().filter(m.c.canonical_id.is_not(None)))
    linked = m.c.status == MappingStatus.LINKED.value
    counts.append(func.count().filter(linked & m.c.canonical_id.is_not(None) & draft_differs()))
    return (
        select(m.c.environment_id, *counts)
        .where(m.c.tenant_id == tenant_id, m.c.environment_id.in_(environment_ids))
        .group_by(m.c.environment_id)
    )


def deleted_canonical_cells(
    tenant_id: uuid.UUID, environment_ids: Sequence[uuid.UUID]
) -> Select[Any]:
    """Per environment, the mappings of deleted canonical workflows (few: from the deleted
    side): their count (the summary's absent count leaves them out), then of the linked ones
    (orphaned) the count per derived state from the hashes (`HASH_STATES` order), which the
    summary takes back from those states."""
    c, m = CANONICALS, MAPPINGS
    state = derived_state()
    linked = func.count().filter(m.c.status == MappingStatus.LINKED.value)
    by_state = [func.count().filter(state == value) for value in HASH_STATES]
    return (
        select(m.c.environment_id, func.count(), linked, *by_state)
        .select_from(c.join(m, m.c.canonical_id == c.c.id))
        .where(
            c.c.tenant_id == tenant_id,
            c.c.is_deleted.is_(True),
            m.c.environment_id.in_(environment_ids),
        )
        .group_by(m.c.environment_id)
    )


def _state_matches(
    states: tuple[SyncState, ...], cells: Callable[..., Select[int]]
) -> list[ColumnElement[bool]]:
    """A live canonical workflow by its cells' hashes (the EXISTS stays hashable on
    PostgreSQL, as before); a deleted one by its linked (orphaned) cells."""
    c, m = CANONICALS, MAPPINGS
    matches: list[ColumnElement[bool]] = []
    by_hashes = [s.value for s in states if s is not SyncState.ORPHANED]
    if by_hashes:
        hashed = exists(cells(derived_state().in_(by_hashes)))
        matches.append(and_(c.c.is_deleted.is_(False), hashed))
    if SyncState.ORPHANED in states:
        linked = m.c.status == MappingStatus.LINKED.value
        matches.append(exists(cells(c.c.is_deleted.is_(True), linked)))
    return matches


def _row_conditions(filters: MatrixFilter) -> list[ColumnElement[bool]]:
    """The filters as conditions on the page's canonical workflows, with bound parameters
    (`tenant_id`, `environment_ids`, `environment_count`, `pattern`) in place of values."""
    c, m = CANONICALS, MAPPINGS
    tenant = bindparam("tenant_id", type_=c.c.tenant_id.type)
    count = bindparam("environment_count", type_=Integer)
    conditions: list[ColumnElement[bool]] = []
    if filters.search:
        pattern = bindparam("pattern", type_=String)
        conditions.append(func.lower(c.c.name).like(func.lower(pattern), escape="/"))

    def cells(*where: ColumnElement[bool]) -> Select[int]:
        return select(literal(1)).where(
            m.c.canonical_id == c.c.id,
            m.c.tenant_id == tenant,
            m.c.environment_id.in_(_environment_ids()),
            *where,
        )

    def mapped_count(*where: ColumnElement[bool]) -> ColumnElement[int]:
        return (
            select(func.count())
            .select_from(m)
            .where(
                m.c.canonical_id == c.c.id,
                m.c.tenant_id == tenant,
                m.c.environment_id.in_(_environment_ids()),
                *where,
            )
            .scalar_subquery()
        )

    stored = [s for s in filters.statuses if s != ABSENT]
    status_matches: list[ColumnElement[bool]] = []
    if stored:
        status_matches.append(exists(cells(m.c.status.in_(stored))))
    if ABSENT in filters.statuses:  # a live canonical workflow missing somewhere
        status_matches.append(and_(c.c.is_deleted.is_(False), mapped_count() < count))
    if status_matches:
        conditions.append(or_(*status_matches))
    if filters.states:
        conditions.append(or_(*_state_matches(filters.states, cells)))
    if filters.problems_only:
        env, git, _base = effective_hashes()
        in_sync = and_(m.c.status == MappingStatus.LINKED.value, env == git, ~draft_differs())
        conditions.append(or_(c.c.is_deleted.is_(True), mapped_count(in_sync) < count))
    return conditions
