"""Leases: named locks that work across processes on SQLite and PostgreSQL alike."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from canonflow.db.base import Base
from canonflow.db.models import tenancy  # noqa: F401 (their tables: foreign keys)


class Lease(Base):
    """Held by `owner` until `expires_at`; a crashed holder's lease simply expires."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    # none for a lease of the whole installation (the scheduler tick's)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE")
    )
    owner: Mapped[str] = mapped_column(String(100))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]
