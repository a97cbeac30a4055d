"""Workflow templates as the last repo sync read them from `<workflows_dir>/_templates/`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from canonflow.db.base import Base, created_at, tenant_fk, updated_at, uuid_pk
from canonflow.db.models import tenancy  # noqa: F401 (their tables: foreign keys)
from canonflow.db.types import JSONDocument


class WorkflowTemplate(Base):
    """Not a canonical workflow: never in the matrix, never deployed as it stands."""

    __tablename__ = "workflow_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "slug"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    #: [{name, description, default, required}], in the file's order
    parameters: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    #: the workflow, placeholders and all, without the `canonflow` key
    definition: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    git_file_path: Mapped[str] = mapped_column(String(1000))
    git_blob_id: Mapped[str] = mapped_column(String(64))
    git_commit: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
