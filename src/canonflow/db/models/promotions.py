"""Promotions: one environment's versions of some workflows made Git's, then deployed to
another environment (canonflow.promotion)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from canonflow.db.base import Base, created_at, tenant_fk, uuid_pk
from canonflow.db.models import environments, tenancy  # noqa: F401 (their tables: foreign keys)
from canonflow.db.types import JSONDocument


class Promotion(Base):
    """`state`: queued | committing | waiting_for_merge | deploying | succeeded | failed |
    cancelled. `items`: the planned workflows ({canonical_id, slug, source_hash, ...});
    `results`: per workflow, what the commit and the deploy did."""

    __tablename__ = "promotions"
    __table_args__ = (
        Index(None, "tenant_id", "created_at"),
        Index(None, "tenant_id", "state"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    from_environment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("environments.id", ondelete="SET NULL")
    )
    to_environment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("environments.id", ondelete="SET NULL")
    )
    from_environment: Mapped[str] = mapped_column(String(100))
    to_environment: Mapped[str] = mapped_column(String(100))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    state: Mapped[str] = mapped_column(String(32), default="queued")
    branch: Mapped[str | None] = mapped_column(String(255))
    commit: Mapped[str | None] = mapped_column(String(64))
    pr_url: Mapped[str | None] = mapped_column(String(2000))
    pr_number: Mapped[int | None]
    job_ids: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    results: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    detail: Mapped[str | None] = mapped_column(String(2000))
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_by_token_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    finished_at: Mapped[datetime | None]
