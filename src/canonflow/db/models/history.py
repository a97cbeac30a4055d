"""Status events, the audit log and snapshots: what happened, who did it, what it replaced."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from canonflow.core.enums import SnapshotSide
from canonflow.core.status import MappingStatus
from canonflow.db.base import Base, created_at, enum_type, tenant_fk, uuid_pk
from canonflow.db.models import environments, tenancy, workflows  # noqa: F401 (their tables: foreign keys)
from canonflow.db.types import JSONDocument, utcnow


class StatusEvent(Base):
    __tablename__ = "status_events"
    __table_args__ = (Index(None, "tenant_id", "at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    mapping_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workflow_env_map.id", ondelete="SET NULL")
    )
    canonical_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("canonical_workflows.id", ondelete="SET NULL")
    )
    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE")
    )
    from_status: Mapped[MappingStatus | None] = mapped_column(
        enum_type(MappingStatus, "from_status")
    )
    to_status: Mapped[MappingStatus] = mapped_column(enum_type(MappingStatus, "to_status"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class StateChange(Base):
    """A cell's recorded state changed (DESIGN section 2): the timeline that per-workflow
    history and the drift trend read. `from_state` is None when the mapping first appears;
    `since` is when the mapping entered `from_state` (the previous change), so a time to
    sync is `at - since` without a window function."""

    __tablename__ = "state_changes"
    __table_args__ = (
        # The drift trend: a tenant's changes in a window of time, every column the trend
        # reads in the index (an index-only scan: bench/README.md, drift_trend).
        Index(
            "ix_state_changes_trend",
            "tenant_id",
            "at",
            "environment_id",
            "from_state",
            "to_state",
            "since",
        ),
        # Per-workflow history.
        Index("ix_state_changes_tenant_canonical_at", "tenant_id", "canonical_id", "at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    mapping_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workflow_env_map.id", ondelete="SET NULL")
    )
    canonical_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("canonical_workflows.id", ondelete="SET NULL")
    )
    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE")
    )
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    cause: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    since: Mapped[datetime | None]


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "tenant_id", "at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    actor_token_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="SET NULL")
    )
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str | None] = mapped_column(String(100))
    target_id: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Snapshot(Base):
    """What an overwrite replaced: restorable."""

    __tablename__ = "snapshots"
    __table_args__ = (
        Index(None, "tenant_id", "created_at"),
        Index("ix_snapshots_tenant_mapping", "tenant_id", "mapping_id"),
        Index("ix_snapshots_tenant_canonical", "tenant_id", "canonical_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    side: Mapped[SnapshotSide] = mapped_column(enum_type(SnapshotSide, "snapshot_side"))
    mapping_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workflow_env_map.id", ondelete="SET NULL")
    )
    canonical_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("canonical_workflows.id", ondelete="SET NULL")
    )
    environment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("environments.id", ondelete="SET NULL")
    )
    workflow: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    content_hash: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()
