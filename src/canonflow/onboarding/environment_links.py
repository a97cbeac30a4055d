"""Linking one environment's untracked workflows during onboarding, with the reasons.

Auto-link (by exact name, then by equal content hash, only when unambiguous) runs until it
finds nothing new: each round's links can resolve workflow references (Execute Workflow,
`errorWorkflow`) that the next round's hashes need. Every linked mapping without a base
gets the Git side as its base: from here on, who changes what shows (DESIGN §3).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from canonflow.core.autolink import Candidate, plan_auto_links
from canonflow.core.definitions import mentions_workflows
from canonflow.core.hashing import hash_workflows
from canonflow.core.status import MappingStatus
from canonflow.db.models import WorkflowEnvMap
from canonflow.linking.writes import MappingRow, NewLink, apply_links, mapping_rows
from canonflow.sync import mappings

MAX_ROUNDS = 4
UNLINKED_LISTED = 200  # per environment, in the job result; the count is always complete


@dataclass
class EnvironmentLinks:
    environment: str
    linked: Counter[str] = field(default_factory=Counter)  # reason → count
    unlinked: list[dict[str, Any]] = field(default_factory=list)
    unlinked_total: int = 0
    rehashed: int = 0


def link_environment(
    session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID, name: str
) -> EnvironmentLinks:
    outcome = EnvironmentLinks(environment=name)
    for _round in range(MAX_ROUNDS):
        outcome.rehashed += rehash_references(session, environment_id)
        untracked = mappings.untracked_in(session, environment_id)
        canonicals = mappings.unlinked_canonicals(session, tenant_id, environment_id)
        plan = plan_auto_links(
            [Candidate(str(i), workflow_name, digest) for i, workflow_name, digest in untracked],
            [Candidate(str(i), canonical_name, digest) for i, canonical_name, digest in canonicals],
        )
        if not plan.links:
            _report_unlinked(session, outcome, environment_id, plan.unlinked)
            break
        git_hashes = {str(i): digest for i, _name, digest in canonicals}
        rows = {
            str(row.id): row
            for row in mapping_rows(
                session,
                WorkflowEnvMap.id.in_([uuid.UUID(link.workflow_id) for link in plan.links]),
            )
        }
        links = [
            NewLink(
                rows[link.workflow_id],
                uuid.UUID(link.canonical_id),
                git_hashes[link.canonical_id],
                None,
            )
            for link in plan.links
            if rows[link.workflow_id].status is MappingStatus.UNTRACKED
        ]
        done = apply_links(session, tenant_id, links)
        outcome.linked.update(
            link.reason.value for link in plan.links if uuid.UUID(link.workflow_id) in done
        )
    set_missing_base(session, environment_id)
    return outcome


def rehash_references(session: Session, environment_id: uuid.UUID) -> int:
    """Recompute the environment hash of workflows that reference others, with the
    references this environment's links now resolve. Returns how many changed."""
    refs = mappings.reference_slugs(session, environment_id)
    rows = [
        row
        for row in mapping_rows(
            session,
            WorkflowEnvMap.environment_id == environment_id,
            WorkflowEnvMap.is_deleted.is_(False),
        )
        if row.workflow_data is not None and mentions_workflows(row.workflow_data)
    ]
    hashes = hash_workflows([row.workflow_data or {} for row in rows], refs)
    changed = [
        {"key": row.id, "hash": digest}
        for row, (digest, _problem) in zip(rows, hashes, strict=True)
        if digest is not None and digest != row.env_content_hash
    ]
    if changed:
        table = mappings.MAPPINGS
        session.execute(
            update(table)
            .where(table.c.id == bindparam("key"))
            .values(env_content_hash=bindparam("hash")),
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


def _report_unlinked(
    session: Session,
    outcome: EnvironmentLinks,
    environment_id: uuid.UUID,
    reasons: dict[str, Any],
) -> None:
    outcome.unlinked_total = len(reasons)
    if not reasons:
        return
    listed = sorted(reasons)[: UNLINKED_LISTED * 4]
    rows: dict[str, MappingRow] = {
        str(row.id): row
        for row in mapping_rows(
            session,
            WorkflowEnvMap.environment_id == environment_id,
            WorkflowEnvMap.id.in_([uuid.UUID(key) for key in listed]),
        )
    }
    entries = [
        {
            "mapping_id": key,
            "n8n_workflow_id": rows[key].n8n_workflow_id,
            "name": rows[key].workflow_name,
            "reason": str(reasons[key]),
        }
        for key in listed
        if key in rows
    ]
    outcome.unlinked = sorted(entries, key=lambda e: (e["name"] or "", e["n8n_workflow_id"]))[
        :UNLINKED_LISTED
    ]
