"""A tenant whose one n8n environment is onboarded into a fresh bare Git repository: every
workflow canonical, its file pushed to `main` (env_wins pushes there too), the repository
synced; then, on request, every file edited in Git (all out of date). Shared by the
reconcile tests and `bench/reconcile.py`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from canonflow.core.enums import CommitMode, Role
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, Environment
from canonflow.onboarding.inventory import run_inventory
from canonflow.repo import service as repositories
from canonflow.repo.schemas import RepositoryPut
from canonflow.repo.sync import sync_repository
from canonflow.repo.writeback import write_back
from canonflow.runtime import Runtime
from canonflow.tenancy.service import Principal
from tests.factories import bearer, make_tenant, make_token
from tests.support.git_remotes import WorkingClone, make_bare_remote


@dataclass(frozen=True)
class Onboarded:
    tenant_id: uuid.UUID
    environment_id: uuid.UUID
    headers: dict[str, str]  # an operator token's
    clone: WorkingClone


def onboard_one_environment(
    runtime: Runtime, *, base_url: str, api_key: str, tmp: Path, name: str = "prod"
) -> Onboarded:
    remote_url = f"file://{make_bare_remote(tmp / 'remotes')}"
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        environment = Environment(
            tenant_id=tenant.id,
            name=name,
            base_url=base_url,
            api_key=runtime.secrets.seal(api_key),
            is_anchor=True,
        )
        session.add(environment)
        session.flush()
        principal = Principal(tenant.id, tenant.slug, None, "tester", Role.ADMIN)
        put = RepositoryPut(url=remote_url, branch="main", commit_mode=CommitMode.PUSH)
        repositories.put(session, runtime.secrets, principal, put)
        headers = bearer(make_token(session, tenant, role=Role.OPERATOR))
        tenant_id, environment_id = tenant.id, environment.id
    run_inventory(runtime.sessions, runtime.secrets, tenant_id=tenant_id)
    clone = WorkingClone(remote_url, tmp / "work")
    clone.write("README.md", "workflows\n")
    clone.commit("initial")
    clone.git("push", "--quiet", "origin", "HEAD:main")
    with transaction(runtime.sessions) as session:
        ids = list(
            session.scalars(
                select(CanonicalWorkflow.id).where(CanonicalWorkflow.tenant_id == tenant_id)
            )
        )
    write_back(
        runtime.sessions, runtime.secrets, tenant_id=tenant_id,
        cache_root=runtime.settings.resolved_git_cache_dir, canonical_ids=ids, branch="main",
        message="onboard",
    )  # fmt: skip
    return Onboarded(tenant_id, environment_id, headers, clone)


def edit_every_file(
    runtime: Runtime, onboarded: Onboarded, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    """`change` each workflow file in one commit, push it, and sync the repository."""
    clone = onboarded.clone
    clone.git("pull", "--quiet", "origin", "main")
    for path in sorted((clone.directory / "workflows").glob("*.json")):
        document = orjson.loads(path.read_bytes())
        change(document)
        path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    clone.commit(message)
    clone.git("push", "--quiet", "origin", "HEAD:main")
    sync_repository(
        runtime.sessions,
        runtime.secrets,
        tenant_id=onboarded.tenant_id,
        cache_root=runtime.settings.resolved_git_cache_dir,
        max_file_bytes=5_000_000,
    )
