"""Queries for tenants and tokens."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from canonflow.db.models import ApiToken, Tenant
from canonflow.tenancy.principal_cache import REVOKED_CHANNEL


def get_tenant_by_slug(session: Session, slug: str) -> Tenant | None:
    return session.scalars(select(Tenant).where(Tenant.slug == slug)).one_or_none()


def list_tenants(session: Session) -> list[Tenant]:
    return list(session.scalars(select(Tenant).order_by(Tenant.slug)))


def any_tenant_exists(session: Session) -> bool:
    return session.scalars(select(Tenant.id).limit(1)).first() is not None


def get_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).one_or_none()


def token_and_tenant_by_hash(session: Session, token_hash: str) -> Any | None:
    """The token's fields and its tenant's, in one query (every request asks)."""
    return session.execute(_BY_HASH, {"token_hash": token_hash}).one_or_none()


def token_and_tenant_by_id(
    session: Session, tenant_id: uuid.UUID, token_id: uuid.UUID
) -> Any | None:
    """The same fields for a token known by id (a UI session names its token by id)."""
    return session.execute(
        _token_and_tenant().where(ApiToken.tenant_id == tenant_id, ApiToken.id == token_id)
    ).one_or_none()


def token_tenant_and_environments(session: Session, token_hash: str) -> list[Any]:
    """The token's and its tenant's fields with each of the tenant's environments (id and
    name, by name; one row with NULLs for a tenant without any), in one round trip: the
    matrix endpoints want both on every request."""
    return list(session.execute(_with_environments(), {"token_hash": token_hash}))


def _token_and_tenant() -> Any:
    return select(
        ApiToken.id.label("token_id"),
        ApiToken.name,
        ApiToken.role,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        Tenant.id.label("tenant_id"),
        Tenant.slug.label("tenant_slug"),
    ).join(Tenant, Tenant.id == ApiToken.tenant_id)


_BY_HASH = _token_and_tenant().where(ApiToken.token_hash == bindparam("token_hash"))


@functools.cache
def _with_environments() -> Any:
    """Built once, on first use (building the construct costs more than running it; a CLI
    command that reads tokens does not map the environments' table)."""
    from canonflow.db.models import Environment

    return (
        _token_and_tenant()
        .add_columns(Environment.id.label("environment_id"), Environment.name.label("environment"))
        .outerjoin(Environment, Environment.tenant_id == ApiToken.tenant_id)
        .where(ApiToken.token_hash == bindparam("token_hash"))
        .order_by(Environment.name)
    )


def announce_revoked(session: Session, token_hash: str) -> None:
    """PostgreSQL: tell every listening process, when this transaction commits, that the
    token is revoked (see `principal_cache`). SQLite keeps no cache to tell."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(REVOKED_CHANNEL, token_hash)))


def touch_token(session: Session, token_id: uuid.UUID, at: datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at))


def get_token(session: Session, tenant_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken | None:
    return session.scalars(
        select(ApiToken).where(ApiToken.tenant_id == tenant_id, ApiToken.id == token_id)
    ).one_or_none()


def list_tokens(session: Session, tenant_id: uuid.UUID) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.tenant_id == tenant_id).order_by(ApiToken.created_at)
        )
    )
