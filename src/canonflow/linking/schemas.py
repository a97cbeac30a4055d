"""Representations of the untracked list and of linking."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from canonflow.core.status import MappingStatus


class UntrackedItem(BaseModel):
    mapping_id: uuid.UUID
    environment_id: uuid.UUID
    environment_name: str
    n8n_workflow_id: str
    name: str | None
    status: MappingStatus
    env_content_hash: str | None
    n8n_updated_at: datetime | None


class UntrackedPage(BaseModel):
    items: list[UntrackedItem]
    next_cursor: str | None


class LinkBody(BaseModel):
    """Link to `canonical_id`, or set `create_canonical` to make a canonical from the
    workflow (with `slug`, or one from its name)."""

    model_config = ConfigDict(extra="forbid")

    mapping_id: uuid.UUID
    canonical_id: uuid.UUID | None = None
    create_canonical: bool = False
    slug: str | None = Field(default=None, min_length=1, max_length=80)

    @model_validator(mode="after")
    def _one_target(self) -> LinkBody:
        if (self.canonical_id is None) == (not self.create_canonical):
            raise ValueError("give exactly one of canonical_id and create_canonical: true")
        if self.slug is not None and not self.create_canonical:
            raise ValueError("slug goes with create_canonical: true")
        return self


class LinkResult(BaseModel):
    mapping_id: uuid.UUID
    canonical_id: uuid.UUID
    created_canonical: bool
    status: MappingStatus


class BulkLinkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[LinkBody] = Field(min_length=1, max_length=1000)


class BulkLinkItem(BaseModel):
    mapping_id: uuid.UUID
    result: Literal["linked", "error"]
    canonical_id: uuid.UUID | None = None
    created_canonical: bool = False
    error: str | None = None
    error_code: str | None = None


class BulkLinkResult(BaseModel):
    linked: int
    failed: int
    items: list[BulkLinkItem]


class MappingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    environment_id: uuid.UUID
    n8n_workflow_id: str
    canonical_id: uuid.UUID | None
    status: MappingStatus
    workflow_name: str | None
    is_deleted: bool
