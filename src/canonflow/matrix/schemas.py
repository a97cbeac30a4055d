"""The matrix's documented shapes (for the OpenAPI docs; responses are built with orjson)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class MatrixCell(BaseModel):
    status: str  # linked | untracked | missing | ignored | deleted | absent
    # in_sync | draft_pending | drift | out_of_date | conflict | unknown | orphaned (linked only)
    state: str | None
    synced: bool
    mapping_id: uuid.UUID | None = None
    env_hash: str | None = None
    git_hash: str | None = None
    base_hash: str | None = None
    n8n_updated_at: datetime | None = None
    # n8n 2.x: the environment runs a published version and holds another draft (the
    # hashes above are of what it runs; draft_hash is the draft's). True on any state.
    draft_pending: bool = False
    draft_hash: str | None = None


class MatrixRow(BaseModel):
    canonical_id: uuid.UUID
    name: str
    slug: str
    deleted_in_git: bool  # shown while it has linked (orphaned) copies in n8n
    environments: dict[str, MatrixCell]


class MatrixEnvironmentRead(BaseModel):
    id: uuid.UUID
    name: str


class MatrixPageRead(BaseModel):
    workflows: list[MatrixRow]
    environments: list[MatrixEnvironmentRead]
    next_cursor: str | None


class MatrixSummaryEnvironment(BaseModel):
    id: uuid.UUID
    name: str
    statuses: dict[str, int]
    states: dict[str, int]
    drafts_pending: int = 0  # linked cells holding a draft n8n does not run, any state


class MatrixSummaryRead(BaseModel):
    environments: list[MatrixSummaryEnvironment]
