"""Background jobs and sync runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from canonflow.core.enums import JobStatus, SyncKind
from canonflow.db.base import Base, created_at, enum_type, tenant_fk, uuid_pk
from canonflow.db.models import environments, tenancy  # noqa: F401 (their tables: foreign keys)
from canonflow.db.types import JSONDocument, utcnow


class BackgroundJob(Base):
    __tablename__ = "background_jobs"
    __table_args__ = (
        Index(None, "tenant_id", "created_at"),
        Index(None, "status", "priority", "created_at"),
        # covers the metrics scrape's jobs by type and status (count, oldest) without the rows
        Index(None, "type", "status", "created_at"),
        # at most one job per queueing key waits (the engine's own rule, on both backends)
        Index(
            "uq_background_jobs_queueing_key_queued",
            "queueing_key",
            unique=True,
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    type: Mapped[str] = mapped_column(String(100))
    origin: Mapped[str] = mapped_column(String(20), default="interactive")
    queue: Mapped[str] = mapped_column(String(50), default="default")
    priority: Mapped[int] = mapped_column(default=0)
    lock_key: Mapped[str | None] = mapped_column(String(300))
    queueing_key: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(default=0)
    heartbeat_at: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(String(200))
    abort_requested: Mapped[bool] = mapped_column(default=False)
    engine_job_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[JobStatus] = mapped_column(
        enum_type(JobStatus, "job_status"), default=JobStatus.QUEUED
    )
    params: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_token_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (
        Index(None, "tenant_id", "started_at"),
        Index(None, "environment_id", "started_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    kind: Mapped[SyncKind] = mapped_column(enum_type(SyncKind, "sync_kind"))
    environment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE")
    )
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("background_jobs.id", ondelete="SET NULL")
    )
    complete: Mapped[bool] = mapped_column(default=False)
    seen: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    missing: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
