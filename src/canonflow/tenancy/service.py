"""Tenant and token flows. Services flush; the caller commits."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from canonflow import audit
from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.db.models import ApiToken, Tenant
from canonflow.db.types import utcnow
from canonflow.errors import Conflict, Invalid, NotFound, Unauthorized
from canonflow.tenancy import principal_cache, repository
from canonflow.tenancy.tokens import generate_token, hash_token

_TENANT_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token of a tenant with a role."""

    tenant_id: uuid.UUID
    tenant_slug: str
    token_id: uuid.UUID | None
    name: str
    role: Role
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token. `secret` exists only here: it is stored as a hash."""

    token: ApiToken
    secret: str


def create_tenant(session: Session, *, slug: str, name: str | None = None) -> Tenant:
    slug = slug.strip().lower()
    if not _TENANT_SLUG.match(slug):
        raise Invalid(
            f"invalid tenant name {slug!r}: use 1-80 lowercase letters, digits and '-', "
            "starting with a letter or digit"
        )
    if repository.get_tenant_by_slug(session, slug) is not None:
        raise Conflict(f"tenant {slug!r} already exists")
    tenant = Tenant(slug=slug, name=name or slug, entitlements={})
    session.add(tenant)
    session.flush()
    return tenant


def get_tenant_or_raise(session: Session, slug: str) -> Tenant:
    tenant = repository.get_tenant_by_slug(session, slug)
    if tenant is None:
        raise NotFound(f"no tenant named {slug!r}")
    return tenant


def issue_token(
    session: Session, *, tenant: Tenant, role: Role, name: str, actor: str
) -> IssuedToken:
    secret = generate_token()
    token = ApiToken(tenant_id=tenant.id, name=name, role=role, token_hash=hash_token(secret))
    session.add(token)
    session.flush()
    audit.record(
        session,
        tenant_id=tenant.id,
        actor=actor,
        action="token.create",
        target_type="api_token",
        target_id=str(token.id),
        details={"role": role.value, "name": name},
    )
    return IssuedToken(token=token, secret=secret)


def revoke_token(session: Session, *, tenant: Tenant, token_id: uuid.UUID, actor: str) -> ApiToken:
    token = repository.get_token(session, tenant.id, token_id)
    if token is None:
        raise NotFound(f"no token {token_id} in tenant {tenant.slug!r}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        principal_cache.forget_everywhere(token.token_hash)
        repository.announce_revoked(session, token.token_hash)
        audit.record(
            session,
            tenant_id=tenant.id,
            actor=actor,
            action="token.revoke",
            target_type="api_token",
            target_id=str(token.id),
        )
    session.flush()
    return token


def authenticate(session: Session, secret: str) -> Principal:
    """The principal behind a bearer token; `Unauthorized` for an unknown or revoked one.
    Only reads: the use is recorded by `record_use`, in a transaction of its own."""
    return _principal(repository.token_and_tenant_by_hash(session, hash_token(secret)))


def authenticate_with_environments(
    session: Session, secret: str
) -> tuple[Principal, list[tuple[uuid.UUID, str]]]:
    """The principal and its tenant's environments (id, name; by name), in one query."""
    rows = repository.token_tenant_and_environments(session, hash_token(secret))
    principal = _principal(rows[0] if rows else None)
    return principal, [(row.environment_id, row.environment) for row in rows if row.environment_id]


def authenticate_token_id(session: Session, tenant_id: uuid.UUID, token_id: uuid.UUID) -> Principal:
    """The principal behind a token named by id (a UI session): `Unauthorized` once the
    token is revoked or gone, so revoking a token ends its sessions on their next request."""
    return _principal(repository.token_and_tenant_by_id(session, tenant_id, token_id))


def _principal(found: Any) -> Principal:
    if found is None or found.revoked_at is not None:
        raise Unauthorized("invalid or revoked API token")
    return Principal(
        tenant_id=found.tenant_id,
        tenant_slug=found.tenant_slug,
        token_id=found.token_id,
        name=found.name,
        role=found.role,
        last_used_at=found.last_used_at,
    )


def record_use(factory: sessionmaker[Session], principal: Principal) -> Principal | None:
    """Set the token's `last_used_at`, at most once a minute, in its own short transaction:
    a request that only reads never writes (on SQLite it takes no write lock). Returns the
    principal as it now is when it wrote (for a cache to keep), else None."""
    now = utcnow()
    if principal.token_id is None:
        return None
    if principal.last_used_at is not None and now - principal.last_used_at <= LAST_USED_RESOLUTION:
        return None
    with transaction(factory) as session:
        repository.touch_token(session, principal.token_id, now)
    return replace(principal, last_used_at=now)
