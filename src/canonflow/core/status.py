"""Mapping status: the stored state of one n8n workflow in one environment (DESIGN section 3).

The status follows from a few facts, in precedence order (highest first):

    deleted   the workflow was deleted (terminal: nothing brings it back)
    ignored   a user ignores it (until un-ignored)
    missing   the last complete sync of its environment did not list it
    untracked it has no canonical workflow
    linked    otherwise

`transition` is pure and total: every (status, event) pair has an answer and it never
raises. An event implies its own fact and that wins over a contradicting fact passed in:
`sync_seen` means present, `sync_absent` absent, `user_linked` has a canonical,
`user_unlinked` has none, `replaced` has none (another workflow took its canonical).

The facts are kept with the status (`MappingState`, `step`): presence is a fact the sync
records even while a mapping is ignored, so un-ignoring it gives what the facts say.
Only a live mapping (linked, untracked, ignored) holds its canonical workflow in its
environment; a missing or deleted one lets go of it when another workflow takes its place.
"""

from dataclasses import dataclass, replace
from enum import StrEnum


class MappingStatus(StrEnum):
    """Stored status of a mapping."""

    LINKED = "linked"
    UNTRACKED = "untracked"
    MISSING = "missing"
    IGNORED = "ignored"
    DELETED = "deleted"


PRECEDENCE: tuple[MappingStatus, ...] = (
    MappingStatus.DELETED,
    MappingStatus.IGNORED,
    MappingStatus.MISSING,
    MappingStatus.UNTRACKED,
    MappingStatus.LINKED,
)


class MappingEvent(StrEnum):
    """Something that happened to a mapping."""

    SYNC_SEEN = "sync_seen"  # an environment sync listed the workflow (new or reappeared)
    SYNC_ABSENT = "sync_absent"  # a complete environment sync did not list it
    USER_LINKED = "user_linked"
    USER_UNLINKED = "user_unlinked"
    USER_IGNORED = "user_ignored"
    USER_UNIGNORED = "user_unignored"
    DELETED = "deleted"  # deleted by a user or pruned by reconcile
    REPLACED = "replaced"  # a recreated workflow took its canonical: this one lets go of it


#: The statuses whose mapping holds its canonical workflow in its environment.
LIVE_STATUSES = frozenset({MappingStatus.LINKED, MappingStatus.UNTRACKED, MappingStatus.IGNORED})


def holds_canonical(status: MappingStatus) -> bool:
    """Whether a mapping of this status keeps its canonical from another workflow."""
    return status in LIVE_STATUSES


@dataclass(frozen=True)
class MappingFacts:
    """What holds for the mapping after the event."""

    has_canonical: bool
    present: bool


def status_from_facts(
    facts: MappingFacts, *, ignored: bool = False, deleted: bool = False
) -> MappingStatus:
    """The status the facts call for, by precedence: deleted > ignored > missing > untracked."""
    if deleted:
        return MappingStatus.DELETED
    if ignored:
        return MappingStatus.IGNORED
    if not facts.present:
        return MappingStatus.MISSING
    if not facts.has_canonical:
        return MappingStatus.UNTRACKED
    return MappingStatus.LINKED


def transition(
    current: MappingStatus | None, event: MappingEvent, facts: MappingFacts
) -> MappingStatus:
    """The status after `event`; `current` is None for a mapping that does not exist yet.

    deleted is terminal; ignored survives everything but `user_unignored` and `deleted`.
    """
    if current is MappingStatus.DELETED or event is MappingEvent.DELETED:
        return MappingStatus.DELETED
    if event is MappingEvent.USER_IGNORED:
        return MappingStatus.IGNORED
    still_ignored = current is MappingStatus.IGNORED and event is not MappingEvent.USER_UNIGNORED
    return status_from_facts(_implied_facts(event, facts), ignored=still_ignored)


@dataclass(frozen=True)
class MappingState:
    """A mapping's stored status with the facts it was derived from."""

    status: MappingStatus | None
    facts: MappingFacts


def step(state: MappingState, event: MappingEvent) -> MappingState:
    """The state after `event`: the facts the event implies, and the status they call for."""
    after = implied_facts(event, state.facts)
    return MappingState(transition(state.status, event, after), after)


def implied_facts(event: MappingEvent, facts: MappingFacts) -> MappingFacts:
    """The facts after `event`, given those before it."""
    return _implied_facts(event, facts)


def _implied_facts(event: MappingEvent, facts: MappingFacts) -> MappingFacts:
    match event:
        case MappingEvent.SYNC_SEEN:
            return replace(facts, present=True)
        case MappingEvent.SYNC_ABSENT:
            return replace(facts, present=False)
        case MappingEvent.USER_LINKED:
            return replace(facts, has_canonical=True)
        case MappingEvent.USER_UNLINKED | MappingEvent.REPLACED:
            return replace(facts, has_canonical=False)
        case _:
            return facts
