"""The matrix summary's counts, kept in `summary_counts` in the transactions that change
the cells (issue 19): the summary reads a few rows per environment instead of scanning
every mapping of the tenant.

A cell is counted under (environment, state, holds a live canonical workflow, linked
with a pending draft), its state being the one `record_state_changes` records in
`workflow_env_map.derived_state` and the two flags kept beside it (`counted_holds`,
`counted_draft`). That function moves a cell whose key changed from its old key (-1) to
its new one (+1), in one statement per scope, grouped per key:

    INSERT INTO summary_counts SELECT key, sum(delta) ... GROUP BY key
    ON CONFLICT (key) DO UPDATE SET n = summary_counts.n + excluded.n

so two syncs of different environments touch different rows, and no count goes through
Python. A mapping is deleted only with its environment (or tenant), whose counts rows go
with it (foreign keys, ON DELETE CASCADE). `absent` needs the tenant's live canonical
workflows, counted from their own table (`ix_canonical_workflows_tenant_live`: one range
of a partial index, index only; a tenant has far fewer canonical workflows than cells).

`rebuild` sets the counts again from the recorded states (the migration's backfill, and
the repair of `canonflow db summary-check --repair`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    Select,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import SyncState
from canonflow.db.models import CanonicalWorkflow, SummaryCount, WorkflowEnvMap
from canonflow.matrix.queries import ABSENT, HASH_STATES, STATUSES, draft_differs

CANONICALS: Table = CanonicalWorkflow.__table__  # type: ignore[assignment]
MAPPINGS: Table = WorkflowEnvMap.__table__  # type: ignore[assignment]
COUNTS: Table = SummaryCount.__table__  # type: ignore[assignment]
KEY = ("tenant_id", "environment_id", "state", "holds_canonical", "draft_pending")
LINKED = MappingStatus.LINKED.value
#: The derived states in the order the summary gives them (`orphaned` last).
STATES = (*HASH_STATES, SyncState.ORPHANED.value)


def holds_canonical(m: Table = MAPPINGS) -> ColumnElement[bool]:
    """The cell holds a canonical workflow that is not deleted (it is not `absent`)."""
    deleted = exists(
        select(literal(1)).where(
            CANONICALS.c.id == m.c.canonical_id, CANONICALS.c.is_deleted.is_(True)
        )
    )
    held = and_(m.c.canonical_id.is_not(None), ~deleted)
    return case((held, true()), else_=literal(False, Boolean))


def draft_pending(m: Table = MAPPINGS) -> ColumnElement[bool]:
    """A linked cell of a canonical workflow whose n8n holds a draft it does not run."""
    linked = m.c.status == MappingStatus.LINKED.value
    pending = and_(linked, m.c.canonical_id.is_not(None), draft_differs(m))
    return case((pending, true()), else_=literal(False, Boolean))


def key_differs(m: Table, state: ColumnElement[str]) -> ColumnElement[bool]:
    """The cell's key now is not the one it is counted under."""
    return or_(
        state.is_distinct_from(m.c.derived_state),
        holds_canonical(m).is_distinct_from(m.c.counted_holds),
        draft_pending(m).is_distinct_from(m.c.counted_draft),
    )


def apply_moves(
    session: Session, where: Sequence[ColumnElement[bool]], state: ColumnElement[str]
) -> int:
    """Move the cells of `where` whose key changed (`state` being their state now) from
    their old key to their new one in `summary_counts`; how many keys the statement
    touched (0: no cell of the scope changed key). The caller then writes the new keys on
    the cells (`counted_values`) in the same transaction."""
    m = MAPPINGS
    moved = (
        select(
            m.c.tenant_id,
            m.c.environment_id,
            m.c.derived_state.label("old_state"),
            m.c.counted_holds.label("old_holds"),
            m.c.counted_draft.label("old_draft"),
            state.label("new_state"),
            holds_canonical(m).label("new_holds"),
            draft_pending(m).label("new_draft"),
        )
        .where(*where, key_differs(m, state))
        .cte("moved")  # read twice: materialized once on both backends
    )
    leaving = select(
        moved.c.tenant_id,
        moved.c.environment_id,
        moved.c.old_state,
        moved.c.old_holds,
        moved.c.old_draft,
        literal(-1, Integer).label("delta"),
    ).where(moved.c.old_state.is_not(None))
    arriving = select(
        moved.c.tenant_id,
        moved.c.environment_id,
        moved.c.new_state,
        moved.c.new_holds,
        moved.c.new_draft,
        literal(1, Integer),
    )
    moves = union_all(leaving, arriving).subquery("moves")
    columns = [moves.c[name] for name in moves.c.keys()[:5]]
    # in key order: two transactions moving cells of one environment lock its rows in the
    # same order (no deadlock between a repo sync and that environment's sync)
    grouped = select(*columns, func.sum(moves.c.delta)).group_by(*columns).order_by(*columns)
    result = session.execute(_upsert(session, grouped))
    return int(getattr(result, "rowcount", 0) or 0)


