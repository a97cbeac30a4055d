"""The definition a deploy writes: the canonical one, an older version of its file (a
rollback), or the workflow of an environment snapshot (a restore)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from canonflow.core.definitions import canonical_definition
from canonflow.core.git_layout import workflow_file_path
from canonflow.crypto import SecretBox
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow
from canonflow.errors import Invalid, NotFound, Unavailable
from canonflow.git import GitError, GitRepository
from canonflow.reconcile import snapshots
from canonflow.reconcile.items import ApplyItem
from canonflow.repo import service as repositories
from canonflow.repo.cache import cache_in_use
from canonflow.sync.mappings import reference_slugs

COMMIT_PREFIX = "commit:"
SNAPSHOT_PREFIX = "snapshot:"


def definition_for(
    sessions: sessionmaker[Session],
    secrets: SecretBox,
    item: ApplyItem,
    *,
    tenant_id: uuid.UUID,
    cache_root: Path,
) -> dict[str, Any]:
    if item.source.startswith(COMMIT_PREFIX):
        return file_at_commit(
            sessions, secrets, tenant_id, item.canonical_id, item.source[7:], cache_root
        )
    with transaction(sessions) as session:
        if item.source.startswith(SNAPSHOT_PREFIX):
            return _from_snapshot(session, tenant_id, uuid.UUID(item.source[9:]))
        canonical = _canonical(session, tenant_id, item.canonical_id)
        return dict(canonical.workflow_definition)


def file_at_commit(
    sessions: sessionmaker[Session],
    secrets: SecretBox,
    tenant_id: uuid.UUID,
    canonical_id: uuid.UUID,
    commit: str,
    cache_root: Path,
) -> dict[str, Any]:
    """The canonical workflow's file as `commit` has it (fetching the branch if the local
    copy lacks the commit). The file is looked up under its current path."""
    with transaction(sessions) as session:
        canonical = _canonical(session, tenant_id, canonical_id)
        access = repositories.access(secrets, repositories.get_or_raise(session, tenant_id))
        path = canonical.git_file_path or workflow_file_path(
            access.workflows_dir, canonical.canonical_slug
        )
    with cache_in_use(sessions, tenant_id):
        try:
            with GitRepository.open_or_clone(
                access.cache_dir(cache_root), access.url, access.auth
            ) as git:
                if not git.has_commit(commit):
                    git.fetch(access.branch)
                head = git.head(access.branch)
                if head is None or not git.is_ancestor(commit, head):
                    raise NotFound(f"no commit {commit} in {access.branch}")
                data = git.read_file(commit, path)
        except GitError as exc:
            raise Unavailable(f"repository {access.url}: {exc.message}") from exc
    if data is None:
        raise NotFound(f"commit {commit} has no file {path}")
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise Invalid(f"{path} at {commit} is not valid JSON") from None
    if not isinstance(document, dict):
        raise Invalid(f"{path} at {commit} is not a workflow")
    return document


def _from_snapshot(
    session: Session, tenant_id: uuid.UUID, snapshot_id: uuid.UUID
) -> dict[str, Any]:
    """An environment snapshot holds n8n's JSON: its definition, references made slugs."""
    snapshot = snapshots.get_or_raise(session, tenant_id, snapshot_id)
    environment_id = snapshot.environment_id
    refs = reference_slugs(session, tenant_id, environment_id) if environment_id else {}
    return canonical_definition(dict(snapshot.workflow), refs).document


def _canonical(
    session: Session, tenant_id: uuid.UUID, canonical_id: uuid.UUID
) -> CanonicalWorkflow:
    canonical = session.get(CanonicalWorkflow, canonical_id)
    if canonical is None or canonical.tenant_id != tenant_id:
        raise NotFound(f"no canonical workflow {canonical_id}")
    return canonical
