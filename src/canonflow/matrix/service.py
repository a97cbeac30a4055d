"""Matrix pages, summary and export rows, as plain dicts ready for orjson.

A page is one statement; the response is built straight from its rows (no ORM objects,
no per-row validation), one workflow at a time, which is what keeps a page near the
database's own time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import SyncState, has_pending_draft
from canonflow.db.models import CanonicalWorkflow, Environment
from canonflow.errors import NotFound
from canonflow.matrix import counts
from canonflow.matrix.queries import (
    ABSENT,
    HASH_STATES,
    STATUSES,
    MatrixFilter,
    deleted_canonical_cells,
    page_query,
    summary_statement,
)

T = TypeVar("T")
ORPHANED = SyncState.ORPHANED.value
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
    previous_before: tuple[str, uuid.UUID] | None = None  # the key a previous page ends at


@dataclass
class MatrixPageJSON:
    environments: list[MatrixEnvironment]
    workflows: list[bytes]  # each workflow as JSON
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
    return chosen_environments([(row.id, row.name) for row in rows], wanted)


def chosen_environments(
    known: Iterable[tuple[uuid.UUID, str]], wanted: Sequence[uuid.UUID] = ()
) -> list[MatrixEnvironment]:
    """Of the tenant's environments `known` (id, name; by name), all, or those of `wanted`
    (404 for one not among them)."""
    environments = [MatrixEnvironment(id_, name) for id_, name in known]
    if not wanted:
        return environments
    ids = {e.id for e in environments}
    for environment_id in wanted:
        if environment_id not in ids:
            raise NotFound(f"no environment {environment_id}")
    chosen = set(wanted)
    return [e for e in environments if e.id in chosen]


def key_of(session: Session, tenant_id: uuid.UUID, slug: str) -> tuple[str, uuid.UUID]:
    """The keyset (name, id) of the tenant's canonical workflow `slug`, to page from it."""
    row = session.execute(
        select(CanonicalWorkflow.name, CanonicalWorkflow.id).where(
            CanonicalWorkflow.tenant_id == tenant_id, CanonicalWorkflow.canonical_slug == slug
        )
    ).first()
    if row is None:
        raise NotFound(f"no canonical workflow {slug!r}")
    return row.name, row.id


def page(
    session: Session,
    tenant_id: uuid.UUID,
    environments: list[MatrixEnvironment],
    filters: MatrixFilter,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
    before: tuple[str, uuid.UUID] | None = None,
) -> MatrixPage:
    """One page of workflows as dicts: the first, the one after `after`, or (with `before`
    alone) the one that ends just before `before`; with the keys to page on either way."""
    if before is not None and after is None:
        rows = list(
            _workflows(
                session, tenant_id, environments, filters, after=None, before=before,
                limit=limit + 1,
            )
        )  # fmt: skip
        more_before = len(rows) > limit
        workflows = rows[1:] if more_before else rows
        return MatrixPage(
            environments,
            workflows,
            _key(workflows[-1]) if workflows else None,
            _key(workflows[0]) if more_before and workflows else None,
        )
    taken = _workflows(session, tenant_id, environments, filters, after=after, limit=limit + 1)
    workflows, next_after = _take(taken, limit, lambda workflow: workflow)
    if after is None:  # the first page
        return MatrixPage(environments, workflows, next_after)
    return MatrixPage(
        environments, workflows, next_after, _key(workflows[0]) if workflows else after
    )


def _key(workflow: dict[str, Any]) -> tuple[str, uuid.UUID]:
    return workflow["name"], uuid.UUID(workflow["canonical_id"])