def counted_values(m: Table = MAPPINGS) -> dict[str, ColumnElement[Any]]:
    """The UPDATE's values that record the key a cell is counted under now (with
    `derived_state`, which the caller sets)."""
    return {"counted_holds": holds_canonical(m), "counted_draft": draft_pending(m)}


def _upsert(session: Session, rows: Any) -> Any:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(COUNTS).from_select([*KEY, "n"], rows)
    return statement.on_conflict_do_update(
        index_elements=list(KEY), set_={"n": COUNTS.c.n + statement.excluded.n}
    )


def rebuild(session: Session, tenant_id: uuid.UUID) -> None:
    """The tenant's counts again from the recorded states of its cells: the flags written
    afresh on every recorded cell, then one row per key."""
    m = MAPPINGS
    recorded = and_(m.c.tenant_id == tenant_id, m.c.derived_state.is_not(None))
    session.execute(
        update(m)
        .where(recorded)
        .values(counted_values(m))
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(COUNTS).where(COUNTS.c.tenant_id == tenant_id))
    key = [m.c.tenant_id, m.c.environment_id, m.c.derived_state, m.c.counted_holds]
    grouped = select(*key, m.c.counted_draft, func.count()).where(recorded)
    session.execute(_upsert(session, grouped.group_by(*key, m.c.counted_draft)))


def kept_summary(
    session: Session, tenant_id: uuid.UUID, environment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Per environment (of `environment_ids`): statuses (with `absent`), states and
    `drafts_pending` as `canonflow.matrix.service.summary` answers them, from the kept
    counts and the tenant's count of live canonical workflows."""
    rows = session.execute(kept_statement(tenant_id, environment_ids))
    counts: dict[uuid.UUID, dict[str, int]] = {e: {} for e in environment_ids}
    for environment_id, state, holds, draft, n in rows:
        tally = counts[environment_id]
        for name in (state, "held" if holds else None, "drafts" if draft else None):
            if name is not None:
                tally[name] = tally.get(name, 0) + n
    live = live_canonicals(session, tenant_id)
    return {e: _summary(tally, live) for e, tally in counts.items()}


def kept_statement(tenant_id: uuid.UUID, environment_ids: Sequence[uuid.UUID]) -> Select[Any]:
    """The kept counts of the environments: one primary-key range per environment."""
    c = COUNTS
    return select(
        c.c.environment_id, c.c.state, c.c.holds_canonical, c.c.draft_pending, c.c.n
    ).where(c.c.tenant_id == tenant_id, c.c.environment_id.in_(environment_ids), c.c.n != 0)


def _summary(tally: dict[str, int], live: int) -> dict[str, Any]:
    """One environment's answer, its keys in the order the full scan gives them."""
    linked = sum(tally.get(state, 0) for state in STATES)
    statuses = {s: linked if s == LINKED else tally.get(s, 0) for s in STATUSES}
    statuses = {s: n for s, n in statuses.items() if n}
    statuses[ABSENT] = live - tally.get("held", 0)
    states = {s: tally[s] for s in STATES if tally.get(s)}
    return {"statuses": statuses, "states": states, "drafts_pending": tally.get("drafts", 0)}


def live_canonicals(session: Session, tenant_id: uuid.UUID) -> int:
    c = CANONICALS
    count = select(func.count()).where(c.c.tenant_id == tenant_id, c.c.is_deleted.is_(False))
    return int(session.scalar(count) or 0)
