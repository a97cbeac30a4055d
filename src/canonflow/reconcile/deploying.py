"""Write definitions into one environment's n8n (git_wins, rollback, restore), a batch at a
time: read the batch's rows (one transaction), re-check each target and build its body,
snapshot every target about to be overwritten (one transaction, committed before n8n is
written), write, record what n8n now holds (one transaction).

What runs. A deploy leaves the workflow as active as it was, running the deployed version:
a PUT keeps an inactive workflow inactive, and a new one is created inactive; an active one
runs the new version at once on 1.x, and on 2.x the PUT republishes it (checked in n8n's
answer, `activeVersionId == versionId`, else published explicitly). When 2.x saves the body
but does not publish it (a key without the publish scope answers 403 after saving; a
publish refused), the item is `drafted`: written, yet the environment runs its previous
version, and its mapping records that running version (the base does not move). An
archived target (2.x) is never written (n8n answers 400): it counts as missing, so the item
is stale until a sync marks it so. The environment's hash of a target is the hash of what
it runs: `content_hash` reads a workflow through `canonflow.core.publication.running_form`
(on 2.x an active workflow with a pending draft runs `activeVersion`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow.core.deploy import DeployBlocked, DeployBody, build_deploy_body
from canonflow.core.enums import SnapshotSide
from canonflow.core.hashing import content_hash
from canonflow.core.publication import draft_form, draft_pending
from canonflow.core.status import MappingStatus
from canonflow.db.models import CanonicalWorkflow, WorkflowEnvMap
from canonflow.n8n import N8nClient, N8nNotFound, N8nRejected, N8nSavedNotPublished
from canonflow.reconcile import snapshots
from canonflow.reconcile.items import ApplyItem, Outcome, Result
from canonflow.reconcile.planning import TargetFacts


@dataclass(frozen=True)
class Actor:
    tenant_id: uuid.UUID
    name: str
    token_id: uuid.UUID | None
    reason: str


@dataclass(frozen=True)
class Row:
    """What the database holds for one item when its batch starts."""

    slug: str
    canonical_hash: str | None
    definition: dict[str, Any]
    mapping_found: bool
    n8n_id: str | None  # the live workflow to overwrite; None: create one
    mapping_status: MappingStatus | None = None
    canonical_deleted: bool = False


@dataclass
class Prepared:
    item: ApplyItem
    row: Row
    target: dict[str, Any] | None
    current_hash: str | None
    body: DeployBody
    snapshot_id: uuid.UUID | None = None
    drafted: str | None = None  # why n8n saved the write as a draft without publishing it
    draft_hash: str | None = None  # n8n 2.x: the hash of a draft that differs from what runs


def load_rows(session: Session, tenant_id: uuid.UUID, items: Sequence[ApplyItem]) -> dict[int, Row]:
    """Row of each item (by position): two queries for the whole batch."""
    c, m = CanonicalWorkflow, WorkflowEnvMap
    canonicals = {
        row.id: row
        for row in session.execute(
            select(
                c.id, c.canonical_slug, c.content_hash, c.workflow_definition, c.is_deleted
            ).where(c.tenant_id == tenant_id, c.id.in_({i.canonical_id for i in items}))
        )
    }
    mappings = {
        (row.canonical_id, row.environment_id): row
        for row in session.execute(
            select(m.canonical_id, m.environment_id, m.n8n_workflow_id, m.status).where(
                m.tenant_id == tenant_id,
                m.canonical_id.in_({i.canonical_id for i in items}),
                m.environment_id.in_({i.environment_id for i in items}),
            )
        )
    }
    rows = {}
    for position, item in enumerate(items):
        canonical = canonicals[item.canonical_id]
        mapping = mappings.get((item.canonical_id, item.environment_id))
        # a missing workflow (deleted in n8n) is created again, its mapping re-pointed
        live = mapping is not None and mapping.status is MappingStatus.LINKED
        rows[position] = Row(
            slug=canonical.canonical_slug,
            canonical_hash=canonical.content_hash,
            definition=canonical.workflow_definition,
            mapping_found=mapping is not None,
            n8n_id=mapping.n8n_workflow_id if mapping is not None and live else None,
            mapping_status=mapping.status if mapping is not None else None,
            canonical_deleted=canonical.is_deleted,
        )
    return rows


def prepare(
    item: ApplyItem,
    row: Row,
    client: N8nClient,
    facts: TargetFacts,
    *,
    definition: Mapping[str, Any] | None = None,
    target: dict[str, Any] | None = None,
) -> Prepared | Outcome:
    """Re-check the item against both sides and build its body (no database). `target`:
    the workflow as n8n listed it a moment ago, else it is read now; `definition`: what to
    write, else the canonical one. Raises `N8nError` when n8n fails."""
    if row.canonical_deleted:
        return Outcome(item, Result.STALE, "the workflow was deleted in Git since the plan")
    if row.mapping_status in (MappingStatus.IGNORED, MappingStatus.DELETED):
        return Outcome(item, Result.BLOCKED, f"its mapping is {row.mapping_status.value}")
    if item.expected_git_hash is not None and row.canonical_hash != item.expected_git_hash:
        return Outcome(item, Result.STALE, "Git changed since the plan: plan again")
    if item.mapping_id is None and row.mapping_found:
        return Outcome(item, Result.STALE, "the workflow appeared in n8n since the plan")
    current = None
    if row.n8n_id is not None:
        try:
            target = target if target is not None else client.get_workflow(row.n8n_id)
        except N8nNotFound:
            return Outcome(item, Result.STALE, f"workflow {row.n8n_id} was deleted in n8n")
        if target.get("isArchived") is True:  # 2.x refuses to update it; it counts as missing
            return Outcome(item, Result.STALE, _archived(row.n8n_id))
        current = content_hash(target, facts.refs)
    else:
        target = None
    try:
        body = build_deploy_body(
            dict(definition if definition is not None else row.definition),
            target=target,
            credentials=facts.credentials,
            workflow_ids=facts.workflow_ids,
        )
    except DeployBlocked as blocked:
        return Outcome(item, Result.BLOCKED, str(blocked))
    prepared = Prepared(item, row, target, current, body)
    if target is not None and current == body.content_hash:
        return prepared  # already there: recorded without a write (see `already_there`)
    if item.expected_env_hash is not None and current != item.expected_env_hash:
        return Outcome(item, Result.STALE, "the workflow changed in n8n since the plan")
    return prepared


def already_there(prepared: Prepared) -> bool:
    """n8n holds the version already (a run cut short after n8n took the write)."""
    return prepared.target is not None and prepared.current_hash == prepared.body.content_hash


def take_snapshots(session: Session, batch: Sequence[Prepared], actor: Actor) -> None:
    """A snapshot of every target about to be overwritten; the caller commits before
    writing to n8n."""
    for prepared in batch:
        if prepared.target is None or already_there(prepared):
            continue
        item = prepared.item
        prepared.snapshot_id = snapshots.take(
            session,
            tenant_id=actor.tenant_id,
            side=SnapshotSide.ENV,
            workflow=prepared.target,
            content_hash=prepared.current_hash,
            reason=actor.reason,
            created_by=actor.name,
            mapping_id=item.mapping_id,
            canonical_id=item.canonical_id,
            environment_id=item.environment_id,
        ).id


def write(prepared: Prepared, client: N8nClient, facts: TargetFacts) -> tuple[dict[str, Any], str]:
    """PUT (or POST) the body; n8n's answer and the content hash of what the workflow now
    runs (see the module notes; `prepared.drafted` says when that is not the body). Raises
    `N8nError`."""
    if already_there(prepared):
        assert prepared.target is not None and prepared.current_hash is not None
        prepared.draft_hash = _draft_hash(prepared.target, facts.refs, prepared.current_hash)
        return prepared.target, prepared.current_hash
    n8n_id = prepared.row.n8n_id
    body = prepared.body.body
    written = _update(prepared, client, n8n_id) if n8n_id else client.create_workflow(body)
    written_id = str(written["id"])
    facts.workflow_ids[prepared.row.slug] = written_id  # later deploys may reference it
    facts.refs[written_id] = prepared.row.slug
    runs = content_hash(written, facts.refs)
    prepared.draft_hash = _draft_hash(written, facts.refs, runs)
    return written, runs


def _draft_hash(workflow: Mapping[str, Any], refs: Mapping[str, str], runs: str) -> str | None:
    """The hash of n8n's pending draft when it differs from what runs, as a sync keeps it
    (`n8n_draft_hash`): a drafted deploy leaves one, a published one clears it."""
    if not draft_pending(workflow):
        return None
    draft = content_hash(draft_form(workflow), refs)
    return draft if draft != runs else None


def _update(prepared: Prepared, client: N8nClient, n8n_id: str) -> dict[str, Any]:
    """PUT over a live target, leaving it running the new version if it was active."""
    was_active = prepared.target is not None and prepared.target.get("active") is True
    try:
        written = client.update_workflow(n8n_id, prepared.body.body)
    except N8nSavedNotPublished as exc:
        if not was_active:  # nothing to publish: the 403 refused the write itself
            raise exc.refusal from exc
        prepared.drafted = exc.message
        return client.get_workflow(n8n_id)
    if not was_active or written.get("activeVersionId") == written.get("versionId"):
        return written  # 1.x: live at once (the ids agree); 2.x: the PUT republished it
    # the versions differ: publish what was written, whatever the detected major says (a
    # 2.x older than /discover reads as 1.x, and 1.x's /activate publishes on 2.x too)
    try:
        published = client.publish_workflow(n8n_id, written.get("versionId"))
    except N8nRejected as exc:  # e.g. a webhook path another workflow holds: a draft only
        prepared.drafted = exc.message
        return client.get_workflow(n8n_id)
    return published if isinstance(published.get("nodes"), list) else client.get_workflow(n8n_id)


def _archived(n8n_id: str) -> str:
    return (
        f"workflow {n8n_id} is archived in n8n, so it counts as missing: sync the environment "
        "and plan again (a deploy then creates it anew), or unarchive it in n8n"
    )
