"""Fixtures for onboarding: one tenant with prod (anchor) and dev on two real n8n
instances, and a repository on a real bare Git remote."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, WorkflowEnvMap
from canonflow.onboarding.inventory import InventoryResult, run_inventory
from canonflow.repo import service as repositories
from canonflow.repo.schemas import RepositoryPut
from canonflow.runtime import Runtime
from canonflow.sync.environment import ClientFactory, default_client
from canonflow.tenancy.service import Principal
from tests.factories import add_prod_and_dev, make_tenant
from tests.support.git_remotes import WorkingClone, make_bare_remote
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import admin_client, make_workflow


@dataclass
class Estate:
    runtime: Runtime
    tenant_id: uuid.UUID
    prod: N8nInstance
    dev: N8nInstance
    prod_id: uuid.UUID
    dev_id: uuid.UUID
    remote_url: str
    clone: WorkingClone
    cache_root: Path
    created: dict[str, dict[str, Any]] = field(default_factory=dict)  # "prod:Name" → workflow

    @property
    def principal(self) -> Principal:
        return Principal(self.tenant_id, "t", None, "tester", Role.ADMIN)

    def create(self, where: str, body: dict[str, Any]) -> dict[str, Any]:
        instance = self.prod if where == "prod" else self.dev
        with admin_client(instance) as http:
            response = http.post("/workflows", json=body)
            response.raise_for_status()
            workflow: dict[str, Any] = response.json()
        self.created[f"{where}:{workflow['name']}:{workflow['id']}"] = workflow
        return workflow

    def inventory(self, client_factory: ClientFactory = default_client) -> InventoryResult:
        return run_inventory(
            self.runtime.sessions,
            self.runtime.secrets,
            tenant_id=self.tenant_id,
            client_factory=client_factory,
        )

    def mappings(self, where: str) -> dict[str, WorkflowEnvMap]:
        environment_id = self.prod_id if where == "prod" else self.dev_id
        with transaction(self.runtime.sessions) as session:
            rows = session.scalars(
                select(WorkflowEnvMap).where(WorkflowEnvMap.environment_id == environment_id)
            ).all()
            return {row.n8n_workflow_id: row for row in rows}

    def canonicals(self) -> dict[str, CanonicalWorkflow]:
        with transaction(self.runtime.sessions) as session:
            rows = session.scalars(
                select(CanonicalWorkflow).where(CanonicalWorkflow.tenant_id == self.tenant_id)
            ).all()
            return {row.canonical_slug: row for row in rows}


def calling(base: dict[str, Any], target_id: str) -> dict[str, Any]:
    """`base` plus an Execute Workflow node that calls `target_id`, which is also its
    error workflow."""
    body = copy.deepcopy(base)
    body["settings"]["errorWorkflow"] = target_id
    body["nodes"].append(
        {
            "id": str(uuid.uuid4()),
            "name": "Call Sub",
            "type": "n8n-nodes-base.executeWorkflow",
            "typeVersion": 1.2,
            "position": [600, 0],
            "parameters": {
                "workflowId": {"__rl": True, "mode": "id", "value": target_id},
                "options": {},
            },
        }
    )
    last = body["nodes"][-2]["name"]
    body["connections"][last] = {"main": [[{"node": "Call Sub", "type": "main", "index": 0}]]}
    return body


@pytest.fixture
def estate(
    runtime: Runtime, clean_n8n_prod: N8nInstance, clean_n8n_dev: N8nInstance, tmp_path: Path
) -> Estate:
    remote = make_bare_remote(tmp_path / "remotes")
    url = f"file://{remote}"
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        environments = add_prod_and_dev(
            session, runtime.secrets, tenant.id, clean_n8n_prod, clean_n8n_dev
        )
        principal = Principal(tenant.id, tenant.slug, None, "tester", Role.ADMIN)
        repositories.put(session, runtime.secrets, principal, RepositoryPut(url=url, branch="main"))
        prod_id, dev_id = environments[0].id, environments[1].id
    return Estate(
        runtime,
        tenant.id,
        clean_n8n_prod,
        clean_n8n_dev,
        prod_id,
        dev_id,
        url,
        WorkingClone(url, tmp_path / "work"),
        tmp_path / "cache",
    )


@pytest.fixture
def overlapping(estate: Estate) -> Estate:
    """The estate of the issue: same names; same content under another name; two prod
    workflows with one name; a dev-only workflow; a dev workflow whose name matches two
    canonicals; a parent calling a sub-workflow in both."""
    e = estate
    onboarding, invoice = make_workflow("Customer Onboarding", 5), make_workflow("Invoice Sync", 4)
    sub = make_workflow("Sub Flow", 3)
    for body in (onboarding, invoice, make_workflow("Dup Name", 3), make_workflow("Dup Name", 6)):
        e.create("prod", body)
    parent = make_workflow("Parent Flow", 2)
    prod_sub = e.create("prod", sub)
    e.create("prod", calling(parent, prod_sub["id"]))
    e.create("prod", make_workflow("Prod Only", 2))
    e.create("dev", onboarding)
    e.create("dev", invoice | {"name": "Invoice Sync (dev copy)"})
    e.create("dev", make_workflow("Dup Name", 8))
    e.create("dev", make_workflow("Dev Only", 2))
    dev_sub = e.create("dev", sub)
    e.create("dev", calling(parent, dev_sub["id"]))
    return e
