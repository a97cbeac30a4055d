"""The record of a tenant's onboarding: which anchor, when, and its migration pull request."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from canonflow.db.base import Base, created_at, updated_at, uuid_pk
from canonflow.db.models import environments, tenancy  # noqa: F401 (their tables: foreign keys)
from canonflow.db.types import JSONDocument


class Onboarding(Base):
    """One per tenant, written when an inventory finishes; the PR fields when it is opened."""

    __tablename__ = "onboardings"

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), unique=True
    )
    anchor_environment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("environments.id", ondelete="SET NULL")
    )
    anchor_name: Mapped[str] = mapped_column(String(100))
    onboarded_at: Mapped[datetime]
    inventory_job_id: Mapped[uuid.UUID | None]
    summary: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    pr_branch: Mapped[str | None] = mapped_column(String(255))
    pr_commit: Mapped[str | None] = mapped_column(String(64))
    pr_url: Mapped[str | None] = mapped_column(String(2000))
    pr_number: Mapped[int | None]
    pr_state: Mapped[str | None] = mapped_column(String(16))  # open | closed | merged | pushed
    pr_updated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
