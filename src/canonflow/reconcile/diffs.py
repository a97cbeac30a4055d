"""The semantic diff of one canonical workflow in one environment against Git's version or
the base (the version both sides last agreed on), from the database and the local copy."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow.catalogue.effective import tenant_rules
from canonflow.core.definitions import referenced_ids
from canonflow.core.diff import diff_workflows
from canonflow.core.diff_ignores import annotate, node_types
from canonflow.core.diff_render import render_diff
from canonflow.core.ignore_rules import applicable
from canonflow.core.publication import DRAFT_NOTE, draft_form, running_form
from canonflow.core.sync_state import has_pending_draft
from canonflow.crypto import SecretBox
from canonflow.db.models import WorkflowEnvMap
from canonflow.errors import NotFound
from canonflow.reconcile import history
from canonflow.sync.mappings import reference_slugs

Against = Literal["git", "base"]


def workflow_diff(
    session: Session,
    secrets: SecretBox,
    *,
    tenant_id: uuid.UUID,
    canonical_id: uuid.UUID,
    environment_id: uuid.UUID,
    against: Against,
    cache_root: Path,
) -> dict[str, Any]:
    """From the `against` side to the environment's version (what it runs: on n8n 2.x, its
    published version): what n8n holds that the other side does not. Reference ids are
    compared as canonical slugs. `draft`: while n8n holds a draft it does not run, the note
    and the diff from the published version to the draft (else None). Changes the tenant's
    applicable ignore rules leave out carry `ignored_by` (the rule's path); `verdict` is
    identical, only_ignored_differences or differs."""
    sides = diff_sides(
        session, secrets, tenant_id=tenant_id, canonical_id=canonical_id,
        environment_id=environment_id, against=against, cache_root=cache_root,
    )  # fmt: skip
    named = referenced_ids(sides.old) | referenced_ids(sides.new)
    refs = reference_slugs(session, tenant_id, environment_id, only=named)
    diff = diff_workflows(sides.old, sides.new, old_refs=refs, new_refs=refs)
    slug = history.canonical_or_404(session, tenant_id, canonical_id).canonical_slug
    rules = applicable(tenant_rules(session, tenant_id), slug, environment_id)
    data = diff.to_dict()
    verdict = annotate(diff, data, rules, node_types(sides.old, sides.new))
    draft = None
    if sides.draft is not None:
        to_draft = diff_workflows(sides.new, sides.draft, old_refs=refs, new_refs=refs)
        draft = {
            "note": DRAFT_NOTE,
            "from_hash": sides.new_hash,
            "to_hash": sides.draft_hash,
            "identical": to_draft.is_empty,
            "diff": to_draft.to_dict(),
            "lines": [{"kind": x.kind.value, "text": x.text} for x in render_diff(to_draft)],
        }
    return {
        "canonical_id": canonical_id,
        "environment_id": environment_id,
        "against": against,
        "from_hash": sides.old_hash,
        "to_hash": sides.new_hash,
        "identical": diff.is_empty,
        "verdict": verdict,
        "ignore_rules": [rule.path for rule in rules],
        "diff": data,
        "lines": [{"kind": line.kind.value, "text": line.text} for line in render_diff(diff)],
        "draft": draft,
    }


@dataclass(frozen=True)
class DiffSides:
    """The two documents a diff compares, as stored: `old` is Git's or the base version,
    `new` what the environment runs; `draft`: n8n 2.x's pending draft, when it differs."""

    old: dict[str, Any]
    new: dict[str, Any]
    old_hash: str | None
    new_hash: str | None
    draft: dict[str, Any] | None = None
    draft_hash: str | None = None


def diff_sides(
    session: Session,
    secrets: SecretBox,
    *,
    tenant_id: uuid.UUID,
    canonical_id: uuid.UUID,
    environment_id: uuid.UUID,
    against: Against,
    cache_root: Path,
) -> DiffSides:
    """The documents `workflow_diff` compares (the UI's raw JSON diff shows them line by
    line); NotFound as for the diff."""
    canonical = history.canonical_or_404(session, tenant_id, canonical_id)
    mapping = session.scalars(
        select(WorkflowEnvMap).where(
            WorkflowEnvMap.tenant_id == tenant_id,
            WorkflowEnvMap.canonical_id == canonical_id,
            WorkflowEnvMap.environment_id == environment_id,
        )
    ).one_or_none()
    if mapping is None or mapping.workflow_data is None:
        raise NotFound(
            f"canonical workflow {canonical.canonical_slug} has no workflow in environment "
            f"{environment_id}"
        )
    if against == "git":
        old, old_hash = dict(canonical.workflow_definition), canonical.content_hash
    else:
        old_hash = mapping.base_content_hash
        old = _base_version(session, secrets, canonical, old_hash, environment_id, cache_root)
    data = dict(mapping.workflow_data)
    runs = running_form(data)
    draft = None
    if runs is not data and has_pending_draft(mapping.env_content_hash, mapping.n8n_draft_hash):
        draft = draft_form(data)
    return DiffSides(
        old, dict(runs), old_hash, mapping.env_content_hash, draft, mapping.n8n_draft_hash
    )


def _base_version(
    session: Session,
    secrets: SecretBox,
    canonical: Any,
    digest: str | None,
    environment_id: uuid.UUID,
    cache_root: Path,
) -> dict[str, Any]:
    if digest is None:
        raise NotFound("no base yet: the two sides have never agreed (diff against git)")
    if digest == canonical.content_hash:
        return dict(canonical.workflow_definition)
    found = history.snapshot_with_hash(
        session, canonical.tenant_id, canonical.id, digest, environment_id
    )
    if found is None:
        ref = history.file_ref(session, secrets, canonical, cache_root)
        found = history.version_with_hash(ref, digest)
    if found is None:
        raise NotFound(
            f"the base version ({digest[:15]}) is neither in Git's history nor a snapshot"
        )
    return found
