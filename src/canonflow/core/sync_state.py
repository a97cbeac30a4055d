"""Derived sync state of a linked mapping (DESIGN section 3): display only, never stored.

Three content hashes decide it: the environment's (env), Git's (git), and the base, the
hash both sides last agreed on.

    in_sync      env == git (whatever the base)
    draft_pending  env == git, but n8n 2.x holds a draft that differs from the published
                 version the environment runs (a draft edited in n8n, not published)
    drift        env changed since base, Git did not: someone edited in n8n
    out_of_date  Git changed since base, env did not: Git is newer
    conflict     both changed since base, differently
    unknown      env or Git hash missing, or no base while they differ
    orphaned     the canonical workflow was deleted in Git while this n8n copy still exists
                 (whatever the hashes: never in sync; reconcile deletes it from n8n or
                 re-adopts it)

For unknown the hashes cannot tell which side is newer; `derive_sync_view` then compares
the Git commit time with n8n's `updatedAt`.

On n8n 2.x the environment's hash is the one of the version it RUNS (its published version
while a draft is pending, docs/drift-on-n8n-2x.md); the draft's hash (`draft_hash`, None
when no draft differs) only turns an in-sync cell into `draft_pending`. A cell in any other
state keeps it and carries the `has_pending_draft` flag.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

Side = Literal["git", "env"]


class SyncState(StrEnum):
    """How the environment's copy of a workflow relates to Git's."""

    IN_SYNC = "in_sync"
    DRAFT_PENDING = "draft_pending"
    DRIFT = "drift"
    OUT_OF_DATE = "out_of_date"
    CONFLICT = "conflict"
    UNKNOWN = "unknown"
    ORPHANED = "orphaned"


@dataclass(frozen=True)
class SyncView:
    """The sync state and which side holds the newer content, when that can be told."""

    state: SyncState
    newer_side: Side | None


def derive_sync_state(
    env_hash: str | None,
    git_hash: str | None,
    base_hash: str | None,
    *,
    canonical_deleted: bool = False,
    draft_hash: str | None = None,
) -> SyncState:
    """The sync state from the environment, Git and base content hashes; `orphaned` when
    the canonical workflow is deleted in Git (its stale Git hash says nothing then);
    `draft_pending` when the environment runs Git's version but holds another draft."""
    if canonical_deleted:
        return SyncState.ORPHANED
    if env_hash is None or git_hash is None:
        return SyncState.UNKNOWN
    if env_hash == git_hash:
        if has_pending_draft(env_hash, draft_hash):
            return SyncState.DRAFT_PENDING
        return SyncState.IN_SYNC
    if base_hash is None:
        return SyncState.UNKNOWN
    if git_hash == base_hash:
        return SyncState.DRIFT
    if env_hash == base_hash:
        return SyncState.OUT_OF_DATE
    return SyncState.CONFLICT


@dataclass(frozen=True)
class CellHashes:
    """A cell's raw content hashes and, where ignore rules apply to it (`fingerprint` not
    None), the hashes of its two sides and base with the ignored paths left out."""

    env: str | None
    git: str | None
    base: str | None
    fingerprint: str | None = None
    env_ignored: str | None = None
    git_ignored: str | None = None
    base_ignored: str | None = None


def effective_hashes(cell: CellHashes) -> tuple[str | None, str | None, str | None]:
    """The (env, git, base) hashes the state is derived from (docs/ignore-rules.md): the
    raw ones when no rule applies; the ignored ones when they agree, or when the base's
    ignored hash is known; else the raw ones. `matrix.queries.effective_hashes` is the
    same in SQL."""
    ignored = (cell.env_ignored, cell.git_ignored, cell.base_ignored)
    if cell.fingerprint is None or cell.env_ignored is None or cell.git_ignored is None:
        return cell.env, cell.git, cell.base
    if cell.env_ignored == cell.git_ignored or cell.base_ignored is not None:
        return ignored
    return cell.env, cell.git, cell.base


def derive_cell_state(
    cell: CellHashes, *, canonical_deleted: bool = False, draft_hash: str | None = None
) -> SyncState:
    """`derive_sync_state` of the effective hashes; a pending draft is told from the raw
    env hash (as without rules)."""
    env, git, base = effective_hashes(cell)
    state = derive_sync_state(env, git, base, canonical_deleted=canonical_deleted)
    if state is SyncState.IN_SYNC and has_pending_draft(cell.env, draft_hash):
        return SyncState.DRAFT_PENDING
    return state


def has_pending_draft(env_hash: str | None, draft_hash: str | None) -> bool:
    """Whether n8n holds a draft other than what the environment runs (the flag a cell
    carries whatever its state)."""
    return draft_hash is not None and draft_hash != env_hash


def derive_sync_view(
    env_hash: str | None,
    git_hash: str | None,
    base_hash: str | None,
    *,
    git_committed_at: datetime | None,
    n8n_updated_at: datetime | None,
    canonical_deleted: bool = False,
    draft_hash: str | None = None,
) -> SyncView:
    """The sync state plus the newer side.

    drift and draft_pending: env; out_of_date: git; in_sync, conflict and orphaned: None;
    unknown: the side with the later timestamp, None if either is missing or they are equal
    (naive times count as UTC).
    """
    state = derive_sync_state(
        env_hash, git_hash, base_hash, canonical_deleted=canonical_deleted, draft_hash=draft_hash
    )
    if state in (SyncState.DRIFT, SyncState.DRAFT_PENDING):
        return SyncView(state, "env")
    if state is SyncState.OUT_OF_DATE:
        return SyncView(state, "git")
    if state is SyncState.UNKNOWN:
        return SyncView(state, _later_side(git_committed_at, n8n_updated_at))
    return SyncView(state, None)


def _later_side(git_at: datetime | None, env_at: datetime | None) -> Side | None:
    if git_at is None or env_at is None:
        return None
    git_utc, env_utc = _as_utc(git_at), _as_utc(env_at)
    if git_utc > env_utc:
        return "git"
    if env_utc > git_utc:
        return "env"
    return None


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
