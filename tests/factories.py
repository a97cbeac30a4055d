"""Factory functions with keyword overrides. They flush; the test decides when to commit."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from canonflow.core.enums import Role
from canonflow.db.models import Tenant
from canonflow.tenancy import service


def make_tenant(session: Session, *, slug: str | None = None, name: str | None = None) -> Tenant:
    return service.create_tenant(session, slug=slug or f"team-{uuid.uuid4().hex[:8]}", name=name)


def make_token(
    session: Session, tenant: Tenant, *, role: Role = Role.ADMIN, name: str = "test"
) -> str:
    return service.issue_token(session, tenant=tenant, role=role, name=name, actor="test").secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
