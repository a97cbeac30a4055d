"""Why an untracked workflow did not auto-link, and which canonical workflows it could link to.

The reason is auto-linking's own (`plan_auto_links` over the environment's untracked
workflows and the canonical workflows not yet linked there, as a sync or the inventory
plans it); the suggestions are those canonical workflows with the same name, the same
content, or the same body under another name (the renamed-copy pass's body hash, computed
only while the tenant has few enough canonical workflows to hash them all on a page view).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.orm import Session

from canonflow.core.autolink import Candidate, plan_auto_links
from canonflow.core.hashing import body_hash_documents
from canonflow.core.status import MappingStatus
from canonflow.db.models import CanonicalWorkflow, WorkflowEnvMap
from canonflow.linking.untracked import UntrackedRow
from canonflow.sync import mappings

#: Above this many canonical workflows in the tenant, no body hashes (each page view would
#: hash every one of them); names and content hashes still match.
BODY_MATCH_LIMIT = 300
#: Rounds of widening the set a page's plan depends on before planning the environment.
MAX_CLOSURE_ROUNDS = 6

#: The reasons, as auto-linking names them, plus two of the list's own.
REASONS = {
    "ambiguous_name": "its name is shared: more than one workflow or canonical workflow has it",
    "ambiguous_hash": "its content matches more than one canonical workflow",
    "no_match": "no unlinked canonical workflow has its name or its content",
    "ambiguous_body": "its body (the workflow without its name) matches more than one "
    "canonical workflow",
    "would_link": "exactly one canonical workflow matches: the next sync links it",
    "missing": "it was missing from n8n at the last sync",
}


@dataclass(frozen=True)
class Suggestion:
    canonical_id: uuid.UUID
    slug: str
    name: str
    why: str  # same_name | same_content | same_body


@dataclass
class Advice:
    reason: str  # a key of REASONS
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def reason_text(self) -> str:
        return REASONS.get(self.reason, self.reason.replace("_", " "))


def advise(
    session: Session, tenant_id: uuid.UUID, rows: Sequence[UntrackedRow]
) -> dict[uuid.UUID, Advice]:
    """The advice for each of `rows` (a page of the untracked list), by mapping id."""
    by_environment: dict[uuid.UUID, list[UntrackedRow]] = defaultdict(list)
    for row in rows:
        by_environment[row.environment_id].append(row)
    advice: dict[uuid.UUID, Advice] = {}
    for environment_id, group in by_environment.items():
        advice |= _advise_environment(session, tenant_id, environment_id, group)
    return advice


def _advise_environment(
    session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID, rows: list[UntrackedRow]
) -> dict[uuid.UUID, Advice]:
    untracked, canonicals = _component(session, tenant_id, environment_id, rows)
    plan = plan_auto_links(
        [Candidate(str(i), name, digest) for i, name, digest in untracked],
        [Candidate(str(i), name, digest) for i, name, digest in canonicals],
    )
    planned = {uuid.UUID(link.workflow_id) for link in plan.links}
    by_name: dict[str, list[uuid.UUID]] = defaultdict(list)
    by_hash: dict[str, list[uuid.UUID]] = defaultdict(list)
    for canonical_id, name, digest in canonicals:
        by_name[name].append(canonical_id)
        if digest:
            by_hash[digest].append(canonical_id)
    bodies = _body_matches(session, tenant_id, environment_id, rows)
    found: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for row in rows:
        matches: list[tuple[uuid.UUID, str]] = []
        for canonical_id in by_name.get(row.name or "", []):
            matches.append((canonical_id, "same_name"))
        for canonical_id in by_hash.get(row.env_content_hash or "", []):
            matches.append((canonical_id, "same_content"))
        for canonical_id in bodies.get(row.mapping_id, []):
            matches.append((canonical_id, "same_body"))
        unique: dict[uuid.UUID, str] = {}
        for canonical_id, why in matches:
            unique.setdefault(canonical_id, why)  # the first (strongest) reason
        found[row.mapping_id] = list(unique.items())
    wanted = {c for listed in found.values() for c, _why in listed}
    described = _describe(session, tenant_id, wanted)
    advice: dict[uuid.UUID, Advice] = {}
    for row in rows:
        if row.status is MappingStatus.MISSING:
            reason = "missing"
        elif row.mapping_id in planned:
            reason = "would_link"
        else:
            reason = str(plan.unlinked.get(str(row.mapping_id), "no_match"))
            if reason == "no_match" and len(bodies.get(row.mapping_id, [])) > 1:
                reason = "ambiguous_body"  # the renamed-copy pass found more than one
        advice[row.mapping_id] = Advice(
            reason,
            [
                Suggestion(canonical_id, *described[canonical_id], why)
                for canonical_id, why in found[row.mapping_id]
                if canonical_id in described
            ],
        )
    return advice


def _body_matches(
    session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID, rows: list[UntrackedRow]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Mapping id → canonical ids with the same body (the workflow without its name)."""
    c = CanonicalWorkflow
    live = session.scalar(
        select(func.count()).where(c.tenant_id == tenant_id, c.is_deleted.is_(False))
    )
    if not live or live > BODY_MATCH_LIMIT:
        return {}
    canonicals = mappings.unlinked_canonicals(session, tenant_id, environment_id)
    refs = mappings.reference_slugs(session, tenant_id, environment_id)
    workflows = _texts(
        session, WorkflowEnvMap.id, WorkflowEnvMap.workflow_data, [r.mapping_id for r in rows]
    )
    definitions = _texts(
        session,
        CanonicalWorkflow.id,
        CanonicalWorkflow.workflow_definition,
        [c[0] for c in canonicals],
    )
    workflow_bodies = body_hash_documents([raw for _i, raw in workflows], refs)
    canonical_bodies = body_hash_documents([raw for _i, raw in definitions])
    by_body: dict[str, list[uuid.UUID]] = defaultdict(list)
    for (canonical_id, _raw), digest in zip(definitions, canonical_bodies, strict=True):
        if digest:
            by_body[digest].append(canonical_id)
    return {
        mapping_id: by_body[digest]
        for (mapping_id, _raw), digest in zip(workflows, workflow_bodies, strict=True)
        if digest and digest in by_body
    }


