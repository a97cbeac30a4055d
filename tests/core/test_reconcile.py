"""Reconcile planning: every strategy on every kind of cell."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canonflow.core.reconcile import (
    Action,
    Cell,
    Strategy,
    Winner,
    decide,
    plan,
    prune_guard_holds,
)
from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import SyncState, derive_sync_state

A, B, C = "v1:a", "v1:b", "v1:c"
LINKED = MappingStatus.LINKED


def linked(env: str | None, git: str | None, base: str | None, key: str = "k") -> Cell:
    return Cell(key, LINKED, env_hash=env, git_hash=git, base_hash=base)


@pytest.mark.parametrize(
    ("cell", "git_wins", "env_wins"),
    [
        (linked(A, A, A), Action.NONE, Action.NONE),  # in sync
        (linked(A, A, None), Action.NONE, Action.NONE),  # in sync without a base
        (linked(B, A, A), Action.DEPLOY, Action.COMMIT),  # drift
        (linked(A, B, A), Action.DEPLOY, Action.COMMIT),  # out of date
        (linked(B, C, A), Action.CONFLICT, Action.CONFLICT),  # conflict
        (linked(A, B, None), Action.CONFLICT, Action.CONFLICT),  # no base: cannot tell
        (linked(A, None, None), Action.BLOCKED, Action.BLOCKED),  # not in Git yet
        (linked(None, A, A), Action.BLOCKED, Action.BLOCKED),  # never hashed
    ],
)
def test_strategies_on_linked_cells(cell: Cell, git_wins: Action, env_wins: Action) -> None:
    assert decide(cell, Strategy.GIT_WINS).action is git_wins
    assert decide(cell, Strategy.ENV_WINS).action is env_wins
    manual = decide(cell, Strategy.MANUAL)
    assert manual.action is (Action.BLOCKED if git_wins is Action.BLOCKED else Action.NONE)


def test_the_reason_says_who_changed_what() -> None:
    assert "edited in n8n" in decide(linked(B, A, A), Strategy.ENV_WINS).reason
    assert "Git is newer" in decide(linked(A, B, A), Strategy.GIT_WINS).reason
    conflict = decide(linked(B, C, A), Strategy.GIT_WINS)
    assert "both sides changed" in conflict.reason and "force" in conflict.reason
    assert conflict.state is SyncState.CONFLICT


def test_force_and_manual_choices_resolve_conflicts() -> None:
    conflict = linked(B, C, A)
    assert decide(conflict, Strategy.GIT_WINS, forced=True).action is Action.DEPLOY
    assert decide(conflict, Strategy.ENV_WINS, forced=True).action is Action.COMMIT
    assert decide(conflict, Strategy.MANUAL, choice=Winner.GIT).action is Action.DEPLOY
    assert decide(conflict, Strategy.MANUAL, choice=Winner.ENV).action is Action.COMMIT
    # a choice on a cell in sync changes nothing
    assert decide(linked(A, A, A), Strategy.MANUAL, choice=Winner.ENV).action is Action.NONE


@pytest.mark.parametrize(
    "status",
    [MappingStatus.MISSING, MappingStatus.IGNORED, MappingStatus.DELETED, MappingStatus.UNTRACKED],
)
def test_cells_that_are_not_linked_are_left_alone(status: MappingStatus) -> None:
    cell = Cell("k", status, env_hash=B, git_hash=A, base_hash=A)
    for strategy in Strategy:
        for forced, choice in itertools.product((False, True), (None, Winner.GIT, Winner.ENV)):
            decision = decide(cell, strategy, forced=forced, choice=choice)
            assert decision.action is Action.NONE
            assert decision.reason


def test_absent_cells_are_created_only_when_asked_for() -> None:
    absent = Cell("k", None, git_hash=A)
    assert decide(absent, Strategy.GIT_WINS).action is Action.NONE
    assert decide(Cell("k", None, git_hash=A, scoped=True), Strategy.GIT_WINS).action is (
        Action.DEPLOY
    )
    assert decide(absent, Strategy.MANUAL, choice=Winner.GIT).action is Action.DEPLOY
    assert decide(absent, Strategy.ENV_WINS).action is Action.NONE
    assert decide(Cell("k", None, scoped=True), Strategy.GIT_WINS).action is Action.BLOCKED


def test_two_environments_cannot_commit_two_versions_of_one_file() -> None:
    cells = [linked(B, A, A, "x"), linked(C, A, A, "x"), linked(B, A, A, "y")]
    decisions = plan(cells, Strategy.ENV_WINS)
    assert [d.action for d in decisions] == [Action.BLOCKED, Action.BLOCKED, Action.COMMIT]
    assert "different versions" in decisions[0].reason
    same = plan([linked(B, A, A, "x"), linked(B, A, A, "x")], Strategy.ENV_WINS)
    assert [d.action for d in same] == [Action.COMMIT, Action.COMMIT]
    # git_wins deploys each environment on its own
    assert [d.action for d in plan(cells, Strategy.GIT_WINS)] == [Action.DEPLOY] * 3


def test_a_deploy_of_a_workflow_the_plan_commits_waits_for_the_commit() -> None:
    cells = [linked(B, C, A, "x"), linked(C, B, A, "x"), linked(B, C, A, "y")]
    decisions = plan(cells, Strategy.MANUAL, choices=[Winner.GIT, Winner.ENV, Winner.GIT])
    assert [d.action for d in decisions] == [Action.BLOCKED, Action.COMMIT, Action.DEPLOY]
    assert "commits another environment's version" in decisions[0].reason


def test_plan_takes_force_and_choices_by_position() -> None:
    cells = [linked(B, C, A, "x"), linked(B, C, A, "y"), linked(B, A, A, "z")]
    forced = plan(cells, Strategy.GIT_WINS, forced=[False, True])
    assert [d.action for d in forced] == [Action.CONFLICT, Action.DEPLOY, Action.DEPLOY]
    manual = plan(cells, Strategy.MANUAL, choices=[Winner.ENV, None, Winner.GIT])
    assert [d.action for d in manual] == [Action.COMMIT, Action.NONE, Action.DEPLOY]


hashes = st.sampled_from([None, A, B, C])
statuses = st.sampled_from([None, *MappingStatus])


@given(
    status=statuses,
    env=hashes,
    git=hashes,
    base=hashes,
    strategy=st.sampled_from(list(Strategy)),
    forced=st.booleans(),
    choice=st.sampled_from([None, *Winner]),
    scoped=st.booleans(),
)
def test_rules_hold_for_every_cell(
    status: MappingStatus | None,
    env: str | None,
    git: str | None,
    base: str | None,
    strategy: Strategy,
    forced: bool,
    choice: Winner | None,
    scoped: bool,
) -> None:
    cell = Cell("k", status, env_hash=env, git_hash=git, base_hash=base, scoped=scoped)
    decision = decide(cell, strategy, forced=forced, choice=choice)
    assert decision.reason
    if decision.acts and status is LINKED:
        assert env is not None and git is not None and env != git  # never acts on equal sides
    state = derive_sync_state(env, git, base)
    if status is LINKED and state in (SyncState.CONFLICT, SyncState.UNKNOWN) and decision.acts:
        assert forced or choice is not None  # a conflict is acted on only when asked
    if decision.action is Action.DEPLOY:
        assert git is not None and (strategy is Strategy.GIT_WINS or choice is Winner.GIT)
    if decision.action is Action.COMMIT:
        assert status is LINKED and (strategy is Strategy.ENV_WINS or choice is Winner.ENV)
    if status not in (None, LINKED):
        assert decision.action is Action.NONE


def orphan(env: str | None = B, key: str = "k", status: MappingStatus = LINKED) -> Cell:
    return Cell(key, status, env_hash=env, git_hash=A, base_hash=A, canonical_deleted=True)


def test_an_orphaned_copy_is_deleted_by_git_wins_and_re_adopted_by_env_wins() -> None:
    for env in (A, B, None):  # whatever its hashes say, even "equal to Git's last version"
        git_wins, env_wins = (
            decide(orphan(env), Strategy.GIT_WINS),
            decide(orphan(env), Strategy.ENV_WINS),
        )
        assert (git_wins.action, git_wins.state) == (Action.DELETE, SyncState.ORPHANED)
        assert (env_wins.action, env_wins.state) == (Action.READOPT, SyncState.ORPHANED)
        assert git_wins.acts and env_wins.acts
    manual = decide(orphan(), Strategy.MANUAL)
    assert (manual.action, manual.state) == (Action.NONE, SyncState.ORPHANED)
    assert "choose git" in manual.reason
    assert decide(orphan(), Strategy.MANUAL, choice=Winner.GIT).action is Action.DELETE
    assert decide(orphan(), Strategy.MANUAL, choice=Winner.ENV).action is Action.READOPT
    assert decide(orphan(), Strategy.GIT_WINS, choice=Winner.ENV).action is Action.READOPT


def test_only_a_linked_copy_of_a_deleted_canonical_is_acted_on() -> None:
    for status in (MappingStatus.MISSING, MappingStatus.IGNORED, MappingStatus.DELETED):
        for strategy in Strategy:
            decision = decide(orphan(status=status), strategy, choice=Winner.GIT)
            assert decision.action is Action.NONE and decision.state is None
    absent = Cell("k", None, git_hash=A, scoped=True, canonical_deleted=True)
    assert decide(absent, Strategy.GIT_WINS).action is Action.NONE  # nothing to create


def test_two_environments_cannot_re_adopt_two_versions_of_one_file() -> None:
    split = plan([orphan(B, "x"), orphan(C, "x"), orphan(B, "y")], Strategy.ENV_WINS)
    assert [d.action for d in split] == [Action.BLOCKED, Action.BLOCKED, Action.READOPT]
    same = plan([orphan(B, "x"), orphan(B, "x")], Strategy.ENV_WINS)
    assert [d.action for d in same] == [Action.READOPT, Action.READOPT]
    mixed = plan(
        [orphan(B, "x"), orphan(C, "x")], Strategy.MANUAL, choices=[Winner.ENV, Winner.GIT]
    )
    assert [d.action for d in mixed] == [Action.READOPT, Action.DELETE]


@pytest.mark.parametrize(
    ("deletes", "live", "percent", "holds"),
    [
        (0, 0, 20.0, False),
        (0, 10, 20.0, False),
        (2, 10, 20.0, False),  # exactly 20 %: allowed
        (3, 10, 20.0, True),
        (1, 1, 100.0, True),  # all of them, whatever the percentage
        (5, 5, 100.0, True),
        (1, 4, 20.0, True),
        (1, 6, 20.0, False),
        (99, 100, 100.0, False),
    ],
)
def test_prune_guard(deletes: int, live: int, percent: float, holds: bool) -> None:
    assert prune_guard_holds(deletes, live, percent) is holds


@given(
    status=statuses,
    env=hashes,
    strategy=st.sampled_from(list(Strategy)),
    forced=st.booleans(),
    choice=st.sampled_from([None, *Winner]),
    scoped=st.booleans(),
)
def test_a_deleted_canonical_is_never_deployed_or_committed(
    status: MappingStatus | None,
    env: str | None,
    strategy: Strategy,
    forced: bool,
    choice: Winner | None,
    scoped: bool,
) -> None:
    cell = Cell(
        "k", status, env_hash=env, git_hash=A, base_hash=A, scoped=scoped, canonical_deleted=True
    )
    decision = decide(cell, strategy, forced=forced, choice=choice)
    assert decision.reason
    assert decision.action in (Action.DELETE, Action.READOPT, Action.NONE)
    if decision.action is not Action.NONE:
        assert status is LINKED and decision.state is SyncState.ORPHANED
    if decision.action is Action.DELETE:
        assert choice is Winner.GIT or (choice is None and strategy is Strategy.GIT_WINS)
    if decision.action is Action.READOPT:
        assert choice is Winner.ENV or (choice is None and strategy is Strategy.ENV_WINS)
    if status is LINKED:
        assert decision.state is SyncState.ORPHANED  # never in sync, whatever the hashes
