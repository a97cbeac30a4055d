"""The dry run of a promotion: per workflow (those asked for, and the sub-workflows they
call that differ between the two environments), the semantic diff target -> source, what
would be committed and deployed, and what blocks it. Read only: the database, never n8n
or Git (DESIGN section 6a); the job re-checks every side before it writes."""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from canonflow.core._workflow_refs import REFERENCE_PREFIX
from canonflow.core.definitions import canonical_definition, referenced_ids
from canonflow.core.diff import diff_workflows
from canonflow.core.diff_render import render_diff
from canonflow.core.git_layout import workflow_file_path
from canonflow.core.publication import running_form
from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import SyncState, derive_sync_state
from canonflow.db.models import Environment, WorkflowEnvMap
from canonflow.errors import Conflict
from canonflow.promotion.schemas import (
    PromotionBlocker,
    PromotionPlanItem,
    PromotionPlanRead,
    PromotionRequest,
)
from canonflow.promotion.selection import Canonical, Estate, live, load_estate, selected
from canonflow.reconcile.planning import TargetFacts, deploy_blockers, target_facts
from canonflow.repo import service as repositories
from canonflow.sync.mappings import reference_slugs

ALREADY_IN_GIT = "already in Git"


@dataclass
class _Context:
    estate: Estate
    workflows_dir: str
    source_refs: dict[str, str]
    target_refs: dict[str, str]
    documents: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)


def plan_promotion(
    session: Session, tenant_id: uuid.UUID, request: PromotionRequest
) -> PromotionPlanRead:
    estate = load_estate(session, tenant_id, request)
    wanted = selected(estate, request)
    repository = repositories.get(session, tenant_id)
    if repository is None:
        raise Conflict("no Git repository is configured: a promotion commits to it")
    context = _Context(
        estate,
        repository.workflows_dir,
        reference_slugs(session, tenant_id, estate.source.id),
        reference_slugs(session, tenant_id, estate.target.id),
    )
    reasons = _closure(context, wanted)
    facts = target_facts(session, tenant_id, estate.target.id)
    for canonical_id in reasons:  # promoted with it: a reference to it resolves once deployed
        slug = estate.canonicals[canonical_id].slug
        facts.workflow_ids.setdefault(slug, f"(promoted) {slug}")
    items = [_item(context, facts, cid, because, reasons) for cid, because in reasons.items()]
    return PromotionPlanRead(
        from_environment_id=estate.source.id,
        to_environment_id=estate.target.id,
        from_environment=estate.source.name,
        to_environment=estate.target.name,
        commit_mode=repository.commit_mode.value,
        items=items,
        blocked=any(i.blockers for i in items),
    )