Row = tuple[uuid.UUID, str | None, str | None]  # id, name, content hash


def _component(
    session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID, rows: list[UntrackedRow]
) -> tuple[list[Row], list[tuple[uuid.UUID, str, str | None]]]:
    """The untracked workflows and unlinked canonical workflows that auto-linking's plan
    for `rows` depends on: those linked to them by a shared name or content hash, and so on
    (a pairing by name takes candidates out of the pairing by hash). Planning these alone
    decides `rows` as planning the whole environment does, without reading all of it."""
    names = {r.name for r in rows if r.name}
    hashes = {r.env_content_hash for r in rows if r.env_content_hash}
    for _round in range(MAX_CLOSURE_ROUNDS):
        untracked = _untracked(session, environment_id, (names, hashes))
        canonicals = mappings.unlinked_canonicals(
            session, tenant_id, environment_id, matching=(names, hashes)
        )
        wider_names = names | {n for _i, n, _h in untracked + canonicals if n}
        wider_hashes = hashes | {h for _i, _n, h in untracked + canonicals if h}
        if (wider_names, wider_hashes) == (names, hashes):
            return untracked, canonicals
        names, hashes = wider_names, wider_hashes
    return _untracked(session, environment_id, None), mappings.unlinked_canonicals(
        session, tenant_id, environment_id
    )


def _untracked(
    session: Session,
    environment_id: uuid.UUID,
    matching: tuple[set[str], set[str]] | None,
) -> list[Row]:
    m = WorkflowEnvMap
    query = select(m.id, m.workflow_name, m.env_content_hash).where(
        m.environment_id == environment_id,
        m.status == MappingStatus.UNTRACKED,
        m.canonical_id.is_(None),
        m.is_deleted.is_(False),
    )
    if matching is not None:
        names, hashes = matching
        query = query.where(
            or_(m.workflow_name.in_(sorted(names)), m.env_content_hash.in_(sorted(hashes)))
        )
    return [(row[0], row[1], row[2]) for row in session.execute(query)]


def _texts(
    session: Session, key: Any, document: Any, ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, bytes]]:
    if not ids:
        return []
    rows = session.execute(select(key, cast(document, Text)).where(key.in_(list(ids))))
    return [(i, text.encode()) for i, text in rows if text]


def _describe(
    session: Session, tenant_id: uuid.UUID, ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    if not ids:
        return {}
    c = CanonicalWorkflow
    rows = session.execute(
        select(c.id, c.canonical_slug, c.name).where(
            c.tenant_id == tenant_id, c.id.in_(sorted(ids))
        )
    )
    return {row[0]: (row[1], row[2]) for row in rows}
