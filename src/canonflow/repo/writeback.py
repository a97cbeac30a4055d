"""Write canonical workflows to the repository (DESIGN section 5) on a branch, and push.

Used by onboarding (the migration pull request) and reconcile (env_wins).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canonflow.core.git_layout import render_workflow_file, workflow_file_path
from canonflow.crypto import SecretBox
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow
from canonflow.errors import NotFound, Unavailable
from canonflow.git import GitError, GitRefNotFound, GitRepository, Signature
from canonflow.repo import service

DEFAULT_AUTHOR = Signature(name="canonflow", email="canonflow@localhost")


@dataclass(frozen=True)
class WriteBackResult:
    branch: str
    commit: str  # "" when nothing was committed (every file had moved)
    files: list[str]
    moved: list[str] = field(default_factory=list)  # left out: not as expected at the tip


def write_back(
    sessions: sessionmaker[Session],
    secrets: SecretBox,
    *,
    tenant_id: uuid.UUID,
    cache_root: Path,
    canonical_ids: list[uuid.UUID],
    branch: str,
    message: str,
    author: Signature = DEFAULT_AUTHOR,
) -> WriteBackResult:
    """Commit the canonical workflows' files on `branch` (made from the configured branch
    when it does not exist yet) and push it. A push that is not a fast-forward is a
    conflict, never forced."""
    with transaction(sessions) as session:
        access = service.access(secrets, service.get_or_raise(session, tenant_id))
        files = _files(session, tenant_id, canonical_ids, access.workflows_dir)
    return write_files(
        access, cache_root=cache_root, files=files, branch=branch, message=message, author=author
    )


def write_files(
    access: service.RepoAccess,
    *,
    cache_root: Path,
    files: dict[str, bytes | None],
    branch: str,
    message: str,
    author: Signature = DEFAULT_AUTHOR,
    expected: Mapping[str, str | None] | None = None,
) -> WriteBackResult:
    """Commit `files` (path → content) on `branch` and push it (see `write_back`). The
    caller holds the cache lease. `expected`: path → the blob id the caller last saw on the
    configured branch (None: no file); a file whose blob at the fetched tip differs is left
    out and listed in `moved` (someone changed it since), never overwritten."""
    files = dict(files)
    moved: list[str] = []
    try:
        with GitRepository.open_or_clone(
            access.cache_dir(cache_root), access.url, access.auth
        ) as git:
            _fetch_if_present(git, access.branch)  # absent: the work branch may carry on
            tip = git.head(access.branch)
            for path, blob in (expected or {}).items():
                if (git.blob_id_at(tip, path) if tip else None) != blob:
                    moved.append(path)
                    files.pop(path, None)
            if not files:
                return WriteBackResult(branch=branch, commit="", files=[], moved=moved)
            if branch != access.branch:
                _fetch_if_present(git, branch)  # build on the work branch if it exists
            commit = git.commit_files(
                base_branch=access.branch,
                branch=branch,
                files=files,
                message=message,
                author=author,
            )
            git.push(branch)
    except GitError as exc:
        raise Unavailable(f"repository {access.url}: {exc.message}") from exc
    return WriteBackResult(branch=branch, commit=commit, files=sorted(files), moved=moved)


def _fetch_if_present(git: GitRepository, branch: str) -> None:
    with contextlib.suppress(GitRefNotFound):
        git.fetch(branch)


def _files(
    session: Session, tenant_id: uuid.UUID, canonical_ids: list[uuid.UUID], workflows_dir: str
) -> dict[str, bytes | None]:
    rows = session.scalars(
        select(CanonicalWorkflow).where(
            CanonicalWorkflow.tenant_id == tenant_id, CanonicalWorkflow.id.in_(canonical_ids)
        )
    ).all()
    missing = set(canonical_ids) - {row.id for row in rows}
    if missing:
        raise NotFound(f"no canonical workflow {sorted(map(str, missing))[0]}")
    return {
        row.git_file_path
        or workflow_file_path(workflows_dir, row.canonical_slug): render_workflow_file(
            row.workflow_definition
        )
        for row in rows
    }
