"""Test the repository: can canonflow fetch its branch with its credentials?"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from canonflow.crypto import SecretBox
from canonflow.db.engine import read_transaction
from canonflow.errors import Conflict
from canonflow.git import GitError, GitRepository
from canonflow.repo import service
from canonflow.repo.cache import cache_in_use
from canonflow.repo.schemas import RepositoryCheck
from canonflow.repo.service import RepoAccess


def check_tenant_repository(
    sessions: sessionmaker[Session], secrets: SecretBox, tenant_id: uuid.UUID, cache_root: Path
) -> RepositoryCheck:
    """Read the repository in a snapshot that ends before the remote is asked."""
    with read_transaction(sessions) as session:
        access = service.access(secrets, service.get_or_raise(session, tenant_id))
    return check_repository(sessions, access, cache_root)


def check_repository(
    sessions: sessionmaker[Session], access: RepoAccess, cache_root: Path
) -> RepositoryCheck:
    try:
        with (
            cache_in_use(sessions, access.tenant_id),
            GitRepository.open_or_clone(
                access.cache_dir(cache_root), access.url, access.auth
            ) as git,
        ):
            head = git.fetch(access.branch)
    except GitError as exc:
        return RepositoryCheck(ok=False, detail=exc.message)
    except Conflict as exc:
        return RepositoryCheck(ok=False, detail=exc.message)
    if head is None:
        return RepositoryCheck(ok=True, detail=f"reached {access.url}: the repository is empty")
    return RepositoryCheck(
        ok=True, detail=f"reached {access.url}: {access.branch} at {head[:12]}", head=head
    )
