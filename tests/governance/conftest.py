"""Fixtures for governance: the reconcile estate (real n8n prod and dev, a real Git remote)
with two admin tokens beside its operator token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.db.models import AuditEntry, Tenant
from tests.factories import bearer, make_token
from tests.onboarding.conftest import estate  # noqa: F401 (a fixture)
from tests.reconcile.conftest import Linked, linked  # noqa: F401 (a fixture)


@dataclass
class Governed:
    linked: Linked
    operator: dict[str, str]
    admin_a: dict[str, str]
    admin_b: dict[str, str]

    def post(self, path: str, headers: dict[str, str], body: Any = None) -> Any:
        return self.linked.client.post(f"/api/v1{path}", json=body, headers=headers)

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        return self.linked.client.get(
            f"/api/v1{path}", params=params, headers=headers or self.operator
        )

    def patch_env(self, where: str, body: dict[str, Any]) -> Any:
        env_id = self.linked.env_id(where)
        return self.linked.client.patch(
            f"/api/v1/environments/{env_id}", json=body, headers=self.admin_a
        )

    def deploy(self, slug: str, where: str, headers: dict[str, str], **extra: Any) -> Any:
        canonical = self.linked.canonical(slug)
        body = {"environment_id": str(self.linked.env_id(where)), **extra}
        return self.post(f"/canonical/workflows/{canonical.id}/deploy", headers, body)

    def audit(self, action: str) -> list[AuditEntry]:
        with transaction(self.linked.e.runtime.sessions) as session:
            return list(
                session.scalars(
                    select(AuditEntry).where(
                        AuditEntry.tenant_id == self.linked.e.tenant_id,
                        AuditEntry.action == action,
                    )
                )
            )


@pytest.fixture
def governed(linked: Linked) -> Governed:  # noqa: F811 (the imported fixture)
    with transaction(linked.e.runtime.sessions) as session:
        tenant = session.get(Tenant, linked.e.tenant_id)
        assert tenant is not None
        admin_a = bearer(make_token(session, tenant, role=Role.ADMIN, name="alice"))
        admin_b = bearer(make_token(session, tenant, role=Role.ADMIN, name="bob"))
    return Governed(linked, linked.headers, admin_a, admin_b)
