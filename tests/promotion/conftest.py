"""Fixtures for promotion: the reconcile estate (prod and dev on two real n8n, a real bare
Git remote, in sync everywhere) with dev at promotion order 1 and prod at 3; `staging`
adds a third real n8n at order 2."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from canonflow.db.engine import transaction
from canonflow.db.models import Environment, Promotion, WorkflowEnvMap
from canonflow.sync.environment import sync_environment
from tests.onboarding.conftest import estate  # noqa: F401 (a fixture)
from tests.reconcile.conftest import Linked, linked  # noqa: F401 (a fixture)
from tests.support.n8n import N8nInstance, start_n8n
from tests.support.n8n_fixtures import _discard, admin_client, wipe


@dataclass
class Promoting:
    linked: Linked
    staging_id: uuid.UUID | None = None
    staging: N8nInstance | None = None

    def env_id(self, where: str) -> uuid.UUID:
        if where == "staging":
            assert self.staging_id is not None
            return self.staging_id
        return self.linked.env_id(where)

    def request(self, source: str, target: str, **extra: Any) -> dict[str, Any]:
        return {
            "from_environment_id": str(self.env_id(source)),
            "to_environment_id": str(self.env_id(target)),
            **extra,
        }

    def ids(self, *slugs: str) -> list[str]:
        return [str(self.linked.canonical(s).id) for s in slugs]

    def dry_run(self, source: str, target: str, **extra: Any) -> dict[str, Any]:
        response = self.linked.client.post(
            "/api/v1/canonical/promote",
            json=self.request(source, target, **extra),
            headers=self.linked.headers,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def start(self, source: str, target: str, **extra: Any) -> dict[str, Any]:
        response = self.linked.client.post(
            "/api/v1/canonical/promote",
            json=self.request(source, target, dry_run=False, **extra),
            headers=self.linked.headers,
        )
        assert response.status_code == 202, response.text
        return dict(response.json())

    def promotion(self, promotion_id: str) -> dict[str, Any]:
        response = self.linked.client.get(
            f"/api/v1/promotions/{promotion_id}", headers=self.linked.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def promotions_count(self) -> int:
        with transaction(self.linked.e.runtime.sessions) as session:
            return len(list(session.scalars(select(Promotion.id))))

    def mapping(self, slug: str, where: str) -> WorkflowEnvMap:
        canonical = self.linked.canonical(slug)
        with transaction(self.linked.e.runtime.sessions) as session:
            return session.scalars(
                select(WorkflowEnvMap).where(
                    WorkflowEnvMap.canonical_id == canonical.id,
                    WorkflowEnvMap.environment_id == self.env_id(where),
                )
            ).one()

    def n8n_get(self, where: str, n8n_id: str) -> dict[str, Any]:
        if where != "staging":
            return self.linked.get(where, n8n_id)
        assert self.staging is not None
        with admin_client(self.staging) as http:
            response = http.get(f"/workflows/{n8n_id}")
            response.raise_for_status()
            return dict(response.json())

    def sync(self, where: str) -> None:
        sync_environment(
            self.linked.e.runtime.sessions,
            self.linked.e.runtime.secrets,
            tenant_id=self.linked.e.tenant_id,
            environment_id=self.env_id(where),
        )


@pytest.fixture(scope="session")
def n8n_staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[N8nInstance]:
    instance = start_n8n(tmp_path_factory.mktemp("n8n-staging"))
    try:
        yield instance
    finally:
        _discard(instance)


@pytest.fixture
def promoting(linked: Linked) -> Promoting:  # noqa: F811 (the imported fixture)
    with transaction(linked.e.runtime.sessions) as session:
        for environment_id, order in ((linked.e.dev_id, 1), (linked.e.prod_id, 3)):
            session.execute(
                update(Environment)
                .where(Environment.id == environment_id)
                .values(promotion_order=order)
            )
    return Promoting(linked)


@pytest.fixture
def with_staging(promoting: Promoting, n8n_staging: N8nInstance, tmp_path: Path) -> Promoting:
    """`promoting` plus an empty staging (a third real n8n) at promotion order 2."""
    wipe(n8n_staging)
    e = promoting.linked.e
    with transaction(e.runtime.sessions) as session:
        staging = Environment(
            tenant_id=e.tenant_id,
            name="staging",
            base_url=n8n_staging.base_url,
            api_key=e.runtime.secrets.seal(n8n_staging.api_key),
            promotion_order=2,
        )
        session.add(staging)
        session.flush()
        promoting.staging_id = staging.id
    promoting.staging = n8n_staging
    promoting.sync("staging")
    return promoting
