"""Representations of reconcile plans, their application, snapshots and versions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from canonflow.core.enums import SnapshotSide
from canonflow.core.reconcile import Action, Strategy, Winner
from canonflow.core.sync_state import SyncState
from canonflow.governance.schemas import EnvironmentGate

WindowOverride = Annotated[
    str | None,
    Field(
        default=None,
        min_length=1,
        max_length=500,
        description="write though a sync window is closed: the reason (admin only; audited)",
    ),
]


class ReconcileScope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment_ids: list[uuid.UUID] | None = Field(default=None, max_length=100)
    canonical_ids: list[uuid.UUID] | None = Field(default=None, max_length=10_000)


class ReconcileRequest(BaseModel):
    """A plan (`dry_run`, the default) or its application (202 + a job)."""

    model_config = ConfigDict(extra="forbid")

    strategy: Strategy
    scope: ReconcileScope = Field(default_factory=ReconcileScope)
    dry_run: bool = True
    force: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=10_000,
        description="mapping ids whose conflict git_wins / env_wins may resolve",
    )
    choices: dict[uuid.UUID, Winner] = Field(
        default_factory=dict, description="manual: mapping id -> the side that wins"
    )
    confirm_prune: bool = Field(
        default=False,
        description="delete from n8n even where that deletes more than the prune guard's "
        "share (CANONFLOW_PRUNE_GUARD_PERCENT) of an environment's live workflows, or all",
    )
    window_override: WindowOverride = None


class Blocker(BaseModel):
    kind: str
    detail: str


class PlanItem(BaseModel):
    mapping_id: uuid.UUID | None
    canonical_id: uuid.UUID
    slug: str
    name: str
    environment_id: uuid.UUID
    environment: str
    action: Action
    reason: str
    state: SyncState | None
    env_hash: str | None
    git_hash: str | None
    base_hash: str | None
    blockers: list[Blocker] = Field(default_factory=list)


class PlanRead(BaseModel):
    strategy: Strategy
    counts: dict[str, int]
    items: list[PlanItem] = Field(description="every mapping the plan does something with")
    prune_guard: list[str] = Field(
        default_factory=list,
        description="per environment, why the prune guard holds its deletes (confirm_prune)",
    )
    environments: list[EnvironmentGate] = Field(
        default_factory=list,
        description="per environment in the plan: protected (an apply waits for approval) "
        "and its sync window now",
    )


class SnapshotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    side: SnapshotSide
    mapping_id: uuid.UUID | None
    canonical_id: uuid.UUID | None
    environment_id: uuid.UUID | None
    content_hash: str | None
    reason: str
    created_by: str
    created_at: datetime


class SnapshotDetail(SnapshotRead):
    workflow: dict[str, Any]


class SnapshotPage(BaseModel):
    snapshots: list[SnapshotRead]
    next_cursor: str | None


class VersionRead(BaseModel):
    commit: str
    author: str
    email: str
    date: datetime
    message: str
    content_hash: str | None = Field(description="None where the commit deleted the file")


class DeployRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment_id: uuid.UUID
    commit: str | None = Field(default=None, min_length=4, max_length=64, pattern="^[0-9a-fA-F]+$")
    window_override: WindowOverride = None


class RestoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_override: WindowOverride = None
