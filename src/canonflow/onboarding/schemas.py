"""Representations of onboarding."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class PreflightRead(BaseModel):
    ready: bool
    errors: list[str]
    warnings: list[str]
    checked: list[str]


class PullRequestRead(BaseModel):
    provider: str
    branch: str
    commit: str
    files: int
    state: str
    url: str | None
    number: int | None
    opened_now: bool
    notes: list[str]


class AnchorRead(BaseModel):
    id: uuid.UUID | None
    name: str


class EnvironmentProgress(BaseModel):
    id: uuid.UUID
    name: str
    is_anchor: bool
    last_synced_at: datetime | None
    linked: int
    untracked: int
    untracked_sample: list[str | None]


class PullRequestState(BaseModel):
    branch: str
    commit: str | None
    url: str | None
    number: int | None
    state: str | None
    updated_at: datetime | None


class CompletionRead(BaseModel):
    status: str
    complete: bool
    onboarded_at: datetime | None
    anchor: AnchorRead | None
    inventory_job_id: uuid.UUID | None
    canonical_workflows: int
    environments: list[EnvironmentProgress]
    pull_request: PullRequestState | None
