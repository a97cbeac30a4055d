"""Queries for tenants and tokens."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow.db.models import ApiToken, Tenant


def get_tenant_by_slug(session: Session, slug: str) -> Tenant | None:
    return session.scalars(select(Tenant).where(Tenant.slug == slug)).one_or_none()


def list_tenants(session: Session) -> list[Tenant]:
    return list(session.scalars(select(Tenant).order_by(Tenant.slug)))


def any_tenant_exists(session: Session) -> bool:
    return session.scalars(select(Tenant.id).limit(1)).first() is not None


def get_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).one_or_none()


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
