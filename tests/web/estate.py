"""An overlapping estate for the untracked page and the onboarding wizard: tenant "acme"
(the `tokens` fixture's) with prod (the anchor) and dev on two real n8n instances, a
repository on a real bare Git remote, and the local stand-in forge (no hosted forge can
run here) for the migration pull request.

Prod: Customer Onboarding, Invoice Sync, Dup Name (twice, different content), Report A and
Report B (one body under two names), Prod Only. Dev: Customer Onboarding (same), Invoice
Sync (dev copy) (same body, renamed), Dup Name (a third content: its name matches two
canonical workflows), Report C (the Report body again: it matches two bodies), Dev Only.
After the inventory, dev's Dup Name, Report C and Dev Only stay untracked, each for its
own reason."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from canonflow.core.enums import ForgeProvider, Role
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant, WorkflowEnvMap
from canonflow.repo import service as repositories
from canonflow.repo.schemas import ForgeSettings, RepositoryPut
from canonflow.runtime import Runtime
from canonflow.tenancy.service import Principal
from tests.factories import add_prod_and_dev
from tests.support.forge_server import FakeForge
from tests.support.git_remotes import make_bare_remote
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import admin_client, make_workflow
from tests.web.conftest import Tokens

UNTRACKED_IN_DEV = ("Dev Only", "Dup Name", "Report C")


@dataclass
class AcmeEstate:
    runtime: Runtime
    tenant_id: uuid.UUID
    prod_id: uuid.UUID
    dev_id: uuid.UUID
    forge: FakeForge
    cache_root: Path

    @property
    def principal(self) -> Principal:
        return Principal(self.tenant_id, "acme", None, "tester", Role.ADMIN)

    def mapping(self, environment_id: uuid.UUID, name: str) -> WorkflowEnvMap:
        with transaction(self.runtime.sessions) as session:
            row = session.scalars(
                select(WorkflowEnvMap).where(
                    WorkflowEnvMap.environment_id == environment_id,
                    WorkflowEnvMap.workflow_name == name,
                )
            ).one()
            session.expunge(row)
            return row


def _create(instance: N8nInstance, body: dict[str, Any]) -> None:
    with admin_client(instance) as http:
        http.post("/workflows", json=body).raise_for_status()


@pytest.fixture
def acme_estate(
    runtime: Runtime,
    tokens: Tokens,
    clean_n8n_prod: N8nInstance,
    clean_n8n_dev: N8nInstance,
    tmp_path: Path,
) -> Iterator[AcmeEstate]:
    onboarding, invoice = make_workflow("Customer Onboarding", 5), make_workflow("Invoice Sync", 4)
    report = make_workflow("Report A", 6)
    prod = [
        onboarding,
        invoice,
        make_workflow("Dup Name", 3),
        make_workflow("Dup Name", 7),
        report,
        report | {"name": "Report B"},
        make_workflow("Prod Only", 2),
    ]
    dev = [
        onboarding,
        invoice | {"name": "Invoice Sync (dev copy)"},
        make_workflow("Dup Name", 8),
        report | {"name": "Report C"},
        make_workflow("Dev Only", 2),
    ]
    for body in prod:
        _create(clean_n8n_prod, body)
    for body in dev:
        _create(clean_n8n_dev, body)
    remote = make_bare_remote(tmp_path / "remotes")
    with FakeForge(ForgeProvider.GITHUB) as forge:
        with transaction(runtime.sessions) as session:
            tenant = session.scalars(select(Tenant).where(Tenant.slug == tokens.tenant_slug)).one()
            environments = add_prod_and_dev(
                session, runtime.secrets, tenant.id, clean_n8n_prod, clean_n8n_dev
            )
            principal = Principal(tenant.id, tenant.slug, None, "tester", Role.ADMIN)
            forge_settings = ForgeSettings(
                provider=forge.provider,
                api_url=forge.api_url,
                repository="team/workflows",
                token=forge.token,
            )
            repositories.put(
                session,
                runtime.secrets,
                principal,
                RepositoryPut(url=f"file://{remote}", branch="main", forge=forge_settings),
            )
            ids = (tenant.id, environments[0].id, environments[1].id)
        yield AcmeEstate(runtime, *ids, forge, runtime.settings.resolved_git_cache_dir)
