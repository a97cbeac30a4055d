"""Write definitions into Git (env_wins, restore of a Git snapshot, re-adoption of an
orphaned workflow): re-check both sides, snapshot Git's version (a re-adopted file has
none: Git deleted it), commit every file in one commit, then push to the branch or open a
pull request, as the repository is configured (`commit_mode`). A pushed re-adoption makes
the canonical workflow live again; a proposed one does once merged and synced."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from canonflow import audit
from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.definitions import canonical_definition
from canonflow.core.enums import CommitMode, SnapshotSide
from canonflow.core.git_layout import render_workflow_file, workflow_file_path
from canonflow.core.hashing import content_hash, hash_normalized, normalize
from canonflow.core.publication import running_form
from canonflow.core.status import MappingStatus
from canonflow.crypto import SecretBox
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, WorkflowEnvMap
from canonflow.db.types import utcnow
from canonflow.errors import Unavailable
from canonflow.forge import ForgeClient, ForgeError, PullRequest, PullRequestExists
from canonflow.git import blob_id
from canonflow.n8n import N8nClient, N8nNotFound
from canonflow.reconcile import snapshots
from canonflow.reconcile.deploying import Actor
from canonflow.reconcile.items import ApplyItem, BaseAfter, Kind, Outcome, Result
from canonflow.repo import service as repositories
from canonflow.repo.cache import cache_in_use
from canonflow.repo.service import RepoAccess
from canonflow.repo.writeback import write_files
from canonflow.sync.mappings import reference_slugs

BRANCH_PREFIX = "canonflow/reconcile-"
ClientFor = Callable[[uuid.UUID], N8nClient]


@dataclass
class _Prepared:
    item: ApplyItem
    path: str
    document: dict[str, Any]
    content_hash: str
    name: str
    blob: str | None  # the file's blob as the database last saw it on the branch


@dataclass
class CommitBatch:
    """What one commit of items did: an outcome per item, and where the commit went
    (`branch`, `commit`: empty when nothing was written; `pull_request`: the one opened,
    in pull-request mode with a forge)."""

    outcomes: list[Outcome]
    branch: str = ""
    commit: str = ""
    pull_request: PullRequest | None = None


def commit_items(
    sessions: sessionmaker[Session],
    secrets: SecretBox,
    *,
    cache_root: Path,
    items: list[ApplyItem],
    client_for: ClientFor,
    actor: Actor,
    now: datetime | None = None,
) -> list[Outcome]:
    """One commit for all `items`; an outcome per item. Raises `N8nError` when n8n fails
    while the environments' versions are read (nothing is written then)."""
    return commit_batch(
        sessions, secrets, cache_root=cache_root, items=items, client_for=client_for,
        actor=actor, now=now,
    ).outcomes  # fmt: skip


def commit_batch(
    sessions: sessionmaker[Session],
    secrets: SecretBox,
    *,
    cache_root: Path,
    items: list[ApplyItem],
    client_for: ClientFor,
    actor: Actor,
    now: datetime | None = None,
    branch_prefix: str = BRANCH_PREFIX,
    pr_body: str | None = None,
) -> CommitBatch:
    """`commit_items`, saying too where the commit went (a promotion follows its pull
    request). `branch_prefix`: of the work branch in pull-request mode."""
    with transaction(sessions) as session:
        repository = repositories.get_or_raise(session, actor.tenant_id)
        access, mode = repositories.access(secrets, repository), repository.commit_mode
    batch = CommitBatch([])
    outcomes = batch.outcomes
    prepared: list[_Prepared] = []
    for item in items:
        ready = _prepare(sessions, item, access.workflows_dir, client_for, actor)
        if isinstance(ready, Outcome):
            outcomes.append(ready)
        else:
            prepared.append(ready)
    if not prepared:
        return batch
    snapshot_ids = _snapshot_git(sessions, prepared, actor)
    files: dict[str, bytes | None] = {p.path: render_workflow_file(p.document) for p in prepared}
    push = mode is CommitMode.PUSH
    branch = (
        access.branch if push else branch_prefix + (now or utcnow()).strftime("%Y%m%d-%H%M%S-%f")
    )
    message = _message(prepared, actor)
    expected = {p.path: p.blob for p in prepared}
    with cache_in_use(sessions, actor.tenant_id):
        written = write_files(
            access, cache_root=cache_root, files=files, branch=branch, message=message,
            expected=expected,
        )  # fmt: skip
    moved = set(written.moved)
    for ready in [p for p in prepared if p.path in moved]:
        outcomes.append(
            Outcome(ready.item, Result.STALE, "the file changed in Git since the last repo sync")
        )
    prepared = [p for p in prepared if p.path not in moved]
    if not prepared:
        return batch
    batch.branch, batch.commit = branch, written.commit
    if push:
        with transaction(sessions) as session:
            for ready in prepared:
                _record(session, ready, files[ready.path] or b"", written.commit, actor)
        detail = f"committed to {branch} ({written.commit[:12]})"
    else:
        batch.pull_request = pull_request(access, branch, message, body=pr_body)
        detail = _opened(batch.pull_request, branch) + f" ({written.commit[:12]})"
    result = Result.APPLIED if push else Result.PROPOSED
    for ready in prepared:
        outcomes.append(
            Outcome(
                ready.item, result, detail, ready.content_hash, None, snapshot_ids.get(ready.path)
            )
        )
    return batch


