"""The matrix's SQL: one statement per page (the page of canonical workflows and their
cells, joined), one for the summary; filters as EXISTS subqueries on the mappings.

The derived state (DESIGN §3) is computed in SQL with the same rules as
`canonflow.core.sync_state.derive_sync_state`, for linked mappings only; a test checks the
two agree on every combination.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Select,
    String,
    Table,
    and_,
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
from sqlalchemy.sql.elements import ColumnElement

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


@dataclass(frozen=True)
class MatrixFilter:
    """Which rows: a row matches when one of its cells (in `environment_ids`) does."""

    statuses: tuple[str, ...] = ()  # MappingStatus values, or "absent"
    states: tuple[SyncState, ...] = ()
    search: str | None = None  # case-insensitive substring of the name
    problems_only: bool = False  # anything but linked and in_sync in every environment


def derived_state(m: Table = MAPPINGS) -> ColumnElement[str | None]:
    env, git, base = m.c.env_content_hash, m.c.git_content_hash, m.c.base_content_hash
    state = case(
        (env.is_(None) | git.is_(None), SyncState.UNKNOWN.value),
        (env == git, SyncState.IN_SYNC.value),
        (base.is_(None), SyncState.UNKNOWN.value),
        (git == base, SyncState.DRIFT.value),
        (env == base, SyncState.OUT_OF_DATE.value),
        else_=SyncState.CONFLICT.value,
    )
    return case((m.c.status == MappingStatus.LINKED.value, state), else_=None)


def page_statement(
    tenant_id: uuid.UUID,
    environment_ids: Sequence[uuid.UUID],
    filters: MatrixFilter,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> Select[Any]:
    """Up to `limit` canonical workflows after `after` (name, id), each joined to its cells
    in `environment_ids`: one row per cell, or one row with no cell."""
    c, m = CANONICALS, MAPPINGS
    page = (
        select(c.c.id, c.c.name, c.c.canonical_slug)
        .where(c.c.tenant_id == tenant_id, c.c.is_deleted.is_(False))
        .where(*_row_conditions(tenant_id, environment_ids, filters))
        .order_by(c.c.name, c.c.id)
        .limit(limit)
    )
    if after is not None:
        page = page.where(tuple_(c.c.name, c.c.id) > tuple_(literal(after[0]), literal(after[1])))
    rows = page.cte("page")
    return (
        select(
            cast(rows.c.id, String),  # ids as text, hashes cut short: no per-value objects
            rows.c.name,
            rows.c.canonical_slug,
            cast(m.c.environment_id, String),
            cast(m.c.id, String),
            type_coerce(m.c.status, String),
            derived_state(),
            _short(m.c.env_content_hash),
            _short(m.c.git_content_hash),
            _short(m.c.base_content_hash),
            m.c.n8n_updated_at,
        )
        .select_from(
            rows.outerjoin(
                m,
                and_(
                    m.c.canonical_id == rows.c.id,
                    m.c.tenant_id == tenant_id,
                    m.c.environment_id.in_(environment_ids),
                ),
            )
        )
        .order_by(rows.c.name, rows.c.id)
    )


def _short(digest: ColumnElement[str | None]) -> ColumnElement[str | None]:
    """The hash's first SHORT_HASH hex digits, after its version prefix."""
    return func.substr(digest, len(HASH_PREFIX) + 1, SHORT_HASH)


def summary_statement(tenant_id: uuid.UUID, environment_ids: Sequence[uuid.UUID]) -> Select[Any]:
    """One row per environment, in one pass over its mappings (no join): the environment
    id, a count per stored status (`STATUSES` order), per derived state (`STATES` order),
    and of the mappings that have a canonical workflow."""
    m = MAPPINGS
    state = derived_state()
    counts = [func.count().filter(m.c.status == status) for status in STATUSES]
    counts += [func.count().filter(state == value) for value in STATES]
    counts.append(func.count().filter(m.c.canonical_id.is_not(None)))
    return (
        select(m.c.environment_id, *counts)
        .where(m.c.tenant_id == tenant_id, m.c.environment_id.in_(environment_ids))
        .group_by(m.c.environment_id)
    )


def deleted_canonical_cells(
    tenant_id: uuid.UUID, environment_ids: Sequence[uuid.UUID]
) -> Select[Any]:
    """Per environment, the mappings of deleted canonical workflows (few: from the deleted
    side): the summary's absent count leaves them out."""
    c, m = CANONICALS, MAPPINGS
    return (
        select(m.c.environment_id, func.count())
        .select_from(c.join(m, m.c.canonical_id == c.c.id))
        .where(
            c.c.tenant_id == tenant_id,
            c.c.is_deleted.is_(True),
            m.c.environment_id.in_(environment_ids),
        )
        .group_by(m.c.environment_id)
    )


def _row_conditions(
    tenant_id: uuid.UUID, environment_ids: Sequence[uuid.UUID], filters: MatrixFilter
) -> list[ColumnElement[bool]]:
    c, m = CANONICALS, MAPPINGS
    conditions: list[ColumnElement[bool]] = []
    if filters.search:
        conditions.append(c.c.name.icontains(filters.search, autoescape=True))

    def cells(*where: ColumnElement[bool]) -> Select[int]:
        return select(literal(1)).where(
            m.c.canonical_id == c.c.id,
            m.c.tenant_id == tenant_id,
            m.c.environment_id.in_(environment_ids),
            *where,
        )

    def mapped_count(*where: ColumnElement[bool]) -> ColumnElement[int]:
        return (
            select(func.count())
            .select_from(m)
            .where(
                m.c.canonical_id == c.c.id,
                m.c.tenant_id == tenant_id,
                m.c.environment_id.in_(environment_ids),
                *where,
            )
            .scalar_subquery()
        )

    stored = [s for s in filters.statuses if s != ABSENT]
    status_matches: list[ColumnElement[bool]] = []
    if stored:
        status_matches.append(exists(cells(m.c.status.in_(stored))))
    if ABSENT in filters.statuses:
        status_matches.append(mapped_count() < len(environment_ids))
    if status_matches:
        conditions.append(or_(*status_matches))
    if filters.states:
        conditions.append(exists(cells(derived_state().in_([s.value for s in filters.states]))))
    if filters.problems_only:
        in_sync = and_(
            m.c.status == MappingStatus.LINKED.value,
            m.c.env_content_hash == m.c.git_content_hash,
        )
        conditions.append(mapped_count(in_sync) < len(environment_ids))
    return conditions
