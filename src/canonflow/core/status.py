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
`user_unlinked` has none.
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


def _implied_facts(event: MappingEvent, facts: MappingFacts) -> MappingFacts:
    match event:
        case MappingEvent.SYNC_SEEN:
            return replace(facts, present=True)
        case MappingEvent.SYNC_ABSENT:
            return replace(facts, present=False)
        case MappingEvent.USER_LINKED:
            return replace(facts, has_canonical=True)
        case MappingEvent.USER_UNLINKED:
            return replace(facts, has_canonical=False)
        case _:
            return facts
