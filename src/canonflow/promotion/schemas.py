"""Representations of promotions: the request, its dry run, and the promotions applied."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PromotionState(StrEnum):
    QUEUED = "queued"
    COMMITTING = "committing"
    WAITING_FOR_MERGE = "waiting_for_merge"
    DEPLOYING = "deploying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset(
    {PromotionState.SUCCEEDED, PromotionState.FAILED, PromotionState.CANCELLED}
)


class PromotionRequest(BaseModel):
    """Promote the named workflows (`canonical_ids`), or every one that differs
    (`all_changed`), from one environment to a later one. A dry run (the default) plans;
    `dry_run: false` applies (202 + the promotion and its job)."""

    model_config = ConfigDict(extra="forbid")

    from_environment_id: uuid.UUID
    to_environment_id: uuid.UUID
    canonical_ids: list[uuid.UUID] | None = Field(default=None, max_length=10_000)
    all_changed: bool = False
    dry_run: bool = True
    window_override: str | None = Field(
        default=None,
        max_length=2000,
        description="An admin's reason to write outside the target's sync windows.",
    )

    @model_validator(mode="after")
    def _one_selection(self) -> PromotionRequest:
        if self.all_changed and self.canonical_ids is not None:
            raise ValueError("give canonical_ids or all_changed: true, not both")
        if not self.all_changed and not self.canonical_ids:
            raise ValueError("select workflows: canonical_ids (not empty) or all_changed: true")
        if self.from_environment_id == self.to_environment_id:
            raise ValueError("from_environment_id and to_environment_id are the same")
        return self


class PromotionBlocker(BaseModel):
    kind: str = Field(
        description="missing_credential, ambiguous_credential, unresolved_reference, "
        "invalid_definition, target_drift, source_behind_git, not_in_source, target_ignored, "
        "deleted_in_git"
    )
    detail: str


class PromotionPlanItem(BaseModel):
    canonical_id: uuid.UUID
    slug: str
    name: str
    included_because: str | None = Field(
        description="why a workflow not asked for is promoted: 'called by <slug>'"
    )
    source_mapping_id: uuid.UUID | None
    target_mapping_id: uuid.UUID | None
    source_hash: str | None
    git_hash: str | None
    target_hash: str | None
    commit: str = Field(description="the file committed, or 'already in Git'")
    deploy: Literal["create", "update", "none"]
    calls: list[str] = Field(description="the promoted workflows it calls, by slug")
    diff_summary: str
    diff: list[dict[str, str]] = Field(description="the semantic diff target -> source, lines")
    blockers: list[PromotionBlocker]


class PromotionPlanRead(BaseModel):
    from_environment_id: uuid.UUID
    to_environment_id: uuid.UUID
    from_environment: str
    to_environment: str
    commit_mode: str
    items: list[PromotionPlanItem]
    blocked: bool


class PromotionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    from_environment_id: uuid.UUID | None
    to_environment_id: uuid.UUID | None
    from_environment: str
    to_environment: str
    state: PromotionState
    items: list[dict[str, Any]]
    branch: str | None
    commit: str | None
    pr_url: str | None
    pr_number: int | None
    job_ids: list[str]
    results: dict[str, Any] = Field(description="per workflow: what the commit and deploy did")
    detail: str | None
    requested_by: str
    created_at: datetime
    finished_at: datetime | None


class PromotionPage(BaseModel):
    promotions: list[PromotionRead]
    next_cursor: str | None


class PromotionAccepted(BaseModel):
    promotion_id: uuid.UUID
    job_id: uuid.UUID
    state: PromotionState
    url: str
    job_url: str
