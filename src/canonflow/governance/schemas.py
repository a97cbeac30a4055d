"""Representations of approvals and of what gates a write."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from canonflow.db.models import ApprovalStatus
from canonflow.environments.windows import WindowRead


class EnvironmentGate(BaseModel):
    environment_id: uuid.UUID
    environment: str
    protected: bool = Field(description="a write into it waits for another admin's approval")
    window: WindowRead


class ApprovalPending(BaseModel):
    """202: the write is stored, waiting for an approval (nothing was written)."""

    approval_id: uuid.UUID
    status: str = "pending_approval"
    url: str
    waiting_for: str


class ApprovalRead(BaseModel):
    id: uuid.UUID
    kind: str
    status: ApprovalStatus
    summary: str
    environment_ids: list[uuid.UUID]
    environments: list[str] = Field(description="the environments the write goes into")
    waiting_for: str | None = Field(description="who must decide it (none once decided)")
    requested_by: str
    requested_by_token_id: uuid.UUID | None
    requested_at: datetime
    decided_by: str | None
    decided_by_token_id: uuid.UUID | None
    decided_at: datetime | None
    comment: str | None
    job_id: uuid.UUID | None
    items: int = Field(description="how many writes it holds")


class ApprovalPage(BaseModel):
    approvals: list[ApprovalRead]
    next_cursor: str | None


class ApprovalDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=2000)
    window_override: str | None = Field(
        default=None,
        max_length=500,
        description="approve: start the write though a sync window is closed (admin; a reason)",
    )
