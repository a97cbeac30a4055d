"""Factory functions with keyword overrides. They flush; the test decides when to commit."""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy.orm import Session

from canonflow.core.enums import Role
from canonflow.crypto import SecretBox
from canonflow.db.models import Environment, Tenant
from canonflow.tenancy import service


class _Instance(Protocol):
    @property
    def base_url(self) -> str: ...
    @property
    def api_key(self) -> str: ...


def make_tenant(session: Session, *, slug: str | None = None, name: str | None = None) -> Tenant:
    return service.create_tenant(session, slug=slug or f"team-{uuid.uuid4().hex[:8]}", name=name)


def make_token(
    session: Session, tenant: Tenant, *, role: Role = Role.ADMIN, name: str = "test"
) -> str:
    return service.issue_token(session, tenant=tenant, role=role, name=name, actor="test").secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_prod_and_dev(
    session: Session, secrets: SecretBox, tenant_id: uuid.UUID, prod: _Instance, dev: _Instance
) -> tuple[Environment, Environment]:
    """Environments `prod` (the anchor) and `dev` on two n8n instances, flushed."""
    environments = [
        Environment(
            tenant_id=tenant_id,
            name=name,
            base_url=instance.base_url,
            api_key=secrets.seal(instance.api_key),
            is_anchor=name == "prod",
        )
        for name, instance in (("prod", prod), ("dev", dev))
    ]
    session.add_all(environments)
    session.flush()
    return environments[0], environments[1]
