"""Canonical workflows (the Git-backed truth) and their per-environment mappings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from canonflow.core.enums import WorkflowProvider
from canonflow.core.status import MappingStatus
from canonflow.db.base import Base, created_at, enum_type, tenant_fk, updated_at, uuid_pk
from canonflow.db.models import environments, tenancy  # noqa: F401 (their tables: foreign keys)
from canonflow.db.types import JSONDocument, utcnow

HASH_LENGTH = 80  # "v1:" + 64 hex digits, with room for a longer version prefix


class CanonicalWorkflow(Base):
    __tablename__ = "canonical_workflows"
    __table_args__ = (
        UniqueConstraint("tenant_id", "canonical_slug"),
        UniqueConstraint("tenant_id", "git_file_path"),
        # The matrix: a tenant's canonical workflows in name order, one keyset page at a time.
        Index("ix_canonical_workflows_tenant_name_id", "tenant_id", "name", "id"),
        # The summary's `absent`: a tenant's live canonical workflows counted, index only.
        Index(
            "ix_canonical_workflows_tenant_live",
            "tenant_id",
            sqlite_where=text("is_deleted IS 0"),
            postgresql_where=text("is_deleted IS FALSE"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    canonical_slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    hash_version: Mapped[int] = mapped_column(default=1)
    workflow_definition: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    git_file_path: Mapped[str | None] = mapped_column(String(1000))
    git_commit: Mapped[str | None] = mapped_column(String(64))
    git_blob_id: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[WorkflowProvider] = mapped_column(
        enum_type(WorkflowProvider, "workflow_provider"), default=WorkflowProvider.N8N
    )
    is_deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class WorkflowEnvMap(Base):
    """One n8n workflow in one environment, linked to a canonical workflow or not."""

    __tablename__ = "workflow_env_map"
    __table_args__ = (
        UniqueConstraint("environment_id", "n8n_workflow_id"),
        # A canonical workflow has at most one instance per environment.
        Index(
            "uq_workflow_env_map_canonical_environment",
            "canonical_id",
            "environment_id",
            unique=True,
            sqlite_where=text("canonical_id IS NOT NULL"),
            postgresql_where=text("canonical_id IS NOT NULL"),
        ),
        # The untracked listing: a tenant's unlinked mappings in name order (keyset pages).
        Index(
            "ix_workflow_env_map_unlinked_by_name",
            "tenant_id",
            "workflow_name",
            "id",
            sqlite_where=text("canonical_id IS NULL"),
            postgresql_where=text("canonical_id IS NULL"),
        ),
        # The drift trend's counts of today: per environment and recorded state, index only.
        Index(
            "ix_workflow_env_map_tenant_env_state", "tenant_id", "environment_id", "derived_state"
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    canonical_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("canonical_workflows.id", ondelete="RESTRICT")
    )
    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE")
    )
    n8n_workflow_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[MappingStatus] = mapped_column(enum_type(MappingStatus, "mapping_status"))
    env_content_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    git_content_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    base_content_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    n8n_updated_at: Mapped[datetime | None]
    workflow_name: Mapped[str | None] = mapped_column(String(500))
    workflow_data: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    # The version of the rules `env_content_hash` was made with (None: no hash): a sync
    # hashes a workflow again when it is older than the current rules.
    env_hash_version: Mapped[int | None]
    # Whether the last complete sync listed the workflow: a fact kept whatever the status
    # (an ignored mapping is still present or not; un-ignoring it asks).
    present: Mapped[bool] = mapped_column(default=True)
    # n8n 2.x: while an active workflow runs a published version other than its draft,
    # `env_content_hash` is the published version's and this the draft's (None when no
    # draft differs; docs/drift-on-n8n-2x.md). `n8n_active` and `n8n_active_version_id`
    # are as last listed: publishing moves no `updatedAt`, so a sync compares them too.
    n8n_draft_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    n8n_active: Mapped[bool | None]
    n8n_active_version_id: Mapped[str | None] = mapped_column(String(100))
    # The canonical workflow this mapping held until a recreated workflow took its place
    # (DESIGN section 3): it let go of it, and keeps saying which one it was.
    released_canonical_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("canonical_workflows.id", ondelete="SET NULL")
    )
    is_deleted: Mapped[bool] = mapped_column(default=False)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The cell's state as last recorded in `state_changes` (the derived state of a linked
    # mapping, else its stored status) and since when: written only by
    # `canonflow.catalogue.states.record_state_changes`, never by hand.
    derived_state: Mapped[str | None] = mapped_column(String(20))
    # Ignore rules (docs/ignore-rules.md): the fingerprint of the rules that apply to this
    # cell (None: none does, the raw hashes decide) and the hashes of its env and Git
    # documents and of its base with the ignored paths left out; `ignored_inputs` says what
    # they were computed from (the tenant's rule list and the raw hashes), so that only
    # cells whose inputs changed are computed again. Written only by
    # `canonflow.catalogue.effective.refresh`.
    ignore_fingerprint: Mapped[str | None] = mapped_column(String(50))
    env_ignored_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    git_ignored_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    base_ignored_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    ignored_inputs: Mapped[str | None] = mapped_column(String(400))
    derived_state_at: Mapped[datetime | None]
    # What the cell is counted as in `summary_counts` besides `derived_state` (None: not
    # counted, as long as `derived_state` is None): whether it holds a live canonical
    # workflow (the summary's `absent` leaves it out) and whether it is a linked cell with a
    # pending draft. Written with `derived_state`, only by `record_state_changes`.
    counted_holds: Mapped[bool | None]
    counted_draft: Mapped[bool | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class SummaryCount(Base):
    """How many cells of an environment are in a state (as `derived_state` records it),
    holding a live canonical workflow or not, with a pending draft or not: the matrix
    summary, kept by `record_state_changes` in the transaction that changes the cells
    (`canonflow.matrix.counts`). One row per key and environment, so syncs of two
    environments never update the same row."""

    __tablename__ = "summary_counts"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    environment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(20), primary_key=True)
    holds_canonical: Mapped[bool] = mapped_column(primary_key=True)
    draft_pending: Mapped[bool] = mapped_column(primary_key=True)
    n: Mapped[int]