def _closure(context: _Context, wanted: list[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """canonical id -> why it is promoted (None: asked for; "called by <slug>": a
    sub-workflow that differs), callers first, transitively."""
    estate = context.estate
    reasons: dict[uuid.UUID, str | None] = dict.fromkeys(wanted)
    queue = deque(wanted)
    while queue:
        caller = queue.popleft()
        for callee in _calls(context, caller):
            if callee in reasons or not _differs(estate, callee):
                continue
            reasons[callee] = f"called by {estate.canonicals[caller].slug}"
            queue.append(callee)
    return reasons


def _calls(context: _Context, canonical_id: uuid.UUID) -> list[uuid.UUID]:
    """The canonical workflows the source's version calls (Execute Workflow, errorWorkflow)."""
    document = _document(context, canonical_id)
    if document is None:
        return []
    slugs = sorted(r.removeprefix(REFERENCE_PREFIX) for r in referenced_ids(document))
    by_slug = context.estate.by_slug
    return [by_slug[s] for s in slugs if s in by_slug and by_slug[s] != canonical_id]


def _differs(estate: Estate, canonical_id: uuid.UUID) -> bool:
    source = live(estate.in_source.get(canonical_id))
    if source is None:
        return False  # nothing to promote from the source: a blocker of its caller's
    target = live(estate.in_target.get(canonical_id))
    return target is None or target.env_content_hash != source.env_content_hash


def _document(context: _Context, canonical_id: uuid.UUID) -> dict[str, Any] | None:
    """The source's version as Git would hold it (references as slugs)."""
    if canonical_id not in context.documents:
        mapping = live(context.estate.in_source.get(canonical_id))
        if mapping is None or mapping.workflow_data is None:
            return None
        definition = canonical_definition(mapping.workflow_data, context.source_refs)
        context.documents[canonical_id] = definition.document
    return context.documents[canonical_id]


def _item(
    context: _Context,
    facts: TargetFacts,
    canonical_id: uuid.UUID,
    because: str | None,
    promoted: dict[uuid.UUID, str | None],
) -> PromotionPlanItem:
    estate = context.estate
    canonical = estate.canonicals[canonical_id]
    source = live(estate.in_source.get(canonical_id))
    found = estate.in_target.get(canonical_id)
    target = live(found)
    blockers = _side_blockers(estate, canonical, source, found)
    document = _document(context, canonical_id)
    if document is not None:
        blockers += [
            PromotionBlocker(kind=b.kind, detail=f"{estate.target.name}: {b.detail}")
            for b in deploy_blockers(document, facts)
        ]
    source_hash = source.env_content_hash if source is not None else None
    target_hash = target.env_content_hash if target is not None else None
    if source is not None and target is not None and target_hash != source_hash:
        blockers += _target_blockers(estate.target, canonical, target)
    lines = _diff(context, source, target)
    path = canonical.git_file_path or workflow_file_path(context.workflows_dir, canonical.slug)
    calls = [estate.canonicals[c].slug for c in _calls(context, canonical_id) if c in promoted]
    return PromotionPlanItem(
        canonical_id=canonical_id,
        slug=canonical.slug,
        name=canonical.name,
        included_because=because,
        source_mapping_id=source.id if source is not None else None,
        target_mapping_id=target.id if target is not None else (found.id if found else None),
        source_hash=source_hash,
        git_hash=canonical.content_hash,
        target_hash=target_hash,
        commit=ALREADY_IN_GIT if source_hash == canonical.content_hash else path,
        deploy="create" if target is None else "none" if target_hash == source_hash else "update",
        calls=calls,
        diff_summary=_summary(lines, target is None),
        diff=lines,
        blockers=blockers,
    )


def _side_blockers(
    estate: Estate,
    canonical: Canonical,
    source: WorkflowEnvMap | None,
    found: WorkflowEnvMap | None,
) -> list[PromotionBlocker]:
    """The source must hold the workflow, and hold all Git has (it is what Git becomes)."""
    blockers = []
    name = estate.source.name
    if canonical.is_deleted:
        blockers.append(
            PromotionBlocker(kind="deleted_in_git", detail=f"{canonical.slug} is deleted in Git")
        )
    if source is None:
        blockers.append(
            PromotionBlocker(
                kind="not_in_source", detail=f"{canonical.slug} has no linked workflow in {name}"
            )
        )
    else:
        state = derive_sync_state(
            source.env_content_hash, source.git_content_hash, source.base_content_hash
        )
        if state in (SyncState.OUT_OF_DATE, SyncState.CONFLICT, SyncState.UNKNOWN):
            blockers.append(
                PromotionBlocker(
                    kind="source_behind_git",
                    detail=f"{canonical.slug} in {name} is {state.value} with Git: Git has "
                    f"changes {name} lacks (reconcile {name} first)",
                )
            )
    if found is not None and found.status is MappingStatus.IGNORED:
        blockers.append(
            PromotionBlocker(
                kind="target_ignored",
                detail=f"{canonical.slug} is ignored in {estate.target.name}",
            )
        )
    return blockers


def _target_blockers(
    target_env: Environment, canonical: Canonical, target: WorkflowEnvMap
) -> list[PromotionBlocker]:
    """A target edited since it last agreed with Git would lose that edit."""
    if target.base_content_hash is not None and target.env_content_hash == target.base_content_hash:
        return []
    state = derive_sync_state(
        target.env_content_hash, target.git_content_hash, target.base_content_hash
    )
    return [
        PromotionBlocker(
            kind="target_drift",
            detail=f"{canonical.slug} in {target_env.name} was edited there since it last "
            f"agreed with Git ({state.value}): promoting would lose that edit (reconcile "
            f"{target_env.name} first)",
        )
    ]


def _diff(
    context: _Context, source: WorkflowEnvMap | None, target: WorkflowEnvMap | None
) -> list[dict[str, str]]:
    if source is None or source.workflow_data is None:
        return []
    new = running_form(source.workflow_data)
    old: Any = {"name": new.get("name"), "nodes": [], "connections": {}}
    if target is not None and target.workflow_data is not None:
        old = running_form(target.workflow_data)
    diff = diff_workflows(old, new, old_refs=context.target_refs, new_refs=context.source_refs)
    return [{"kind": line.kind.value, "text": line.text} for line in render_diff(diff)]


def _summary(lines: list[dict[str, str]], absent: bool) -> str:
    if absent:
        return f"new in the target ({len(lines)} lines)"
    if not lines:
        return "identical"
    return f"{len(lines)} change{'s' if len(lines) != 1 else ''}"
