"""Fixtures for repo sync: a bare remote served over file:// or git://, a working clone."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow
from canonflow.repo import service
from canonflow.repo.schemas import RepositoryPut
from canonflow.repo.sync import PruneGuard, RepoSyncResult, sync_repository
from canonflow.runtime import Runtime
from canonflow.tenancy.service import Principal
from tests.factories import make_tenant
from tests.support.git_remotes import GitDaemon, WorkingClone, make_bare_remote
from tests.support.n8n_fixtures import make_workflow

MAX_BYTES = 64 * 1024


@dataclass
class RepoUnderTest:
    runtime: Runtime
    tenant_id: uuid.UUID
    url: str
    clone: WorkingClone
    cache_root: Path

    def sync(self, *, confirm_prune: bool = False, guard_percent: float = 20.0) -> RepoSyncResult:
        return sync_repository(
            self.runtime.sessions,
            self.runtime.secrets,
            tenant_id=self.tenant_id,
            cache_root=self.cache_root,
            max_file_bytes=MAX_BYTES,
            prune_guard=PruneGuard(percent=guard_percent, confirmed=confirm_prune),
        )

    def canonicals(self) -> dict[str, CanonicalWorkflow]:
        """By git_file_path (deleted ones included)."""
        with transaction(self.runtime.sessions) as session:
            rows = session.scalars(
                select(CanonicalWorkflow).where(CanonicalWorkflow.tenant_id == self.tenant_id)
            ).all()
            return {row.git_file_path or row.canonical_slug: row for row in rows}

    def write_workflow(self, path: str, name: str, **kwargs: Any) -> dict[str, Any]:
        workflow = make_workflow(name, **kwargs)
        self.clone.write(path, json.dumps(workflow, indent=2))
        return workflow


def principal_of(tenant_id: uuid.UUID) -> Principal:
    return Principal(
        tenant_id=tenant_id, tenant_slug="t", token_id=None, name="test", role=Role.ADMIN
    )


@pytest.fixture(params=["file", "git"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def remote_url(transport: str, tmp_path: Path) -> Iterator[str]:
    remote = make_bare_remote(tmp_path / "remotes")
    if transport == "file":
        yield f"file://{remote}"
        return
    with GitDaemon(remote.parent) as daemon:
        yield daemon.url(remote.name)


@pytest.fixture
def repo(runtime: Runtime, remote_url: str, tmp_path: Path) -> RepoUnderTest:
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        service.put(
            session,
            runtime.secrets,
            principal_of(tenant.id),
            RepositoryPut(url=remote_url, branch="main", workflows_dir="workflows"),
        )
    clone = WorkingClone(remote_url, tmp_path / "work")
    return RepoUnderTest(runtime, tenant.id, remote_url, clone, tmp_path / "cache")