def _prepare(
    sessions: sessionmaker[Session],
    item: ApplyItem,
    workflows_dir: str,
    client_for: ClientFor,
    actor: Actor,
) -> _Prepared | Outcome:
    with transaction(sessions) as session:
        canonical = session.scalars(
            select(CanonicalWorkflow).where(
                CanonicalWorkflow.tenant_id == actor.tenant_id,
                CanonicalWorkflow.id == item.canonical_id,
            )
        ).one()
        path = canonical.git_file_path or workflow_file_path(
            workflows_dir, canonical.canonical_slug
        )
        git_hash = canonical.content_hash
        readopt = item.kind is Kind.READOPT
        if canonical.is_deleted and not readopt:
            return Outcome(item, Result.STALE, "the workflow was deleted in Git since the plan")
        if readopt and not canonical.is_deleted:
            return Outcome(item, Result.STALE, "the workflow is back in Git since the plan")
        mapping = session.scalars(
            select(WorkflowEnvMap).where(
                WorkflowEnvMap.tenant_id == actor.tenant_id, WorkflowEnvMap.id == item.mapping_id
            )
        ).one_or_none()
        if readopt and (mapping is None or mapping.status is not MappingStatus.LINKED):
            return Outcome(item, Result.STALE, "its mapping changed since the plan: plan again")
        n8n_id = mapping.n8n_workflow_id if mapping is not None else None
        refs = reference_slugs(session, actor.tenant_id, item.environment_id)
        blob = None if readopt else canonical.git_blob_id  # re-adopted: no file at the tip
        snapshot = _snapshot_source(session, item, actor)
    if item.expected_git_hash is not None and git_hash != item.expected_git_hash:
        return Outcome(item, Result.STALE, "Git changed since the plan: plan again")
    if snapshot is not None:
        document = snapshot
        digest = hash_normalized(normalize(document).document)
    else:
        if n8n_id is None:
            return Outcome(item, Result.BLOCKED, "no workflow in this environment to commit")
        try:
            read = client_for(item.environment_id).get_workflow(n8n_id)
        except N8nNotFound:
            return Outcome(item, Result.STALE, f"workflow {n8n_id} was deleted in n8n")
        workflow = running_form(read)  # what it runs (2.x: the published version, not a draft)
        if (
            item.expected_env_hash is not None
            and content_hash(workflow, refs) != item.expected_env_hash
        ):
            return Outcome(item, Result.STALE, "the workflow changed in n8n since the plan")
        definition = canonical_definition(workflow, refs)
        document, digest = definition.document, definition.content_hash
    return _Prepared(item, path, document, digest, str(document.get("name") or ""), blob)


def _snapshot_source(session: Session, item: ApplyItem, actor: Actor) -> dict[str, Any] | None:
    if not item.source.startswith("snapshot:"):
        return None
    snapshot = snapshots.get_or_raise(session, actor.tenant_id, uuid.UUID(item.source[9:]))
    return dict(snapshot.workflow)


