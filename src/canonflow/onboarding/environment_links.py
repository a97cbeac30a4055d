"""Linking one environment's untracked workflows during onboarding, with the reasons.

Auto-link (by exact name, then by equal content hash, only when unambiguous) runs until it
finds nothing new: each round's links can resolve workflow references (Execute Workflow,
`errorWorkflow`) that the next round's hashes need. Every linked mapping without a base
gets the Git side as its base: from here on, who changes what shows (DESIGN §3).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, Text, bindparam, cast, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.autolink import Candidate, Link, UnlinkedReason, plan_auto_links
from canonflow.core.definitions import hash_listed_workflows, mentions_workflows
from canonflow.core.hashing import HASH_VERSION, body_hash_documents
from canonflow.core.status import MappingStatus
from canonflow.db.models import CanonicalWorkflow, WorkflowEnvMap
from canonflow.linking.writes import MappingRow, NewLink, apply_links, mapping_rows
from canonflow.parallel import InlineExecutor, LazyProcessPool
from canonflow.sync import mappings
from canonflow.sync.environment import refs_fingerprint

MAX_ROUNDS = 4
SPLIT_AT = 200  # body hashes from which they are split in two (for two workers)
#: Text that any workflow referencing another contains (see `mentions_workflows`).
REFERENCE_MARKERS = ("executeWorkflow", "toolWorkflow", "errorWorkflow", "callerIds")
UNLINKED_LISTED = 200  # per environment, in the job result; the count is always complete


@dataclass
class EnvironmentLinks:
    environment: str
    linked: Counter[str] = field(default_factory=Counter)  # reason → count
    unlinked: list[dict[str, Any]] = field(default_factory=list)
    unlinked_total: int = 0
    rehashed: int = 0


def link_environment(
    session: Session,
    tenant_id: uuid.UUID,
    environment_id: uuid.UUID,
    name: str,
    *,
    hashed_with: str | None,
    referencing: set[str] | None = None,
    pool: LazyProcessPool | None = None,
) -> EnvironmentLinks:
    """`hashed_with`: the fingerprint of the reference map the environment's hashes were
    computed with (the sync's); they are recomputed only when the map changed since, and
    only for `referencing` (n8n ids of the workflows that reference others; None: find
    them in the database)."""
    outcome = EnvironmentLinks(environment=name)
    reasons: dict[str, UnlinkedReason] = {}
    ahead: BodyHashes | None = None
    for _round in range(MAX_ROUNDS):
        refs = mappings.reference_slugs(session, tenant_id, environment_id)
        if refs_fingerprint(refs) != hashed_with:
            outcome.rehashed += rehash_references(
                session, tenant_id, environment_id, refs, referencing
            )
            hashed_with = refs_fingerprint(refs)
        untracked = _untracked(session, environment_id)  # light: no workflow JSON
        canonicals = mappings.unlinked_canonicals(session, tenant_id, environment_id)
        plan = plan_auto_links(
            [
                Candidate(key, row.workflow_name, row.env_content_hash)
                for key, row in untracked.items()
            ],
            [Candidate(str(i), canonical_name, digest) for i, canonical_name, digest in canonicals],
        )
        reasons = dict(plan.unlinked)
        if not plan.links:
            break
        git_hashes = {str(i): digest for i, _name, digest in canonicals}
        last_round = referencing is not None and not referencing
        if last_round:  # the renamed-copy pass's hashing runs in the pool during the writes
            linked = {link.canonical_id for link in plan.links}
            ahead = BodyHashes.start(
                session,
                [uuid.UUID(key) for key in reasons],
                [i for i, _name, _digest in canonicals if str(i) not in linked],
                refs,
                pool,
            )
        _apply(session, tenant_id, plan.links, untracked, git_hashes, outcome, label=None)
        if last_round:
            break  # nothing references a workflow: new links change no hash, no new match
    _link_renamed_copies(
        session, tenant_id, environment_id, (reasons, untracked), outcome, pool, ahead
    )
    _report_unlinked(outcome, reasons, untracked)
    set_missing_base(session, environment_id)
    # recorded once the links, rehashed references and bases are all in: no passing drift
    # of a workflow whose references resolve only once its callee is linked
    record_state_changes(session, tenant_id, StateCause.ONBOARDING, environment_id=environment_id)
    return outcome


def _link_renamed_copies(
    session: Session,
    tenant_id: uuid.UUID,
    environment_id: uuid.UUID,
    unlinked: tuple[dict[str, UnlinkedReason], dict[str, MappingRow]],
    outcome: EnvironmentLinks,
    pool: LazyProcessPool | None,
    ahead: BodyHashes | None,
) -> None:
    """The last pass: equal content under another name (the name is part of the content
    hash, so a copy renamed in one environment matches only here). `unlinked`: the
    reasons (updated here) and the untracked mappings they are about.

    Body hashes come from `ahead` (started before the previous writes) where it has them,
    else they are computed now."""
    reasons, untracked = unlinked
    if not reasons:
        return
    workflow_ids = [uuid.UUID(key) for key in reasons]
    canonicals = mappings.unlinked_canonicals(session, tenant_id, environment_id)
    bodies = ahead.result() if ahead is not None else {}
    missing_workflows = [i for i in workflow_ids if i not in bodies]
    missing_canonicals = [i for i, _n, _h in canonicals if i not in bodies]
    if missing_workflows or missing_canonicals:
        refs = mappings.reference_slugs(session, tenant_id, environment_id)
        later = BodyHashes.start(session, missing_workflows, missing_canonicals, refs, pool)
        bodies |= later.result()
    plan = plan_auto_links(
        [Candidate(str(i), None, bodies[i]) for i in workflow_ids],
        [Candidate(str(i), None, bodies[i]) for i, _n, _h in canonicals],
    )
    git_hashes = {str(i): digest for i, _name, digest in canonicals}
    done = _apply(
        session, tenant_id, plan.links, untracked, git_hashes, outcome, label="renamed_copy"
    )
    for linked_id in done:
        reasons.pop(str(linked_id), None)
    for key, reason in plan.unlinked.items():
        if reasons.get(key) is not UnlinkedReason.AMBIGUOUS_NAME:
            reasons[key] = reason


_Part = tuple[list[uuid.UUID], list[bytes], "Future[list[str | None]]", dict[str, str] | None]


class BodyHashes:
    """Body hashes (the content hash without the name) of some mappings' workflows and
    some canonical workflows, by id. The JSON is read as text here and hashed in `pool`'s
    workers when it runs (large sets in halves, for two workers where there are), else
    here at once."""

    def __init__(self, parts: list[_Part]) -> None:
        self._parts = parts

    @classmethod
    def start(
        cls,
        session: Session,
        workflow_ids: Sequence[uuid.UUID],
        canonical_ids: Sequence[uuid.UUID],
        refs: dict[str, str],
        pool: LazyProcessPool | None,
    ) -> BodyHashes:
        m, c = WorkflowEnvMap, CanonicalWorkflow
        workflows = _texts(session, m.id, m.workflow_data, workflow_ids)
        definitions = _texts(session, c.id, c.workflow_definition, canonical_ids)
        parts: list[_Part] = []
        for rows, references in ((workflows, refs), (definitions, None)):
            half = (len(rows) + 1) // 2 if len(rows) >= SPLIT_AT else len(rows)
            for chunk in (rows[:half], rows[half:]):
                if chunk:
                    ids, raws = [i for i, _t in chunk], [t for _i, t in chunk]
                    parts.append((ids, raws, _submit(pool, raws, references), references))
        return cls(parts)

    def result(self) -> dict[uuid.UUID, str | None]:
        hashes: dict[uuid.UUID, str | None] = {}
        for ids, raws, future, references in self._parts:
            try:
                digests = future.result()
            except BrokenProcessPool:  # the worker died: hash its part here
                digests = body_hash_documents(raws, references)
            hashes.update(zip(ids, digests, strict=True))
        return hashes


def _texts(
    session: Session, key: Any, document: Any, ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, bytes]]:
    if not ids:
        return []
    rows = session.execute(select(key, cast(document, Text)).where(key.in_(list(ids))))
    return [(i, text.encode() if text else b"") for i, text in rows]


def _submit(
    pool: LazyProcessPool | None, raws: list[bytes], refs: dict[str, str] | None
) -> Future[list[str | None]]:
    if pool is None:
        return InlineExecutor().submit(body_hash_documents, raws, refs)
    return pool.submit(body_hash_documents, raws, refs)


def _apply(
    session: Session,
    tenant_id: uuid.UUID,
    planned: Sequence[Link],
    rows: dict[str, MappingRow],
    git_hashes: dict[str, str | None],
    outcome: EnvironmentLinks,
    *,
    label: str | None,
) -> set[uuid.UUID]:
    """Write the planned links of untracked mappings (`rows`, by id, as read: the write
    is guarded by their status)."""
    if not planned:
        return set()
    links = [
        NewLink(
            rows[link.workflow_id],
            uuid.UUID(link.canonical_id),
            git_hashes[link.canonical_id],
            None,
        )
        for link in planned
        if rows[link.workflow_id].status is MappingStatus.UNTRACKED
    ]
    done = apply_links(session, tenant_id, links, cause=None)  # recorded once, at the end
    outcome.linked.update(
        label or link.reason.value for link in planned if uuid.UUID(link.workflow_id) in done
    )
    return done


def rehash_references(
    session: Session,
    tenant_id: uuid.UUID,
    environment_id: uuid.UUID,
    refs: dict[str, str] | None = None,
    referencing: set[str] | None = None,
) -> int:
    """Recompute the environment hash of workflows that reference others, with the
    references this environment's links now resolve. Returns how many changed."""
    refs = mappings.reference_slugs(session, tenant_id, environment_id) if refs is None else refs
    if referencing is not None and not referencing:
        return 0
    may_reference: ColumnElement[bool]
    if referencing is not None:
        may_reference = WorkflowEnvMap.n8n_workflow_id.in_(sorted(referencing))
    else:
        as_text = cast(WorkflowEnvMap.workflow_data, String)
        may_reference = or_(*(as_text.contains(marker) for marker in REFERENCE_MARKERS))
    rows = [
        row
        for row in mapping_rows(
            session,
            WorkflowEnvMap.environment_id == environment_id,
            WorkflowEnvMap.is_deleted.is_(False),
            may_reference,  # the database skips the JSON that cannot reference a workflow
        )
        if row.workflow_data is not None and mentions_workflows(row.workflow_data)
    ]
    # what each runs, and its pending draft's (n8n 2.x) beside it, both with the new map
    hashes = hash_listed_workflows([row.workflow_data or {} for row in rows], refs, define=False)
    changed = [
        {"key": row.id, "hash": digest, "draft": draft}
        for row, (digest, _problem, _document, draft) in zip(rows, hashes, strict=True)
        if digest is not None and (digest != row.env_content_hash or draft != row.n8n_draft_hash)
    ]
    if changed:
        table = mappings.MAPPINGS
        session.execute(
            update(table)
            .where(table.c.id == bindparam("key"))
            .values(
                env_content_hash=bindparam("hash"),
                env_hash_version=HASH_VERSION,
                n8n_draft_hash=bindparam("draft"),
            ),
            changed,
        )
    return len(changed)


def set_missing_base(session: Session, environment_id: uuid.UUID) -> None:
    """Linked mappings with no base yet take the Git side as their base."""
    session.execute(
        update(WorkflowEnvMap)
        .where(
            WorkflowEnvMap.environment_id == environment_id,
            WorkflowEnvMap.canonical_id.is_not(None),
            WorkflowEnvMap.base_content_hash.is_(None),
        )
        .values(base_content_hash=WorkflowEnvMap.git_content_hash)
        .execution_options(synchronize_session=False)
    )


def _untracked(session: Session, environment_id: uuid.UUID) -> dict[str, MappingRow]:
    rows = mapping_rows(
        session,
        WorkflowEnvMap.environment_id == environment_id,
        WorkflowEnvMap.status == MappingStatus.UNTRACKED,
        WorkflowEnvMap.canonical_id.is_(None),
        with_data=False,
    )
    return {str(row.id): row for row in rows}


def _report_unlinked(
    outcome: EnvironmentLinks,
    reasons: dict[str, UnlinkedReason],
    untracked: dict[str, MappingRow],
) -> None:
    outcome.unlinked_total = len(reasons)
    rows = sorted(
        (untracked[key] for key in reasons),
        key=lambda row: (row.workflow_name or "", row.n8n_workflow_id),
    )
    outcome.unlinked = [
        {
            "mapping_id": str(row.id),
            "n8n_workflow_id": row.n8n_workflow_id,
            "name": row.workflow_name,
            "reason": str(reasons[str(row.id)]),
        }
        for row in rows[:UNLINKED_LISTED]
    ]
