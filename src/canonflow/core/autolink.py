"""Auto-linking (DESIGN section 6): match untracked workflows to canonical workflows.

An untracked workflow links to a canonical workflow not yet linked in its environment,
first by exact name, then by equal content hash, and only when the match is unambiguous on
both sides: one workflow and one canonical share that name (or hash). Everything else stays
untracked, with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class Candidate:
    """One side of a match: an untracked mapping or an unlinked canonical workflow."""

    id: str
    name: str | None
    content_hash: str | None


class LinkReason(StrEnum):
    NAME = "name"
    CONTENT_HASH = "content_hash"


class UnlinkedReason(StrEnum):
    AMBIGUOUS_NAME = "ambiguous_name"
    AMBIGUOUS_HASH = "ambiguous_hash"
    NO_MATCH = "no_match"


@dataclass(frozen=True)
class Link:
    workflow_id: str
    canonical_id: str
    reason: LinkReason


@dataclass(frozen=True)
class AutoLinkPlan:
    links: tuple[Link, ...]
    unlinked: dict[str, UnlinkedReason]


def plan_auto_links(
    workflows: Sequence[Candidate], canonicals: Sequence[Candidate]
) -> AutoLinkPlan:
    """Decide which untracked workflows link to which canonical workflows, and why not."""
    by_name = _unique_pairs(workflows, canonicals, lambda c: c.name)
    links = [Link(w, c, LinkReason.NAME) for w, c in by_name.pairs]
    left_w = [w for w in workflows if w.id not in by_name.used_left]
    left_c = [c for c in canonicals if c.id not in by_name.used_right]
    by_hash = _unique_pairs(left_w, left_c, lambda c: c.content_hash)
    links += [Link(w, c, LinkReason.CONTENT_HASH) for w, c in by_hash.pairs]
    unlinked: dict[str, UnlinkedReason] = {}
    for workflow in left_w:
        if workflow.id in by_hash.used_left:
            continue
        if workflow.id in by_name.ambiguous:
            unlinked[workflow.id] = UnlinkedReason.AMBIGUOUS_NAME
        elif workflow.id in by_hash.ambiguous:
            unlinked[workflow.id] = UnlinkedReason.AMBIGUOUS_HASH
        else:
            unlinked[workflow.id] = UnlinkedReason.NO_MATCH
    return AutoLinkPlan(
        links=tuple(sorted(links, key=lambda link: link.workflow_id)), unlinked=unlinked
    )


@dataclass(frozen=True)
class _Pairing:
    pairs: list[tuple[str, str]]
    used_left: set[str]
    used_right: set[str]
    ambiguous: set[str]


def _unique_pairs(
    left: Iterable[Candidate], right: Iterable[Candidate], key: Callable[[Candidate], Key | None]
) -> _Pairing:
    left_groups, right_groups = _group(left, key), _group(right, key)
    pairs: list[tuple[str, str]] = []
    ambiguous: set[str] = set()
    for value, lefts in left_groups.items():
        rights = right_groups.get(value, [])
        if len(lefts) == 1 and len(rights) == 1:
            pairs.append((lefts[0], rights[0]))
        elif rights:
            ambiguous.update(lefts)
    return _Pairing(
        pairs=pairs,
        used_left={w for w, _ in pairs},
        used_right={c for _, c in pairs},
        ambiguous=ambiguous,
    )


def _group(
    items: Iterable[Candidate], key: Callable[[Candidate], Key | None]
) -> dict[Key, list[str]]:
    groups: dict[Key, list[str]] = defaultdict(list)
    for item in items:
        value = key(item)
        if value is not None and value != "":
            groups[value].append(item.id)
    return groups
