"""Tenants and their API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from canonflow.core.enums import Role
from canonflow.db.base import Base, created_at, enum_type, tenant_fk, uuid_pk
from canonflow.db.types import JSONDocument


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(32), default="free")
    entitlements: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime] = created_at()


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    created_at: Mapped[datetime] = created_at()
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
