"""Mapping status transitions (DESIGN section 3), over every (status, event) pair."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonflow.core.status import (
    PRECEDENCE,
    MappingEvent,
    MappingFacts,
    MappingState,
    MappingStatus,
    holds_canonical,
    implied_facts,
    status_from_facts,
    step,
    transition,
)

S, E = MappingStatus, MappingEvent
LETTERS = {"L": S.LINKED, "U": S.UNTRACKED, "M": S.MISSING, "I": S.IGNORED, "D": S.DELETED}
# The four columns of every row below, in this order.
FACT_COLUMNS = (
    MappingFacts(has_canonical=True, present=True),
    MappingFacts(has_canonical=True, present=False),
    MappingFacts(has_canonical=False, present=True),
    MappingFacts(has_canonical=False, present=False),
)
# (current, event): outcome for each fact column, one letter each (see LETTERS).
# An event's own fact wins: sync_seen => present, sync_absent => absent,
# user_linked => has a canonical, user_unlinked and replaced => has none.
TABLE: dict[tuple[MappingStatus | None, MappingEvent], str] = {
    (None, E.SYNC_SEEN): "LLUU",
    (None, E.SYNC_ABSENT): "MMMM",
    (None, E.USER_LINKED): "LMLM",
    (None, E.USER_UNLINKED): "UMUM",
    (None, E.USER_IGNORED): "IIII",
    (None, E.USER_UNIGNORED): "LMUM",
    (None, E.DELETED): "DDDD",
    (None, E.REPLACED): "UMUM",
    (S.LINKED, E.SYNC_SEEN): "LLUU",
    (S.LINKED, E.SYNC_ABSENT): "MMMM",
    (S.LINKED, E.USER_LINKED): "LMLM",
    (S.LINKED, E.USER_UNLINKED): "UMUM",
    (S.LINKED, E.USER_IGNORED): "IIII",
    (S.LINKED, E.USER_UNIGNORED): "LMUM",
    (S.LINKED, E.DELETED): "DDDD",
    (S.LINKED, E.REPLACED): "UMUM",
    (S.UNTRACKED, E.SYNC_SEEN): "LLUU",
    (S.UNTRACKED, E.SYNC_ABSENT): "MMMM",
    (S.UNTRACKED, E.USER_LINKED): "LMLM",
    (S.UNTRACKED, E.USER_UNLINKED): "UMUM",
    (S.UNTRACKED, E.USER_IGNORED): "IIII",
    (S.UNTRACKED, E.USER_UNIGNORED): "LMUM",
    (S.UNTRACKED, E.DELETED): "DDDD",
    (S.UNTRACKED, E.REPLACED): "UMUM",
    (S.MISSING, E.SYNC_SEEN): "LLUU",
    (S.MISSING, E.SYNC_ABSENT): "MMMM",
    (S.MISSING, E.USER_LINKED): "LMLM",
    (S.MISSING, E.USER_UNLINKED): "UMUM",
    (S.MISSING, E.USER_IGNORED): "IIII",
    (S.MISSING, E.USER_UNIGNORED): "LMUM",
    (S.MISSING, E.DELETED): "DDDD",
    (S.MISSING, E.REPLACED): "UMUM",
    (S.IGNORED, E.SYNC_SEEN): "IIII",
    (S.IGNORED, E.SYNC_ABSENT): "IIII",
    (S.IGNORED, E.USER_LINKED): "IIII",
    (S.IGNORED, E.USER_UNLINKED): "IIII",
    (S.IGNORED, E.USER_IGNORED): "IIII",
    (S.IGNORED, E.USER_UNIGNORED): "LMUM",
    (S.IGNORED, E.DELETED): "DDDD",
    (S.IGNORED, E.REPLACED): "IIII",
    (S.DELETED, E.SYNC_SEEN): "DDDD",
    (S.DELETED, E.SYNC_ABSENT): "DDDD",
    (S.DELETED, E.USER_LINKED): "DDDD",
    (S.DELETED, E.USER_UNLINKED): "DDDD",
    (S.DELETED, E.USER_IGNORED): "DDDD",
    (S.DELETED, E.USER_UNIGNORED): "DDDD",
    (S.DELETED, E.DELETED): "DDDD",
    (S.DELETED, E.REPLACED): "DDDD",
}
CASES = [
    pytest.param(current, event, facts, LETTERS[row[column]], id=f"{current}-{event}-{column}")
    for (current, event), row in TABLE.items()
    for column, facts in enumerate(FACT_COLUMNS)
]


def test_the_table_covers_every_status_and_event() -> None:
    assert set(TABLE) == {(current, event) for current in (None, *S) for event in E}


@pytest.mark.parametrize(("current", "event", "facts", "expected"), CASES)
def test_transition(
    current: MappingStatus | None, event: MappingEvent, facts: MappingFacts, expected: MappingStatus
) -> None:
    assert transition(current, event, facts) is expected


def facts(has_canonical: bool = True, present: bool = True) -> MappingFacts:
    return MappingFacts(has_canonical=has_canonical, present=present)


@pytest.mark.parametrize(
    ("current", "event", "after", "expected"),
    [
        (None, E.SYNC_SEEN, facts(), S.LINKED),  # new, auto-linked
        (None, E.SYNC_SEEN, facts(has_canonical=False), S.UNTRACKED),  # new, not linked
        (S.UNTRACKED, E.USER_LINKED, facts(), S.LINKED),
        (S.LINKED, E.SYNC_ABSENT, facts(present=False), S.MISSING),
        (S.UNTRACKED, E.SYNC_ABSENT, facts(False, False), S.MISSING),
        (S.MISSING, E.SYNC_SEEN, facts(), S.LINKED),  # reappeared, has canonical
        (S.MISSING, E.SYNC_SEEN, facts(has_canonical=False), S.UNTRACKED),
        (S.MISSING, E.USER_LINKED, facts(present=False), S.MISSING),  # until it reappears
        (S.LINKED, E.USER_IGNORED, facts(), S.IGNORED),
        (S.IGNORED, E.SYNC_ABSENT, facts(present=False), S.IGNORED),
        (S.IGNORED, E.USER_UNIGNORED, facts(present=False), S.MISSING),
        (S.IGNORED, E.DELETED, facts(), S.DELETED),
        (S.DELETED, E.SYNC_SEEN, facts(), S.DELETED),
    ],
)
def test_the_design_table(
    current: MappingStatus | None, event: MappingEvent, after: MappingFacts, expected: MappingStatus
) -> None:
    assert transition(current, event, after) is expected


def test_precedence_lists_every_status_highest_first() -> None:
    assert (S.DELETED, S.IGNORED, S.MISSING, S.UNTRACKED, S.LINKED) == PRECEDENCE


def test_values_are_the_stored_strings() -> None:
    assert [str(status) for status in S] == ["linked", "untracked", "missing", "ignored", "deleted"]
    assert S("missing") is S.MISSING
    assert E("sync_seen") is E.SYNC_SEEN


def highest(held: set[MappingStatus]) -> MappingStatus:
    return next(status for status in PRECEDENCE if status in held | {S.LINKED})


@settings(deadline=None, database=None)
@given(st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_status_from_facts_takes_the_highest_status_that_holds(
    has_canonical: bool, present: bool, ignored: bool, deleted: bool
) -> None:
    held = {
        status
        for status, holds in [
            (S.DELETED, deleted),
            (S.IGNORED, ignored),
            (S.MISSING, not present),
            (S.UNTRACKED, not has_canonical),
        ]
        if holds
    }
    result = status_from_facts(facts(has_canonical, present), ignored=ignored, deleted=deleted)
    assert result is highest(held)


statuses = st.none() | st.sampled_from(MappingStatus)
events = st.sampled_from(MappingEvent)
all_facts = st.builds(MappingFacts, has_canonical=st.booleans(), present=st.booleans())
QUICK = settings(max_examples=200, deadline=None, database=None)


@QUICK
@given(statuses, events, all_facts)
def test_transition_applies_precedence_to_what_holds_after_the_event(
    current: MappingStatus | None, event: MappingEvent, after: MappingFacts
) -> None:
    held = set()
    if current is S.DELETED or event is E.DELETED:
        held.add(S.DELETED)
    if event is E.USER_IGNORED or (current is S.IGNORED and event is not E.USER_UNIGNORED):
        held.add(S.IGNORED)
    if event is E.SYNC_ABSENT or (not after.present and event is not E.SYNC_SEEN):
        held.add(S.MISSING)
    lets_go = event in (E.USER_UNLINKED, E.REPLACED)
    if lets_go or (not after.has_canonical and event is not E.USER_LINKED):
        held.add(S.UNTRACKED)
    assert transition(current, event, after) is highest(held)


@QUICK
@given(statuses, st.lists(st.tuples(events, all_facts), max_size=12))
def test_any_event_sequence_gives_a_status_and_never_leaves_deleted(
    start: MappingStatus | None, steps: list[tuple[MappingEvent, MappingFacts]]
) -> None:
    current = start
    for event, after in steps:
        following = transition(current, event, after)
        assert isinstance(following, MappingStatus)
        if current is S.DELETED:
            assert following is S.DELETED
        if current is S.IGNORED and event not in (E.USER_UNIGNORED, E.DELETED):
            assert following is S.IGNORED
        current = following


# The facts each event leaves, per column of FACT_COLUMNS: "cp" = has a canonical and is
# present; "c-", "-p", "--" likewise. Events that say nothing about a fact keep it.
FACTS_AFTER: dict[MappingEvent, str] = {
    E.SYNC_SEEN: "cp cp -p -p",
    E.SYNC_ABSENT: "c- c- -- --",
    E.USER_LINKED: "cp c- cp c-",
    E.USER_UNLINKED: "-p -- -p --",
    E.REPLACED: "-p -- -p --",
    E.USER_IGNORED: "cp c- -p --",
    E.USER_UNIGNORED: "cp c- -p --",
    E.DELETED: "cp c- -p --",
}


def test_the_facts_table_covers_every_event() -> None:
    assert set(FACTS_AFTER) == set(E)


@pytest.mark.parametrize(
    ("event", "column"), [(event, column) for event in E for column in range(len(FACT_COLUMNS))]
)
def test_implied_facts(event: MappingEvent, column: int) -> None:
    code = FACTS_AFTER[event].split()[column]
    expected = MappingFacts(has_canonical=code[0] == "c", present=code[1] == "p")
    assert implied_facts(event, FACT_COLUMNS[column]) == expected


@pytest.mark.parametrize("status", [None, *S])
@pytest.mark.parametrize("event", list(E))
@pytest.mark.parametrize("before", FACT_COLUMNS)
def test_step_keeps_the_facts_it_derived_the_status_from(
    status: MappingStatus | None, event: MappingEvent, before: MappingFacts
) -> None:
    after = step(MappingState(status, before), event)
    assert after.facts == implied_facts(event, before)
    assert after.status is transition(status, event, after.facts)


def test_presence_is_kept_while_ignored_and_un_ignoring_asks_it() -> None:
    """Ignored, then the workflow vanishes from n8n: un-ignoring gives missing, not
    linked; and when it comes back while ignored, un-ignoring gives linked."""
    ignored = step(MappingState(S.LINKED, facts()), E.USER_IGNORED)
    gone = step(ignored, E.SYNC_ABSENT)
    assert gone.status is S.IGNORED and not gone.facts.present
    assert step(gone, E.USER_UNIGNORED).status is S.MISSING
    back = step(gone, E.SYNC_SEEN)
    assert back.status is S.IGNORED
    assert step(back, E.USER_UNIGNORED).status is S.LINKED


@QUICK
@given(statuses, all_facts, st.lists(events, max_size=12))
def test_un_ignoring_always_gives_what_the_kept_facts_say(
    start: MappingStatus | None, before: MappingFacts, sequence: list[MappingEvent]
) -> None:
    state = MappingState(start, before)
    for event in sequence:
        state = step(state, event)
    unignored = step(state, E.USER_UNIGNORED)
    if state.status is S.DELETED:
        assert unignored.status is S.DELETED
    else:
        assert unignored.status is status_from_facts(state.facts)


@pytest.mark.parametrize("status", list(S))
def test_only_live_mappings_hold_their_canonical(status: MappingStatus) -> None:
    assert holds_canonical(status) is (status in (S.LINKED, S.UNTRACKED, S.IGNORED))


@pytest.mark.parametrize("status", [S.MISSING, S.DELETED])
def test_a_replaced_mapping_lets_go_and_keeps_its_status(status: MappingStatus) -> None:
    replaced = step(MappingState(status, facts(present=False)), E.REPLACED)
    assert replaced.status is status and not replaced.facts.has_canonical
