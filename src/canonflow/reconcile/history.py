"""A canonical workflow's versions: the Git history of its file, read from the local copy
of the repository as last fetched (reads never call a remote, DESIGN §6a)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow.core.enums import SnapshotSide
from canonflow.core.git_layout import workflow_file_path
from canonflow.core.hashing import InvalidWorkflow, content_hash
from canonflow.crypto import SecretBox
from canonflow.db.models import CanonicalWorkflow, Snapshot
from canonflow.errors import NotFound, Unavailable
from canonflow.git import GitError, GitRepository
from canonflow.reconcile.schemas import VersionRead
from canonflow.repo import service as repositories

MAX_VERSIONS = 200


@dataclass(frozen=True)
class FileRef:
    access: repositories.RepoAccess
    path: str
    cache: Path


def canonical_or_404(
    session: Session, tenant_id: uuid.UUID, canonical_id: uuid.UUID
) -> CanonicalWorkflow:
    canonical = session.scalars(
        select(CanonicalWorkflow).where(
            CanonicalWorkflow.tenant_id == tenant_id, CanonicalWorkflow.id == canonical_id
        )
    ).one_or_none()
    if canonical is None:
        raise NotFound(f"no canonical workflow {canonical_id}")
    return canonical


def file_ref(
    session: Session, secrets: SecretBox, canonical: CanonicalWorkflow, cache_root: Path
) -> FileRef:
    access = repositories.access(secrets, repositories.get_or_raise(session, canonical.tenant_id))
    path = canonical.git_file_path or workflow_file_path(
        access.workflows_dir, canonical.canonical_slug
    )
    return FileRef(access, path, access.cache_dir(cache_root))


def versions(ref: FileRef, *, limit: int) -> list[VersionRead]:
    """Newest first; empty when the repository was never synced here."""
    if not ref.cache.exists():
        return []
    try:
        with GitRepository.open_or_clone(ref.cache, ref.access.url, ref.access.auth) as git:
            head = git.head(ref.access.branch)
            if head is None:
                return []
            found = git.file_history(head, ref.path, limit=min(limit, MAX_VERSIONS))
            return [
                VersionRead(
                    commit=v.commit,
                    author=v.author_name,
                    email=v.author_email,
                    date=v.authored_at,
                    message=v.message,
                    content_hash=_hash(git.read_blob(v.blob_id)) if v.blob_id else None,
                )
                for v in found
            ]
    except GitError as exc:
        raise Unavailable(f"the local copy of {ref.access.url}: {exc.message}") from exc


def version_with_hash(ref: FileRef, digest: str) -> dict[str, Any] | None:
    """The newest version of the file whose content hash is `digest`, parsed."""
    if not ref.cache.exists():
        return None
    try:
        with GitRepository.open_or_clone(ref.cache, ref.access.url, ref.access.auth) as git:
            head = git.head(ref.access.branch)
            for version in git.file_history(head, ref.path, limit=MAX_VERSIONS) if head else []:
                if version.blob_id is None:
                    continue
                data = git.read_blob(version.blob_id)
                if _hash(data) == digest:
                    parsed = orjson.loads(data)
                    return parsed if isinstance(parsed, dict) else None
    except GitError:
        return None
    return None


def snapshot_with_hash(
    session: Session,
    tenant_id: uuid.UUID,
    canonical_id: uuid.UUID,
    digest: str,
    environment_id: uuid.UUID,
) -> dict[str, Any] | None:
    """The newest snapshot of the canonical workflow whose content hash is `digest`: of
    Git's side, or of this environment's (another's holds its own workflow ids)."""
    snapshot = session.scalars(
        select(Snapshot)
        .where(
            Snapshot.tenant_id == tenant_id,
            Snapshot.canonical_id == canonical_id,
            Snapshot.content_hash == digest,
            (Snapshot.side == SnapshotSide.GIT) | (Snapshot.environment_id == environment_id),
        )
        .order_by(Snapshot.created_at.desc())
        .limit(1)
    ).one_or_none()
    return dict(snapshot.workflow) if snapshot is not None else None


def _hash(data: bytes) -> str | None:
    try:
        parsed = orjson.loads(data)
        return content_hash(parsed) if isinstance(parsed, dict) else None
    except (orjson.JSONDecodeError, InvalidWorkflow):
        return None
