"""Fixtures for reconcile: an onboarded estate (prod anchor and dev on two real n8n, a real
bare Git remote) whose canonical workflows are in Git and in sync everywhere."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from canonflow.app import create_app
from canonflow.core.enums import CommitMode, Role
from canonflow.core.sync_state import SyncState, derive_sync_state
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, CanonicalWorkflow, Tenant, WorkflowEnvMap
from canonflow.repo import service as repositories
from canonflow.repo.schemas import RepositoryPut
from canonflow.repo.sync import sync_repository
from canonflow.repo.writeback import write_back
from canonflow.sync.environment import sync_environment
from tests.factories import bearer, make_token
from tests.onboarding.conftest import Estate, calling, estate  # noqa: F401 (a fixture)
from tests.support.n8n_fixtures import admin_client, make_workflow

MAX_FILE_BYTES = 5_000_000


@dataclass
class Linked:
    """The estate plus an API client with an operator token of its tenant."""

    e: Estate
    client: TestClient
    headers: dict[str, str]

    # --- the two sides ------------------------------------------------------------------

    def env_id(self, where: str) -> uuid.UUID:
        return self.e.prod_id if where == "prod" else self.e.dev_id

    def n8n(self, where: str) -> Any:
        return admin_client(self.e.prod if where == "prod" else self.e.dev)

    def get(self, where: str, n8n_id: str) -> dict[str, Any]:
        with self.n8n(where) as http:
            response = http.get(f"/workflows/{n8n_id}")
            response.raise_for_status()
            return dict(response.json())

    def edit_in_n8n(self, where: str, n8n_id: str, change: Any) -> dict[str, Any]:
        """GET, change (a function of the workflow), PUT back the writable fields."""
        workflow = self.get(where, n8n_id)
        change(workflow)
        body = {k: workflow[k] for k in ("name", "nodes", "connections", "settings")}
        with self.n8n(where) as http:
            response = http.put(f"/workflows/{n8n_id}", json=body)
            response.raise_for_status()
            return dict(response.json())

    def edit_in_git(self, slug: str, change: Any, message: str = "edit") -> str:
        clone = self.e.clone
        clone.git("pull", "--quiet", "origin", "main")
        path = f"workflows/{slug}.json"
        document = orjson.loads((clone.directory / path).read_bytes())
        change(document)
        clone.write(path, orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        sha = clone.commit(message)
        clone.git("push", "--quiet", "origin", "HEAD:main")
        return sha

    def git_file(self, slug: str) -> dict[str, Any]:
        clone = self.e.clone
        clone.git("pull", "--quiet", "origin", "main")
        return dict(orjson.loads((clone.directory / f"workflows/{slug}.json").read_bytes()))

    # --- canonflow ----------------------------------------------------------------------

    def sync(self, *where: str) -> None:
        for name in where or ("prod", "dev"):
            sync_environment(
                self.e.runtime.sessions,
                self.e.runtime.secrets,
                tenant_id=self.e.tenant_id,
                environment_id=self.env_id(name),
            )

    def repo_sync(self) -> None:
        sync_repository(
            self.e.runtime.sessions,
            self.e.runtime.secrets,
            tenant_id=self.e.tenant_id,
            cache_root=self.e.runtime.settings.resolved_git_cache_dir,
            max_file_bytes=MAX_FILE_BYTES,
        )

    def canonical(self, slug: str) -> CanonicalWorkflow:
        canonicals = self.e.canonicals()
        return canonicals[slug]

    def mapping(self, slug: str, where: str) -> WorkflowEnvMap:
        canonical = self.canonical(slug)
        with transaction(self.e.runtime.sessions) as session:
            return session.scalars(
                select(WorkflowEnvMap).where(
                    WorkflowEnvMap.canonical_id == canonical.id,
                    WorkflowEnvMap.environment_id == self.env_id(where),
                )
            ).one()

    def state(self, slug: str, where: str) -> SyncState:
        m = self.mapping(slug, where)
        return derive_sync_state(
            m.env_content_hash, m.git_content_hash, m.base_content_hash, draft_hash=m.n8n_draft_hash
        )

    def plan(self, strategy: str, **extra: Any) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/canonical/reconcile",
            json={"strategy": strategy, **extra},
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def apply(self, strategy: str, **extra: Any) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/canonical/reconcile",
            json={"strategy": strategy, "dry_run": False, **extra},
            headers=self.headers,
        )
        assert response.status_code == 202, response.text
        return self.wait(response.json()["job_id"])

    def wait(self, job_id: str) -> dict[str, Any]:
        self.e.runtime.runner.wait(uuid.UUID(job_id), timeout=300)
        with transaction(self.e.runtime.sessions) as session:
            job = session.get(BackgroundJob, uuid.UUID(job_id))
            assert job is not None
            return {"status": job.status.value, "result": job.result, "error": job.error}


def plan_items(plan: dict[str, Any], action: str | None = None) -> list[dict[str, Any]]:
    return [i for i in plan["items"] if action is None or i["action"] == action]


def set_value(value: str) -> Any:
    """A change to the Set node's assigned value (n8n JSON and Git file alike)."""

    def change(workflow: dict[str, Any]) -> None:
        [node] = [n for n in workflow["nodes"] if n["name"] == "Set"]
        node["parameters"]["assignments"]["assignments"][0]["value"] = value

    return change


def add_node(name: str) -> Any:
    def change(workflow: dict[str, Any]) -> None:
        workflow["nodes"].append(
            {
                "name": name,
                "type": "n8n-nodes-base.noOp",
                "typeVersion": 1,
                "position": [2000, 300],
                "parameters": {},
            }
        )

    return change


@pytest.fixture
def linked(estate: Estate) -> Iterator[Linked]:  # noqa: F811 (the imported fixture)
    """prod and dev hold "Orders", "Billing" (5 nodes), a "Sub Flow" and a "Parent Flow"
    calling it; onboarded, every file pushed to main (commit_mode push), in sync."""
    e = estate
    orders, billing = make_workflow("Orders", 5), make_workflow("Billing", 5)
    sub_flow, parent = make_workflow("Sub Flow", 3), make_workflow("Parent Flow", 2)
    for where in ("prod", "dev"):  # the same bodies in both: in sync once onboarded
        e.create(where, orders)
        e.create(where, billing)
        sub = e.create(where, sub_flow)
        e.create(where, calling(parent, sub["id"]))
    result = e.inventory()
    assert result.canonicals_created == 4, result
    e.clone.write("README.md", "workflows\n")
    e.clone.commit("initial")
    e.clone.git("push", "--quiet", "origin", "HEAD:main")
    with transaction(e.runtime.sessions) as session:
        repositories.put(
            session,
            e.runtime.secrets,
            e.principal,
            RepositoryPut(url=e.remote_url, branch="main", commit_mode=CommitMode.PUSH),
        )
        ids = list(session.scalars(select(CanonicalWorkflow.id)))
        tenant = session.get(Tenant, e.tenant_id)
        assert tenant is not None
        headers = bearer(make_token(session, tenant, role=Role.OPERATOR))
    write_back(
        e.runtime.sessions,
        e.runtime.secrets,
        tenant_id=e.tenant_id,
        cache_root=e.runtime.settings.resolved_git_cache_dir,
        canonical_ids=ids,
        branch="main",
        message="onboard",
    )
    with TestClient(create_app(runtime=e.runtime)) as client:
        state = Linked(e, client, headers)
        state.repo_sync()
        for slug in ("orders", "billing", "sub-flow", "parent-flow"):
            for where in ("prod", "dev"):
                assert state.state(slug, where) is SyncState.IN_SYNC, (slug, where)
        yield state