def _snapshot_git(
    sessions: sessionmaker[Session], prepared: list[_Prepared], actor: Actor
) -> dict[str, uuid.UUID]:
    """Git's current version of each file, committed before anything is pushed."""
    taken: dict[str, uuid.UUID] = {}
    with transaction(sessions) as session:
        for ready in prepared:
            if ready.item.kind is Kind.READOPT:
                continue  # Git deleted the file: nothing there to keep
            canonical = session.get(CanonicalWorkflow, ready.item.canonical_id)
            assert canonical is not None
            taken[ready.path] = snapshots.take(
                session,
                tenant_id=actor.tenant_id,
                side=SnapshotSide.GIT,
                workflow=dict(canonical.workflow_definition),
                content_hash=canonical.content_hash,
                reason=actor.reason,
                created_by=actor.name,
                mapping_id=ready.item.mapping_id,
                canonical_id=canonical.id,
                environment_id=ready.item.environment_id,
            ).id
    return taken


def _record(session: Session, ready: _Prepared, data: bytes, commit: str, actor: Actor) -> None:
    """Pushed to the configured branch: the canonical workflow is the new version now."""
    item, now = ready.item, utcnow()
    canonical = session.get(CanonicalWorkflow, item.canonical_id)
    assert canonical is not None
    canonical.workflow_definition = ready.document
    canonical.content_hash, canonical.name = ready.content_hash, ready.name or canonical.name
    canonical.git_commit, canonical.git_blob_id = commit, blob_id(data)
    canonical.git_file_path, canonical.updated_at = ready.path, now
    readopt = item.kind is Kind.READOPT
    canonical.is_deleted = False  # a re-adopted workflow is live again
    m = WorkflowEnvMap
    session.execute(
        update(m)
        .where(m.tenant_id == actor.tenant_id, m.canonical_id == item.canonical_id)
        .values(git_content_hash=ready.content_hash)
    )
    if item.mapping_id is not None and item.base_after is BaseAfter.WRITTEN:
        session.execute(
            update(m)
            .where(m.id == item.mapping_id, m.env_content_hash == ready.content_hash)
            .values(base_content_hash=ready.content_hash)
        )
    session.flush()
    record_state_changes(
        session, actor.tenant_id, StateCause.COMMIT, canonical_ids=[item.canonical_id], at=now
    )
    audit.record(
        session,
        tenant_id=actor.tenant_id,
        actor=actor.name,
        actor_token_id=actor.token_id,
        action="workflow.readopt" if readopt else "workflow.commit",
        target_type="canonical_workflow",
        target_id=str(item.canonical_id),
        details={
            "source": item.source,
            "commit": commit,
            "content_hash": ready.content_hash,
            "mapping_id": str(item.mapping_id) if item.mapping_id else None,
        }
        | ({"from_state": "orphaned"} if readopt else {}),
    )


def _message(prepared: list[_Prepared], actor: Actor) -> str:
    names = ", ".join(sorted({p.name for p in prepared})[:5])
    more = f" and {len(prepared) - 5} more" if len(prepared) > 5 else ""
    return f"canonflow: {actor.reason}: {names}{more}"


def open_pull_request(
    access: RepoAccess, branch: str, title: str, *, body: str | None = None
) -> str:
    """Open (or find) the pull request of a pushed `branch`; "pull request <url>", or what
    to do when no forge is configured. Also used by template instantiation."""
    return _opened(pull_request(access, branch, title, body=body), branch)


def pull_request(
    access: RepoAccess, branch: str, title: str, *, body: str | None = None
) -> PullRequest | None:
    """Open (or find) the pull request of a pushed `branch`; None when no forge is
    configured. Raises `Unavailable` when the forge fails."""
    forge = access.forge
    if forge is None or forge.api_url is None or forge.repository is None:
        return None
    with ForgeClient(forge.provider, forge.api_url, forge.repository, forge.token) as client:
        try:
            return client.create_pull_request(
                head=branch, base=access.branch, title=title, body=body or _pr_body(title)
            )
        except PullRequestExists:
            found = client.find_open_pull_request(head=branch, base=access.branch)
            if found is None:
                raise Unavailable(
                    f"a pull request for {branch} exists but cannot be found"
                ) from None
            return found
        except ForgeError as exc:
            raise Unavailable(f"{exc.message} (the branch {branch} is pushed)") from exc


def _opened(pull: PullRequest | None, branch: str) -> str:
    if pull is None:
        return f"pushed to branch {branch} (no forge configured: open its pull request there)"
    return f"pull request {pull.url}"


def _pr_body(title: str) -> str:
    return (
        f"{title}\n\nOpened by canonflow (env_wins). Merge it, then sync the repository: the "
        "workflows become canonical and their environments in sync."
    )
