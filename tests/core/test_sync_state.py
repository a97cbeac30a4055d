"""Derived sync state (DESIGN section 3): every combination of three hashes."""

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from canonflow.core.sync_state import (
    SyncState,
    SyncView,
    derive_sync_state,
    derive_sync_view,
    has_pending_draft,
)

IN_SYNC, DRIFT, OUT_OF_DATE = SyncState.IN_SYNC, SyncState.DRIFT, SyncState.OUT_OF_DATE
CONFLICT, UNKNOWN = SyncState.CONFLICT, SyncState.UNKNOWN


@pytest.mark.parametrize(
    ("env", "git", "base", "expected"),
    [
        ("a", "a", "a", IN_SYNC),
        ("a", "a", "b", IN_SYNC),  # both made the same change
        ("a", "a", None, IN_SYNC),
        ("b", "a", "a", DRIFT),
        ("a", "b", "a", OUT_OF_DATE),
        ("b", "c", "a", CONFLICT),
        ("a", "b", None, UNKNOWN),
        (None, "a", "a", UNKNOWN),
        ("a", None, "a", UNKNOWN),
        (None, None, "a", UNKNOWN),
        (None, None, None, UNKNOWN),
    ],
)
def test_derive_sync_state(
    env: str | None, git: str | None, base: str | None, expected: SyncState
) -> None:
    assert derive_sync_state(env, git, base) is expected


DESIGN_RULES = {
    IN_SYNC: lambda env, git, base: env is not None and env == git,
    DRIFT: lambda env, git, base: None not in (env, git, base) and env != base and git == base,
    OUT_OF_DATE: lambda env, git, base: None not in (env, git, base) and git != base == env,
    CONFLICT: lambda env, git, base: None not in (env, git, base) and len({env, git, base}) == 3,
    UNKNOWN: lambda env, git, base: None in (env, git) or (base is None and env != git),
}


@pytest.mark.parametrize(
    ("env", "git", "base"), list(itertools.product([None, "a", "b", "c"], repeat=3))
)
def test_exactly_one_design_rule_holds_and_it_is_the_answer(
    env: str | None, git: str | None, base: str | None
) -> None:
    holding = [state for state, rule in DESIGN_RULES.items() if rule(env, git, base)]
    assert holding == [derive_sync_state(env, git, base)]


NOON = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LATER = NOON + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("git_at", "env_at", "newer"),
    [
        (LATER, NOON, "git"),
        (NOON, LATER, "env"),
        (NOON, NOON, None),
        (None, NOON, None),
        (NOON, None, None),
        (None, None, None),
        (NOON.astimezone(timezone(timedelta(hours=2))), NOON, None),  # same instant
        (LATER.replace(tzinfo=None), NOON, "git"),  # naive counts as UTC
        (NOON, LATER.replace(tzinfo=None), "env"),
    ],
)
@pytest.mark.parametrize(
    ("env", "git", "base"), [("a", "b", None), (None, "b", "a"), ("a", None, None)]
)
def test_unknown_compares_commit_time_with_n8n_update_time(
    env: str | None,
    git: str | None,
    base: str | None,
    git_at: datetime | None,
    env_at: datetime | None,
    newer: str | None,
) -> None:
    view = derive_sync_view(env, git, base, git_committed_at=git_at, n8n_updated_at=env_at)
    assert view == SyncView(UNKNOWN, newer)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("env", "git", "base", "expected"),
    [
        ("a", "a", "a", SyncView(IN_SYNC, None)),
        ("a", "a", None, SyncView(IN_SYNC, None)),
        ("b", "a", "a", SyncView(DRIFT, "env")),
        ("a", "b", "a", SyncView(OUT_OF_DATE, "git")),
        ("b", "c", "a", SyncView(CONFLICT, None)),
    ],
)
@pytest.mark.parametrize(("git_at", "env_at"), [(LATER, NOON), (NOON, LATER), (None, None)])
def test_known_states_ignore_timestamps(
    env: str,
    git: str,
    base: str | None,
    expected: SyncView,
    git_at: datetime | None,
    env_at: datetime | None,
) -> None:
    view = derive_sync_view(env, git, base, git_committed_at=git_at, n8n_updated_at=env_at)
    assert view == expected


def test_states_are_strings() -> None:
    assert [str(state) for state in SyncState] == [
        "in_sync",
        "draft_pending",
        "drift",
        "out_of_date",
        "conflict",
        "unknown",
        "orphaned",
    ]


@pytest.mark.parametrize(
    ("env", "git", "base"), list(itertools.product([None, "a", "b"], repeat=3))
)
def test_a_copy_of_a_canonical_deleted_in_git_is_orphaned_never_in_sync(
    env: str | None, git: str | None, base: str | None
) -> None:
    state = derive_sync_state(env, git, base, canonical_deleted=True)
    assert state is SyncState.ORPHANED
    view = derive_sync_view(
        env, git, base, git_committed_at=NOON, n8n_updated_at=LATER, canonical_deleted=True
    )
    assert view == SyncView(SyncState.ORPHANED, None)
    assert derive_sync_state(env, git, base) is not SyncState.ORPHANED


DRAFT_PENDING = SyncState.DRAFT_PENDING
#: With a draft hash (n8n 2.x): the rules above, except that in sync with a draft that
#: differs from what the environment runs is draft_pending.
DRAFT_RULES = {
    IN_SYNC: lambda env, git, base, draft: (
        env is not None and env == git and (draft is None or draft == env)
    ),
    DRAFT_PENDING: lambda env, git, base, draft: (
        env is not None and env == git and draft is not None and draft != env
    ),
    DRIFT: lambda env, git, base, draft: DESIGN_RULES[DRIFT](env, git, base),
    OUT_OF_DATE: lambda env, git, base, draft: DESIGN_RULES[OUT_OF_DATE](env, git, base),
    CONFLICT: lambda env, git, base, draft: DESIGN_RULES[CONFLICT](env, git, base),
    UNKNOWN: lambda env, git, base, draft: DESIGN_RULES[UNKNOWN](env, git, base),
}


@pytest.mark.parametrize(
    ("env", "git", "base", "draft"), list(itertools.product([None, "a", "b", "c"], repeat=4))
)
def test_with_a_draft_exactly_one_rule_holds_and_it_is_the_answer(
    env: str | None, git: str | None, base: str | None, draft: str | None
) -> None:
    holding = [state for state, rule in DRAFT_RULES.items() if rule(env, git, base, draft)]
    assert holding == [derive_sync_state(env, git, base, draft_hash=draft)]
    # the flag: a draft other than what runs, whatever the state; it changes no other state
    assert has_pending_draft(env, draft) is (draft is not None and draft != env)
    if holding != [DRAFT_PENDING]:
        assert derive_sync_state(env, git, base, draft_hash=draft) is derive_sync_state(
            env, git, base
        )


@pytest.mark.parametrize(("env", "git", "base"), [("a", "a", "a"), ("a", "a", None)])
def test_a_pending_draft_is_newer_on_the_environment_side(
    env: str, git: str, base: str | None
) -> None:
    view = derive_sync_view(
        env, git, base, git_committed_at=LATER, n8n_updated_at=NOON, draft_hash="d"
    )
    assert view == SyncView(DRAFT_PENDING, "env")


def test_a_deleted_canonical_is_orphaned_even_with_a_draft() -> None:
    assert derive_sync_state("a", "a", "a", canonical_deleted=True, draft_hash="d") is (
        SyncState.ORPHANED
    )
