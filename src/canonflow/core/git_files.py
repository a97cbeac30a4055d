"""Decide what a set of workflow files in Git means for the canonical workflows (pure).

Given the files of a commit (or the changed ones), the canonical workflows already known,
and each file's parsed content, it says which canonical to create, update, rename, revive
or mark deleted, and which files to skip with a reason (bad JSON, not a workflow, too big,
a slug another file holds). No I/O here: the sync service reads and writes around it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from canonflow.core.git_layout import slug_of_path
from canonflow.core.normalize import HASH_VERSION
from canonflow.core.slugs import slugify


@dataclass(frozen=True)
class KnownCanonical:
    id: uuid.UUID
    slug: str
    path: str | None
    blob_id: str | None
    is_deleted: bool
    name: str | None = None
    content_hash: str | None = None
    hash_version: int = HASH_VERSION

    @property
    def hashed_by_older_rules(self) -> bool:
        return self.hash_version != HASH_VERSION


def is_same_workflow(
    old: KnownCanonical, *, blob_id: str, name: object, content_hash: str | None
) -> bool:
    """Whether a file Git reports as renamed (same or similar content) still holds the same
    workflow: the same blob, the same content, or the same workflow name. Git's similarity
    alone is not enough: two small workflows of one template look alike to it."""
    return (
        old.blob_id == blob_id
        or (content_hash is not None and old.content_hash == content_hash)
        or (isinstance(name, str) and bool(name) and old.name == name)
    )


@dataclass(frozen=True)
class CandidateFile:
    path: str
    blob_id: str
    size: int


@dataclass
class FilePlan:
    """Files to read and apply, each with the canonical it belongs to (None: a new one)."""

    apply: list[tuple[CandidateFile, str, uuid.UUID | None]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


def slug_for_path(path: str) -> str:
    """The canonical slug of a file: its stem, made a safe slug if it is not one."""
    return slugify(slug_of_path(path))


def plan_files(
    candidates: Iterable[CandidateFile],
    known: Iterable[KnownCanonical],
    *,
    max_bytes: int,
    gone_paths: Iterable[str] = (),
) -> FilePlan:
    """Match candidate files to canonical workflows by path, then by slug.

    A file whose blob did not change is unchanged (unless its canonical was hashed by older
    rules: it is read and hashed again). A slug that a live canonical of another
    path holds (that path still present) is a collision: the file is skipped. Among new
    files that share a slug, the one whose stem already is the slug wins, then path order.
    """
    by_path = {k.path: k for k in known if k.path}
    by_slug = {k.slug: k for k in known}
    gone = set(gone_paths)
    plan = FilePlan()
    claimed: dict[str, str] = {}
    ordered = sorted(
        candidates, key=lambda c: (slug_for_path(c.path) != slug_of_path(c.path), c.path)
    )
    for candidate in ordered:
        if candidate.size > max_bytes:
            plan.skipped.append(
                _skip(candidate, f"over the size limit ({candidate.size} > {max_bytes} bytes)")
            )
            continue
        owner = by_path.get(candidate.path)
        if (
            owner is not None
            and owner.blob_id == candidate.blob_id
            and not owner.is_deleted
            and not owner.hashed_by_older_rules
        ):
            plan.unchanged.append(candidate.path)
            claimed[owner.slug] = candidate.path
            continue
        slug = slug_for_path(candidate.path)
        if slug in claimed:
            plan.skipped.append(_skip(candidate, f"its slug {slug!r} is taken by {claimed[slug]}"))
            continue
        holder = by_slug.get(slug)
        if holder is not None and (owner is None or holder.id != owner.id):
            holder_live = not holder.is_deleted and holder.path not in gone
            # a canonical never written to Git yet (onboarding) is claimed by its slug's file
            in_git = holder.path is not None and holder.blob_id is not None
            if holder_live and in_git and holder.path != candidate.path:
                plan.skipped.append(
                    _skip(candidate, f"its slug {slug!r} is taken by {holder.path}")
                )
                continue
            if owner is None:
                owner = holder  # a deleted canonical of that slug comes back
        claimed[slug] = candidate.path
        plan.apply.append((candidate, slug, owner.id if owner else None))
    return plan


def deleted_canonicals(
    known: Iterable[KnownCanonical], present_paths: Mapping[str, object] | set[str]
) -> list[uuid.UUID]:
    """Live canonical workflows whose file is not among `present_paths` (a full scan).

    A canonical never seen in Git (no blob id: onboarding made it, its pull request is not
    merged yet) is not deleted by its absence."""
    return [
        k.id
        for k in known
        if not k.is_deleted
        and k.path is not None
        and k.blob_id is not None
        and k.path not in present_paths
    ]


def git_backed(known: Iterable[KnownCanonical]) -> list[KnownCanonical]:
    """The live canonical workflows Git holds a file of: those a repo sync can delete."""
    return [k for k in known if not k.is_deleted and k.path is not None and k.blob_id is not None]


def prune_refusal(deleting: int, live: int, *, guard_percent: float) -> str | None:
    """Why a sync that would mark `deleting` of `live` Git-backed canonical workflows
    deleted needs a confirmation (None: it does not): more than `guard_percent` of them,
    or all of them (an empty or wrong directory)."""
    if deleting == 0:
        return None
    if deleting >= live:
        return f"it would mark all {live} canonical workflows deleted"
    share = 100 * deleting / live
    if share <= guard_percent:
        return None
    return (
        f"it would mark {deleting} of {live} canonical workflows deleted ({share:.0f}%, "
        f"more than the prune guard's {guard_percent:g}%)"
    )


def _skip(candidate: CandidateFile, reason: str) -> dict[str, str]:
    return {"path": candidate.path, "reason": reason}