def page_json(
    session: Session,
    tenant_id: uuid.UUID,
    environments: list[MatrixEnvironment],
    filters: MatrixFilter,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> MatrixPageJSON:
    """One page of workflows, each already serialized (see `_workflows`)."""
    rows = _workflows(session, tenant_id, environments, filters, after=after, limit=limit + 1)
    workflows, next_after = _take(rows, limit, _encode)
    return MatrixPageJSON(environments, workflows, next_after)


def export_rows(
    session: Session,
    tenant_id: uuid.UUID,
    environments: list[MatrixEnvironment],
    filters: MatrixFilter,
) -> Iterator[dict[str, Any]]:
    """Every matching workflow, EXPORT_CHUNK per statement, each handed on as soon as its
    cells are read (memory stays flat; see `_workflows`)."""
    after: tuple[str, uuid.UUID] | None = None
    while True:
        count, last = 0, None
        for workflow in _workflows(
            session, tenant_id, environments, filters, after=after, limit=EXPORT_CHUNK
        ):
            yield workflow
            count, last = count + 1, workflow
        if count < EXPORT_CHUNK or last is None:
            return
        after = (last["name"], uuid.UUID(last["canonical_id"]))


def encode_workflows(parts: Sequence[bytes]) -> bytes:
    """A JSON array of workflows serialized by `page_json`."""
    return b"[" + b",".join(parts) + b"]"


def summary(
    session: Session, tenant_id: uuid.UUID, environments: list[MatrixEnvironment]
) -> list[dict[str, Any]]:
    """Per environment: counts per stored status (and `absent`) and per derived state; the
    linked mappings of deleted canonical workflows count as `orphaned`, never by their
    hashes (so never as in sync). `drafts_pending`: the linked cells whose n8n holds a draft
    it does not run, whatever their state (those in sync otherwise are `draft_pending`).

    Read from the counts the write flows keep (`canonflow.matrix.counts`): a few rows per
    environment. `scanned_summary` answers the same from every mapping (checks, tests)."""
    kept = counts.kept_summary(session, tenant_id, [e.id for e in environments])
    return [{"id": e.id, "name": e.name, **kept[e.id]} for e in environments]


def scanned_summary(
    session: Session, tenant_id: uuid.UUID, environments: list[MatrixEnvironment]
) -> list[dict[str, Any]]:
    """`summary` by a full scan of the tenant's mappings (the reference the kept counts are
    checked against: `canonflow db summary-check`, the consistency tests)."""
    ids = [e.id for e in environments]
    rows = {row[0]: row[1:] for row in session.execute(summary_statement(tenant_id, ids))}
    of_deleted = {
        row[0]: row[1:] for row in session.execute(deleted_canonical_cells(tenant_id, ids))
    }
    live = _live_canonicals(session, tenant_id)
    empty = (0,) * (len(STATUSES) + len(HASH_STATES) + 2)
    result = []
    for environment in environments:
        counts = rows.get(environment.id) or empty
        deleted = of_deleted.get(environment.id) or (0,) * (len(HASH_STATES) + 2)
        statuses = {s: n for s, n in zip(STATUSES, counts, strict=False) if n}
        by_hashes = zip(HASH_STATES, counts[len(STATUSES) :], deleted[2:], strict=False)
        states = {s: n - of_orphans for s, n, of_orphans in by_hashes if n - of_orphans}
        if deleted[1]:
            states[ORPHANED] = deleted[1]
        statuses[ABSENT] = live - (counts[-2] - deleted[0])
        result.append(
            {
                "id": environment.id,
                "name": environment.name,
                "statuses": statuses,
                "states": states,
                "drafts_pending": counts[-1],
            }
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


def _workflows(
    session: Session,
    tenant_id: uuid.UUID,
    environments: list[MatrixEnvironment],
    filters: MatrixFilter,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
    before: tuple[str, uuid.UUID] | None = None,
) -> Generator[dict[str, Any]]:
    """Up to `limit` workflows, one dict each, every environment present (`absent` where
    there is no cell), handed on as soon as its last cell is read.

    Rows are read one by one and nothing is kept once handed on, so a page's thousands of
    small dicts and rows die young: CPython counts container allocations minus frees, so
    the cyclic collector has almost nothing to do, with no need to turn it off (a request
    must never turn it off for the whole threaded server)."""
    ids = [e.id for e in environments]
    statement, params = page_query(tenant_id, ids, filters, after=after, limit=limit, before=before)
    result = session.execute(statement, params)
    try:
        yield from _assemble(result, environments)
    finally:
        result.close()


def _take(
    workflows: Generator[dict[str, Any]], limit: int, encode: Callable[[dict[str, Any]], T]
) -> tuple[list[T], tuple[str, uuid.UUID] | None]:
    """The first `limit` workflows, encoded, and the keyset of the last when more follow."""
    taken: list[T] = []
    last: tuple[str, str] | None = None
    for workflow in workflows:
        if len(taken) == limit and last is not None:
            workflows.close()  # the statement's remaining rows are not read
            return taken, (last[0], uuid.UUID(last[1]))
        taken.append(encode(workflow))
        last = (workflow["name"], workflow["canonical_id"])
    return taken, None


def _encode(workflow: dict[str, Any]) -> bytes:
    return orjson.dumps(workflow, option=orjson.OPT_NON_STR_KEYS)


def _assemble(
    rows: Iterable[Any], environments: list[MatrixEnvironment]
) -> Iterator[dict[str, Any]]:
    """Rows (one per cell, in canonical order) → one dict per workflow."""
    keys = {_uuid_text(str(e.id)): str(e.id) for e in environments}
    keys |= {e.id.hex: str(e.id) for e in environments}  # SQLite's text form of a UUID
    absent = {"status": ABSENT, "state": None, "synced": False}
    template = dict.fromkeys(keys.values(), absent)
    workflow: dict[str, Any] | None = None
    current_id: str | None = None
    cells: dict[str, Any] = {}
    for (
        canonical_id, name, slug, env_id, mapping_id, status, state, env, git, base, at, deleted,
        draft,
    ) in rows:  # fmt: skip
        if canonical_id != current_id:
            if workflow is not None:
                yield workflow
            current_id, cells = canonical_id, dict(template)
            workflow = {
                "canonical_id": _uuid_text(canonical_id),
                "name": name,
                "slug": slug,
                "deleted_in_git": bool(deleted),
                "environments": cells,
            }
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
                # a linked cell's flag: a missing (e.g. archived) or ignored one runs nothing
                "draft_pending": status == MappingStatus.LINKED and has_pending_draft(env, draft),
                "draft_hash": draft,
            }
    if workflow is not None:
        yield workflow


def _uuid_text(value: str) -> str:
    """A UUID in its usual text form, from PostgreSQL's (already so) or SQLite's (hex)."""
    if len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return value


def summary_differences(session: Session, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The tenant's environments whose kept summary is not the full scan's (none, unless
    a write bypassed `record_state_changes`): each as {"name", "kept", "scanned"}."""
    environments = environments_of(session, tenant_id)
    kept = summary(session, tenant_id, environments)
    scanned = scanned_summary(session, tenant_id, environments)
    return [
        {"name": k["name"], "kept": k, "scanned": s}
        for k, s in zip(kept, scanned, strict=True)
        if k != s
    ]
