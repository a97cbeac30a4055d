"""First start: a default tenant and an admin token, shown once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from canonflow.core.enums import Role
from canonflow.tenancy import repository, service

DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class FirstStart:
    tenant_slug: str
    admin_token: str


def ensure_first_tenant(session: Session) -> FirstStart | None:
    """Create the default tenant and an admin token when the database has no tenant yet.

    Returns the token only that one time; later starts return None and print nothing.
    """
    if repository.any_tenant_exists(session):
        return None
    tenant = service.create_tenant(session, slug=DEFAULT_TENANT, name="Default")
    issued = service.issue_token(
        session, tenant=tenant, role=Role.ADMIN, name="bootstrap admin", actor="system:first-start"
    )
    return FirstStart(tenant_slug=tenant.slug, admin_token=issued.secret)
