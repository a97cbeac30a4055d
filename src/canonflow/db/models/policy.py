"""A tenant's policies: ignore rules (docs/ignore-rules.md)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from canonflow.db.base import Base, created_at, tenant_fk, uuid_pk
from canonflow.db.models import tenancy  # noqa: F401 (their tables: foreign keys)
from canonflow.db.types import JSONDocument


class IgnoreRuleEntry(Base):
    """One ignore rule: a path left out of the comparison of a workflow's two sides,
    optionally narrowed to workflow slug globs and environment ids (empty lists: all)."""

    __tablename__ = "ignore_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "position"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    position: Mapped[int]
    path: Mapped[str] = mapped_column(String(500))
    workflows: Mapped[list[str]] = mapped_column(JSONDocument)
    environments: Mapped[list[str]] = mapped_column(JSONDocument)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
