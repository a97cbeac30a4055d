"""Onboarding's pure decisions: which anchor workflow gets which slug, and what collided.

Slugs are assigned in a fixed order (name, then n8n id) so that two inventories of the
same estate give the same slugs; a workflow whose plain slug is taken (by an existing
canonical or an earlier workflow of the order) gets `-2`, `-3`, ... and is reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from canonflow.core.slugs import assign_slug, slugify


@dataclass(frozen=True)
class AnchorWorkflow:
    key: str  # the mapping's id
    n8n_id: str
    name: str


@dataclass(frozen=True)
class SlugAssignment:
    key: str
    slug: str


@dataclass(frozen=True)
class SlugCollision:
    """Workflows whose names give one plain slug; each got a distinct slug."""

    plain_slug: str
    workflows: tuple[tuple[str, str, str], ...]  # (n8n id, name, assigned slug)


def plan_slugs(
    workflows: Sequence[AnchorWorkflow], taken: Collection[str]
) -> tuple[list[SlugAssignment], list[SlugCollision]]:
    """A distinct slug for every workflow, none in `taken`; the collisions, reported."""
    ordered = sorted(workflows, key=lambda w: (w.name, w.n8n_id))
    used = set(taken)
    assignments: list[SlugAssignment] = []
    groups: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for workflow in ordered:
        slug = assign_slug(workflow.name, used)
        used.add(slug)
        assignments.append(SlugAssignment(workflow.key, slug))
        groups[slugify(workflow.name)].append((workflow.n8n_id, workflow.name, slug))
    collisions = [
        SlugCollision(plain, tuple(members))
        for plain, members in sorted(groups.items())
        if len(members) > 1 or plain in taken
    ]
    return assignments, collisions
