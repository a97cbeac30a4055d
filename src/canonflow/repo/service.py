"""Repository configuration flows. Services flush; the caller commits. Writes are audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow import audit
from canonflow.core.enums import ForgeProvider
from canonflow.crypto import Sealed, SecretBox
from canonflow.db.models import GitRepository
from canonflow.egress import entry as egress_entry
from canonflow.environments import scheduling
from canonflow.errors import Invalid, NotFound
from canonflow.forge import default_api_url, repository_from_url
from canonflow.git import RemoteAuth
from canonflow.repo.schemas import (
    ForgeRead,
    ForgeSettings,
    RepositoryAuth,
    RepositoryPut,
    RepositoryRead,
    RepositorySchedule,
)
from canonflow.tenancy.service import Principal


@dataclass(frozen=True)
class ForgeAccess:
    provider: ForgeProvider
    api_url: str | None
    repository: str | None
    token: str | None = field(repr=False)


@dataclass(frozen=True)
class RepoAccess:
    """What it takes to reach the tenant's repository, read outside any transaction."""

    tenant_id: uuid.UUID
    url: str
    branch: str
    workflows_dir: str
    auth: RemoteAuth | None
    last_synced_commit: str | None
    forge: ForgeAccess | None = None

    def cache_dir(self, root: Path) -> Path:
        return root / str(self.tenant_id)


def get(session: Session, tenant_id: uuid.UUID) -> GitRepository | None:
    return session.scalars(
        select(GitRepository).where(GitRepository.tenant_id == tenant_id)
    ).one_or_none()


def get_or_raise(session: Session, tenant_id: uuid.UUID) -> GitRepository:
    repository = get(session, tenant_id)
    if repository is None:
        raise NotFound(
            "no Git repository is configured: PUT /api/v1/repository (or `canonflow repo set`)"
        )
    return repository


def put(
    session: Session, secrets: SecretBox, principal: Principal, data: RepositoryPut
) -> GitRepository:
    repository = get(session, principal.tenant_id)
    _check_url(repository, data)
    if repository is None:
        repository = GitRepository(tenant_id=principal.tenant_id)
        session.add(repository)
    moved = (
        repository.url not in (None, data.url)
        or repository.branch not in (None, data.branch)
        or repository.workflows_dir not in (None, data.workflows_dir)
    )
    repository.url, repository.branch, repository.workflows_dir = (
        data.url,
        data.branch,
        data.workflows_dir,
    )
    if moved:  # the tree means something else now: the next sync is a full scan
        repository.last_synced_commit = None
    if data.auth is not None:
        repository.auth_secret = _seal_auth(secrets, data.auth)
    if data.forge is not None:
        _set_forge(secrets, repository, data.forge)
    if data.commit_mode is not None:
        repository.commit_mode = data.commit_mode
    session.flush()
    audit.record_by(
        session,
        principal,
        action="repository.put",
        target_type="git_repository",
        target_id=str(repository.id),
        details={
            "url": data.url,
            "branch": data.branch,
            "workflows_dir": data.workflows_dir,
            "credentials": "changed" if data.auth is not None else "kept",
            "forge": repository.forge_provider.value,
            "commit_mode": repository.commit_mode.value,
        },
    )
    return repository


def read(repository: GitRepository) -> RepositoryRead:
    return RepositoryRead(
        url=repository.url,
        branch=repository.branch,
        workflows_dir=repository.workflows_dir,
        has_credentials=repository.auth_secret is not None,
        forge=ForgeRead(
            provider=repository.forge_provider,
            api_url=repository.forge_api_url,
            repository=repository.forge_repository,
            has_token=repository.forge_token is not None,
        ),
        commit_mode=repository.commit_mode,
        last_synced_commit=repository.last_synced_commit,
        last_synced_at=repository.last_synced_at,
        sync_interval_s=repository.sync_interval_s,
        paused=repository.paused,
        next_sync_at=repository.next_sync_at,
    )


