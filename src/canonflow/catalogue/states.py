"""Record each change of a cell's state in `state_changes` (DESIGN section 2).

A cell's *state* is the derived sync state of a linked mapping (`orphaned` when its
canonical workflow is deleted in Git), else its stored status (`untracked`, `missing`,
`ignored`, `deleted`), as the matrix shows it. `workflow_env_map.derived_state` holds the
state as last recorded; every write flow calls `record_state_changes` before it flushes,
scoped to what it touched. Set-based statements, no row goes through Python:

    INSERT INTO summary_counts SELECT <old key> -1, <new key> +1 ... WHERE the key differs
        ON CONFLICT DO UPDATE SET n = n + excluded.n      (`canonflow.matrix.counts`)
    INSERT INTO state_changes SELECT ... WHERE <state expression> IS DISTINCT FROM derived_state
    UPDATE workflow_env_map SET derived_state = <state expression>, <counted key> WHERE it differs

so a sync that changed nothing writes nothing (the first statement finds nothing to
move), and a crash between two flows loses nothing: the next flow that touches the cell
records what differs (with its own cause and time). Right before, the cells' ignored
hashes (ignore rules) are made current on the same scope (`canonflow.catalogue.effective`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    String,
    Table,
    and_,
    bindparam,
    case,
    exists,
    insert,
    literal,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from canonflow.catalogue import effective
from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import SyncState
from canonflow.db.models import CanonicalWorkflow, StateChange, WorkflowEnvMap
from canonflow.db.planner import unindexed
from canonflow.db.types import UTCDateTime, utcnow
from canonflow.matrix import counts
from canonflow.matrix.queries import derived_state

CANONICALS: Table = CanonicalWorkflow.__table__  # type: ignore[assignment]
MAPPINGS: Table = WorkflowEnvMap.__table__  # type: ignore[assignment]
STATE_CHANGES: Table = StateChange.__table__  # type: ignore[assignment]
SCOPE_CHUNK = 5000  # ids per statement (bind parameter limits)


class StateCause(StrEnum):
    """What changed a cell's state."""

    ENV_SYNC = "env_sync"
    REPO_SYNC = "repo_sync"
    ONBOARDING = "onboarding"
    LINK = "link"
    IGNORE = "ignore"
    UNIGNORE = "unignore"
    DEPLOY = "deploy"
    COMMIT = "commit"
    DELETE = "delete"
    RESTORE = "restore"
    IGNORE_RULES = "ignore_rules"


#: Every state a cell can be in: the derived states, then the stored statuses other than linked.
CELL_STATES: tuple[str, ...] = tuple(s.value for s in SyncState) + tuple(
    s.value for s in MappingStatus if s is not MappingStatus.LINKED
)


def cell_state(m: Table = MAPPINGS) -> ColumnElement[str]:
    """The cell's state now, in SQL (see the module docstring)."""
    deleted = exists(
        select(literal(1)).where(
            CANONICALS.c.id == m.c.canonical_id, CANONICALS.c.is_deleted.is_(True)
        )
    )
    return case(
        (m.c.status != MappingStatus.LINKED.value, type_coerce(m.c.status, String)),
        (deleted, SyncState.ORPHANED.value),
        else_=derived_state(m),
    )


def record_state_changes(
    session: Session,
    tenant_id: uuid.UUID,
    cause: StateCause,
    *,
    environment_id: uuid.UUID | None = None,
    canonical_ids: Iterable[uuid.UUID] | None = None,
    mapping_ids: Iterable[uuid.UUID] | None = None,
    at: datetime | None = None,
) -> int:
    """Record the cells (of the tenant; within the environment, of the canonical workflows
    and/or the mappings given) whose state differs from the one last recorded. Returns how
    many changed. Empty id lists record nothing; no scope at all means the whole tenant."""
    at = at or utcnow()
    scopes: list[list[ColumnElement[bool]]] = []
    keyed = canonical_ids is not None or mapping_ids is not None
    base = _tenant_scope(tenant_id, environment_id, keyed=keyed)
    if canonical_ids is not None:
        scopes += [[MAPPINGS.c.canonical_id.in_(chunk)] for chunk in _chunks(canonical_ids)]
    if mapping_ids is not None:
        scopes += [[MAPPINGS.c.id.in_(chunk)] for chunk in _chunks(mapping_ids)]
    if canonical_ids is None and mapping_ids is None:
        scopes = [[]]
    total = 0
    for scope in scopes:
        effective.refresh(session, tenant_id, [*base, *scope], keyed=keyed)  # ignore rules
        total += _record(session, cause, at, [*base, *scope])
    return total


