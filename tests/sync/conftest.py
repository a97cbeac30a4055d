"""Fixtures for environment sync tests: a tenant with an environment on a real n8n."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from canonflow.db.engine import transaction
from canonflow.db.models import Environment, SyncRun, WorkflowEnvMap
from canonflow.runtime import Runtime
from canonflow.sync.environment import sync_environment
from canonflow.sync.result import SyncResult
from tests.factories import make_tenant
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import admin_client


@dataclass
class EnvUnderTest:
    """One tenant, one environment on a real n8n, and helpers to act on both."""

    runtime: Runtime
    n8n: N8nInstance
    tenant_id: uuid.UUID
    environment_id: uuid.UUID

    def sync(self) -> SyncResult:
        return sync_environment(
            self.runtime.sessions,
            self.runtime.secrets,
            tenant_id=self.tenant_id,
            environment_id=self.environment_id,
        )

    def mappings(self) -> dict[str, WorkflowEnvMap]:
        with transaction(self.runtime.sessions) as session:
            rows = session.scalars(
                select(WorkflowEnvMap).where(WorkflowEnvMap.environment_id == self.environment_id)
            ).all()
            return {row.n8n_workflow_id: row for row in rows}

    def runs(self) -> list[SyncRun]:
        with transaction(self.runtime.sessions) as session:
            return list(session.scalars(select(SyncRun).order_by(SyncRun.started_at)).all())

    def n8n_http(self) -> httpx.Client:
        return admin_client(self.n8n)


def add_environment(
    runtime: Runtime,
    n8n: N8nInstance,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    name: str = "dev",
    batch_size: int = 100,
) -> EnvUnderTest:
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        environment = Environment(
            tenant_id=tenant.id,
            name=name,
            base_url=base_url or n8n.base_url,
            api_key=runtime.secrets.seal(api_key or n8n.api_key),
            batch_size=batch_size,
        )
        session.add(environment)
        session.flush()
        return EnvUnderTest(runtime, n8n, tenant.id, environment.id)


@pytest.fixture
def dev_env(runtime: Runtime, clean_n8n_dev: N8nInstance) -> EnvUnderTest:
    return add_environment(runtime, clean_n8n_dev)


@pytest.fixture
def create_in_n8n(
    workflow_factory: Callable[..., dict[str, Any]],
) -> Callable[[EnvUnderTest, str], dict[str, Any]]:
    def create(env: EnvUnderTest, name: str, **kwargs: Any) -> dict[str, Any]:
        with env.n8n_http() as http:
            response = http.post("/workflows", json=workflow_factory(name, **kwargs))
            response.raise_for_status()
            created: dict[str, Any] = response.json()
            return created

    return create