def set_schedule(
    session: Session, principal: Principal, data: RepositorySchedule, *, min_interval_s: int
) -> GitRepository:
    """Change how often the repository is synced, or pause its schedule."""
    repository = get_or_raise(session, principal.tenant_id)
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    if "sync_interval_s" in changes:
        scheduling.check_interval(changes["sync_interval_s"], min_interval_s)
    for name, value in changes.items():
        setattr(repository, name, value)
    repository.next_sync_at = scheduling.next_slot(
        repository.id, repository.sync_interval_s, repository.paused
    )
    session.flush()
    audit.record_by(
        session,
        principal,
        action="repository.schedule",
        target_type="git_repository",
        target_id=str(repository.id),
        details=changes,
    )
    return repository


def access(secrets: SecretBox, repository: GitRepository) -> RepoAccess:
    auth = _open_auth(secrets, repository)
    forge = None
    if repository.forge_provider is not ForgeProvider.NONE:
        token = secrets.open(repository.forge_token) if repository.forge_token else None
        forge = ForgeAccess(
            provider=repository.forge_provider,
            api_url=repository.forge_api_url,
            repository=repository.forge_repository,
            token=token or (auth.token if auth else None),
        )
    return RepoAccess(
        tenant_id=repository.tenant_id,
        url=repository.url,
        branch=repository.branch,
        workflows_dir=repository.workflows_dir,
        auth=auth,
        last_synced_commit=repository.last_synced_commit,
        forge=forge,
    )


def _check_url(repository: GitRepository | None, data: RepositoryPut) -> None:
    """The URL passes the egress policy, and takes the stored credentials to another
    origin only when they are entered again."""
    egress_entry.check_repository_url("url", data.url)
    if repository is not None:
        egress_entry.require_secret_for_new_origin(
            field="url",
            old=repository.url,
            new=data.url,
            resend="auth",
            has_stored=repository.auth_secret is not None,
            sent=data.auth is not None,
        )


def _check_forge_api_url(
    secrets: SecretBox, repository: GitRepository, forge: ForgeSettings, api_url: str
) -> None:
    """As `_check_url`, for the forge's API: its secret is the forge token, or the Git
    token when no forge token is stored (what `access` would send)."""
    egress_entry.check_http_url("forge.api_url", api_url)
    git_auth = _open_auth(secrets, repository)
    egress_entry.require_secret_for_new_origin(
        field="forge.api_url",
        old=repository.forge_api_url,
        new=api_url,
        resend="forge.token",
        has_stored=repository.forge_token is not None or bool(git_auth and git_auth.token),
        sent=forge.token is not None,
    )


def _set_forge(secrets: SecretBox, repository: GitRepository, forge: ForgeSettings) -> None:
    repository.forge_provider = forge.provider
    if forge.provider is ForgeProvider.NONE:
        repository.forge_api_url = repository.forge_repository = None
        repository.forge_token = None
        return
    api_url = forge.api_url or default_api_url(forge.provider, repository.url)
    name = forge.repository or repository_from_url(repository.url)
    if api_url is None or name is None:
        raise Invalid(
            f"cannot tell the {forge.provider.value} API or the owner/name from "
            f"{repository.url!r}: give forge.api_url and forge.repository"
        )
    _check_forge_api_url(secrets, repository, forge, api_url.rstrip("/"))
    repository.forge_api_url, repository.forge_repository = api_url.rstrip("/"), name
    if forge.token is not None:
        repository.forge_token = secrets.seal(forge.token.get_secret_value())


def _seal_auth(secrets: SecretBox, auth: RepositoryAuth) -> Sealed | None:
    values = {
        "token": auth.token.get_secret_value() if auth.token else None,
        "username": auth.username,
        "ssh_private_key": auth.ssh_private_key.get_secret_value()
        if auth.ssh_private_key
        else None,
        "ssh_passphrase": auth.ssh_passphrase.get_secret_value() if auth.ssh_passphrase else None,
    }
    if not any(values.values()):
        return None
    return secrets.seal(orjson.dumps(values).decode())


def _open_auth(secrets: SecretBox, repository: GitRepository) -> RemoteAuth | None:
    if repository.auth_secret is None:
        return None
    values = orjson.loads(secrets.open(repository.auth_secret))
    return RemoteAuth(
        token=values.get("token"),
        username=values.get("username"),
        ssh_private_key=values.get("ssh_private_key"),
        ssh_passphrase=values.get("ssh_passphrase"),
    )
