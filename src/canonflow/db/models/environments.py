"""n8n environments, the Git repository, and per-environment credential bindings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from canonflow.core.enums import CommitMode, EnvironmentKind, ForgeProvider
from canonflow.crypto import Sealed
from canonflow.db.base import Base, created_at, enum_type, tenant_fk, updated_at, uuid_pk
from canonflow.db.models import tenancy  # noqa: F401 (their tables: foreign keys)
from canonflow.db.types import JSONDocument, SealedSecret


class Environment(Base):
    __tablename__ = "environments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        # At most one anchor per tenant.
        Index(
            "uq_environments_one_anchor_per_tenant",
            "tenant_id",
            unique=True,
            sqlite_where=text("is_anchor"),
            postgresql_where=text("is_anchor"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[EnvironmentKind] = mapped_column(
        enum_type(EnvironmentKind, "environment_kind"), default=EnvironmentKind.OTHER
    )
    base_url: Mapped[str] = mapped_column(String(2000))
    api_key: Mapped[Sealed] = mapped_column(SealedSecret)
    is_anchor: Mapped[bool] = mapped_column(default=False)
    # the schedule: a sync every `sync_interval_s` (0: manual only), at the environment's
    # phase; `next_sync_at` is set by the scheduler tick (canonflow.schedule)
    sync_interval_s: Mapped[int] = mapped_column(default=3600)
    paused: Mapped[bool] = mapped_column(default=False)
    next_sync_at: Mapped[datetime | None] = mapped_column(index=True)
    batch_size: Mapped[int] = mapped_column(default=100)
    last_synced_at: Mapped[datetime | None]
    # The n8n major version (1 or 2) its last sync found: from the client's flavour, or
    # inferred from the listing (2.x items carry `nodeGroups`); None until known.
    n8n_major: Mapped[int | None]
    # Where it stands in promotion (dev 1 -> staging 2 -> prod 3): a promotion goes from a
    # lower order to a higher one; None: not promoted from or to
    promotion_order: Mapped[int | None]
    # governance: writes into a protected environment need another admin's approval (and
    # only Git's versions go in); `sync_windows` allow or deny writes by time
    # ([{kind, cron, duration_s, timezone}], canonflow.core.windows)
    protected: Mapped[bool] = mapped_column(default=False)
    sync_windows: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class GitRepository(Base):
    __tablename__ = "git_repositories"

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), unique=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    branch: Mapped[str] = mapped_column(String(255), default="main")
    workflows_dir: Mapped[str] = mapped_column(String(500), default="workflows")
    auth_secret: Mapped[Sealed | None] = mapped_column(SealedSecret)
    last_synced_commit: Mapped[str | None] = mapped_column(String(64))
    last_synced_at: Mapped[datetime | None]
    sync_interval_s: Mapped[int] = mapped_column(default=3600)  # 0: manual only
    paused: Mapped[bool] = mapped_column(default=False)
    next_sync_at: Mapped[datetime | None] = mapped_column(index=True)
    # Where pull requests are opened (onboarding, env_wins); NONE: the pushed branch is all.
    forge_provider: Mapped[ForgeProvider] = mapped_column(
        enum_type(ForgeProvider, "forge_provider"), default=ForgeProvider.NONE
    )
    forge_api_url: Mapped[str | None] = mapped_column(String(2000))
    forge_repository: Mapped[str | None] = mapped_column(String(300))  # "owner/name"
    forge_token: Mapped[Sealed | None] = mapped_column(SealedSecret)
    commit_mode: Mapped[CommitMode] = mapped_column(
        enum_type(CommitMode, "commit_mode"), default=CommitMode.PULL_REQUEST
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class CredentialBinding(Base):
    """The explicit answer where one credential name does not exist in every environment."""

    __tablename__ = "credential_bindings"
    __table_args__ = (UniqueConstraint("environment_id", "credential_type", "logical_name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE")
    )
    credential_type: Mapped[str] = mapped_column(String(200))
    logical_name: Mapped[str] = mapped_column(String(500))
    n8n_credential_id: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