def _tenant_scope(
    tenant_id: uuid.UUID, environment_id: uuid.UUID | None, *, keyed: bool
) -> list[ColumnElement[bool]]:
    """The tenant's (and environment's) cells. When ids name the cells, these conditions
    still filter every row but must not drive SQLite's plan: it would walk all the
    tenant's mappings for each page of a sync (`canonflow.db.planner`)."""
    column = unindexed if keyed else (lambda c: c)
    scope = [column(MAPPINGS.c.tenant_id) == tenant_id]
    if environment_id is not None:
        scope.append(column(MAPPINGS.c.environment_id) == environment_id)
    return scope


def _record(
    session: Session, cause: StateCause, at: datetime, where: Sequence[ColumnElement[bool]]
) -> int:
    """Record the scope's changes of state, and move the cells whose key in the summary's
    counts changed (`canonflow.matrix.counts`): nothing more is written when none did."""
    m = MAPPINGS
    state = cell_state(m)
    if not counts.apply_moves(session, where, state):
        return 0
    differs = and_(*where, state.is_distinct_from(m.c.derived_state))
    moment = bindparam("at", at, type_=UTCDateTime())
    changes = select(
        NewUUID(),
        m.c.tenant_id,
        m.c.id,
        m.c.canonical_id,
        m.c.environment_id,
        m.c.derived_state,
        state,
        literal(cause.value, String),
        moment,
        m.c.derived_state_at,
    ).where(differs)
    columns = [
        "id",
        "tenant_id",
        "mapping_id",
        "canonical_id",
        "environment_id",
        "from_state",
        "to_state",
        "cause",
        "at",
        "since",
    ]
    inserted = session.execute(insert(STATE_CHANGES).from_select(columns, changes))
    count = int(getattr(inserted, "rowcount", 0) or 0)
    since = case((state.is_distinct_from(m.c.derived_state), moment), else_=m.c.derived_state_at)
    session.execute(
        update(m)
        .where(*where, counts.key_differs(m, state))
        .values(derived_state=state, derived_state_at=since, **counts.counted_values(m))
        .execution_options(synchronize_session=False)
    )
    return count


def unrecorded(session: Session, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The tenant's mappings whose recorded state is not their state now (none, after any
    write flow): for tests and checks."""
    m = MAPPINGS
    state = cell_state(m)
    rows = session.execute(
        select(m.c.id, m.c.status, m.c.derived_state, state.label("state")).where(
            m.c.tenant_id == tenant_id, state.is_distinct_from(m.c.derived_state)
        )
    )
    return [dict(row._mapping) for row in rows]


def _chunks(ids: Iterable[uuid.UUID]) -> list[list[uuid.UUID]]:
    unique = list(dict.fromkeys(ids))
    return [unique[i : i + SCOPE_CHUNK] for i in range(0, len(unique), SCOPE_CHUNK)]


class NewUUID(FunctionElement[uuid.UUID]):
    """A fresh random UUID made by the database (for INSERT ... SELECT)."""

    inherit_cache = True
    type = StateChange.__table__.c.id.type
    name = "new_uuid"


@compiles(NewUUID, "postgresql")
def _new_uuid_postgresql(element: NewUUID, compiler: Any, **kw: Any) -> str:
    return "gen_random_uuid()"


@compiles(NewUUID, "sqlite")
def _new_uuid_sqlite(element: NewUUID, compiler: Any, **kw: Any) -> str:
    # SQLAlchemy's Uuid is 32 hex digits on SQLite
    return "lower(hex(randomblob(16)))"
