"""Reconcile planning (DESIGN section 6 "Reconcile"): per mapping, what a strategy does.

Pure: the facts of each cell (stored status and the three content hashes) go in, one
`Decision` per cell comes out. The service adds what needs I/O (credential checks) and
acts; nothing here writes.

Strategies name the winner for every mapping whose two sides differ:

    git_wins  deploy Git's version to the environment (a snapshot keeps what n8n had)
    env_wins  commit the environment's version to Git (a snapshot keeps Git's)
    manual    the caller names the winner per mapping; a mapping without a choice is left

A conflict (both sides changed since the base) is never acted on by `git_wins`/`env_wins`
unless the request lists the mapping in `force`; a manual choice is explicit, so it
resolves one. Without a base hash the sides cannot tell who changed what, so two
differing sides count as a conflict too. Missing, ignored and deleted mappings are left
alone (recreating a workflow someone deleted in n8n is an explicit deploy, not a
reconcile). A canonical workflow with no mapping in an environment (`absent`) is deployed
(created) by `git_wins` only when the caller scoped the plan to that canonical workflow.

`env_wins` across environments: one canonical workflow has one file, so when two
environments would commit different versions of it, both are blocked until the caller
picks one (scope or manual); environments holding the same version commit it once.

Orphaned cells (a linked n8n copy of a canonical workflow deleted in Git): `git_wins` (or a
manual `git`) deletes the copy from n8n, since Git deleted it; `env_wins` (or a manual
`env`) re-adopts it: the environment's version is written back to Git as the file and the
canonical workflow is live again. Re-adopting follows the one-version-per-file rule of
commits. A plan that would delete more than `percent` % of an environment's live mappings,
or all of them, is held by the prune guard (`prune_guard_holds`) until confirmed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import SyncState, derive_sync_state


class Strategy(StrEnum):
    GIT_WINS = "git_wins"
    ENV_WINS = "env_wins"
    MANUAL = "manual"


class Winner(StrEnum):
    """The side whose version is kept (a manual choice)."""

    GIT = "git"
    ENV = "env"


class Action(StrEnum):
    DEPLOY = "deploy"  # Git's version is written to n8n
    COMMIT = "commit"  # the environment's version is written to Git
    DELETE = "delete"  # the n8n copy of a canonical workflow deleted in Git is deleted
    READOPT = "readopt"  # that copy is written back to Git: the canonical workflow returns
    NONE = "none"
    CONFLICT = "conflict"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Cell:
    """One canonical workflow in one environment, as the database knows it. `status` None:
    no mapping there (absent)."""

    canonical_key: str
    status: MappingStatus | None
    env_hash: str | None = None
    git_hash: str | None = None
    base_hash: str | None = None
    scoped: bool = False  # the caller named this canonical workflow
    canonical_deleted: bool = False  # deleted in Git: a linked copy is orphaned


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    state: SyncState | None = None

    @property
    def acts(self) -> bool:
        return self.action in ACTING


ACTING = frozenset({Action.DEPLOY, Action.COMMIT, Action.DELETE, Action.READOPT})


def decide(
    cell: Cell, strategy: Strategy, *, forced: bool = False, choice: Winner | None = None
) -> Decision:
    """What `strategy` does with one cell (see the module notes)."""
    if cell.canonical_deleted:
        return _of_deleted(cell, strategy, choice)
    if cell.status is None:
        return _absent(cell, strategy, choice)
    if cell.status is not MappingStatus.LINKED:
        return Decision(Action.NONE, _NOT_LINKED[cell.status])
    if cell.git_hash is None:
        return Decision(
            Action.BLOCKED,
            "the canonical workflow is not in Git yet: merge its pull request and sync the "
            "repository",
        )
    if cell.env_hash is None:
        return Decision(Action.BLOCKED, "not hashed yet: sync the environment")
    state = derive_sync_state(cell.env_hash, cell.git_hash, cell.base_hash)
    if state is SyncState.IN_SYNC:
        return Decision(Action.NONE, "in sync", state)
    winner = _winner(strategy, state, forced=forced, choice=choice)
    if isinstance(winner, Decision):
        return replace(winner, state=state)
    return _act(winner, state)


def plan(
    cells: Sequence[Cell],
    strategy: Strategy,
    *,
    forced: Sequence[bool] = (),
    choices: Sequence[Winner | None] = (),
) -> list[Decision]:
    """`decide` for every cell (with its `forced` flag and manual `choice`, by position),
    then the cross-environment rule for commits."""
    decisions = [
        decide(
            cell,
            strategy,
            forced=forced[i] if i < len(forced) else False,
            choice=choices[i] if i < len(choices) else None,
        )
        for i, cell in enumerate(cells)
    ]
    return _one_version_per_file(cells, decisions)


_NOT_LINKED = {
    MappingStatus.MISSING: (
        "missing in n8n since the last sync: deploy it explicitly to recreate it, or ignore it"
    ),
    MappingStatus.IGNORED: "ignored: un-ignore it to reconcile it",
    MappingStatus.DELETED: "deleted",
    MappingStatus.UNTRACKED: "untracked: link it first",
}


def prune_guard_holds(deletes: int, live: int, percent: float) -> bool:
    """Whether deleting `deletes` of an environment's `live` mappings needs a confirmation:
    more than `percent` % of them, or all of them."""
    if deletes <= 0:
        return False
    return deletes >= live or deletes * 100 > percent * live


def _of_deleted(cell: Cell, strategy: Strategy, choice: Winner | None) -> Decision:
    """A cell of a canonical workflow deleted in Git: only a linked copy is acted on."""
    if cell.status is None:
        return Decision(Action.NONE, "deleted in Git, not in this environment")
    if cell.status is not MappingStatus.LINKED:
        return Decision(Action.NONE, f"deleted in Git; {_NOT_LINKED[cell.status]}")
    orphaned = SyncState.ORPHANED
    if choice is None and strategy is Strategy.MANUAL:
        return Decision(
            Action.NONE,
            "orphaned (deleted in Git, still in n8n): choose git to delete it from n8n or env "
            "to re-adopt it",
            orphaned,
        )
    if choice is Winner.GIT or (choice is None and strategy is Strategy.GIT_WINS):
        return Decision(
            Action.DELETE, "deleted in Git: delete it from n8n (a snapshot keeps it)", orphaned
        )
    return Decision(
        Action.READOPT,
        "deleted in Git: re-adopt it (this environment's version is written back to Git)",
        orphaned,
    )


def _absent(cell: Cell, strategy: Strategy, choice: Winner | None) -> Decision:
    wants_git = strategy is Strategy.GIT_WINS or choice is Winner.GIT
    if not wants_git:
        return Decision(Action.NONE, "not in this environment")
    if cell.git_hash is None:
        return Decision(Action.BLOCKED, "the canonical workflow is not in Git yet")
    if not cell.scoped and choice is None:
        return Decision(
            Action.NONE, "not in this environment (name the canonical workflow to create it)"
        )
    return Decision(Action.DEPLOY, "not in this environment: create it from Git")


def _winner(
    strategy: Strategy, state: SyncState, *, forced: bool, choice: Winner | None
) -> Winner | Decision:
    if strategy is Strategy.MANUAL or choice is not None:
        if choice is None:
            return Decision(Action.NONE, "no side chosen for it")
        return choice
    if state in (SyncState.CONFLICT, SyncState.UNKNOWN) and not forced:
        why = (
            "both sides changed since they last agreed"
            if state is SyncState.CONFLICT
            else "no base hash, so which side changed cannot be told"
        )
        return Decision(Action.CONFLICT, f"{why}: choose a side (manual) or list it in force")
    return Winner.GIT if strategy is Strategy.GIT_WINS else Winner.ENV


def _act(winner: Winner, state: SyncState) -> Decision:
    if winner is Winner.GIT:
        why = {
            SyncState.OUT_OF_DATE: "Git is newer: deploy it",
            SyncState.DRIFT: "edited in n8n: Git's version replaces it (a snapshot keeps the edit)",
        }.get(state, "Git's version replaces the environment's (a snapshot keeps it)")
        return Decision(Action.DEPLOY, why, state)
    why = {
        SyncState.DRIFT: "edited in n8n: commit it to Git",
        SyncState.OUT_OF_DATE: (
            "Git is newer: the environment's version replaces it (a snapshot keeps Git's)"
        ),
    }.get(state, "the environment's version replaces Git's (a snapshot keeps it)")
    return Decision(Action.COMMIT, why, state)


def _one_version_per_file(cells: Sequence[Cell], decisions: list[Decision]) -> list[Decision]:
    """One canonical workflow, one file: environments committing different versions are all
    blocked; a deploy of a workflow that the same plan commits is blocked too (it would
    write the version the commit replaces)."""
    versions: dict[str, set[str | None]] = defaultdict(set)
    for cell, decision in zip(cells, decisions, strict=True):
        if decision.action in (Action.COMMIT, Action.READOPT):
            versions[cell.canonical_key].add(cell.env_hash)
    split = {key for key, hashes in versions.items() if len(hashes) > 1}
    if not versions:
        return decisions
    result = []
    for cell, decision in zip(cells, decisions, strict=True):
        key = cell.canonical_key
        if decision.action in (Action.COMMIT, Action.READOPT) and key in split:
            decision = Decision(
                Action.BLOCKED,
                "environments hold different versions of it: commit one (scope the plan to "
                "one environment, or choose manually)",
                decision.state,
            )
        elif decision.action is Action.DEPLOY and key in versions:
            decision = Decision(
                Action.BLOCKED,
                "the same plan commits another environment's version of it: deploy it once "
                "that commit is in Git",
                decision.state,
            )
        result.append(decision)
    return result
