"""Approvals: a write into a protected environment, stored until another admin decides."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from canonflow.db.base import Base, enum_type, tenant_fk, uuid_pk
from canonflow.db.models import tenancy  # noqa: F401 (their tables: foreign keys)
from canonflow.db.types import JSONDocument, utcnow


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # rejected by the requester: withdrawn


class Approval(Base):
    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_tenant_status_requested", "tenant_id", "status",
                            "requested_at", "id"),)  # fmt: skip

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    kind: Mapped[str] = mapped_column(String(40))  # the starter: governance.starters
    status: Mapped[ApprovalStatus] = mapped_column(
        enum_type(ApprovalStatus, "approval_status"), default=ApprovalStatus.PENDING
    )
    summary: Mapped[str] = mapped_column(Text)
    #: everything the starter needs to start the write later (items with expected hashes)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    environment_ids: Mapped[list[str]] = mapped_column(JSONDocument)
    requested_by_token_id: Mapped[uuid.UUID | None]
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_token_id: Mapped[uuid.UUID | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[uuid.UUID | None]
