"""The catalogue's documented shapes, with examples for the OpenAPI document."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_ID = "3f1c2a9e-8d4b-4c7a-9a51-0e2f6b7c8d90"
_ENV = "a2b4c6d8-1e3f-4a5b-8c7d-9e0f1a2b3c4d"
_HASH = "v1:4be1f2c0a9d87e6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1"
_ITEM: dict[str, Any] = {
    "id": _ID,
    "slug": "billing-sync",
    "name": "Billing sync",
    "content_hash": _HASH,
    "content_hash_short": "4be1f2c0a9d8",
    "git_file_path": "workflows/billing-sync.json",
    "git_commit": "9c1e5f0b7a3d2c4e6f8a0b1c3d5e7f9a1b3c5d7e",
    "deleted": False,
    "created_at": "2026-11-20T09:12:00Z",
    "updated_at": "2026-12-01T16:40:00Z",
    "states": {"in_sync": 2, "drift": 1},
}


class CatalogueItem(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ITEM]})

    id: uuid.UUID
    slug: str
    name: str
    content_hash: str | None
    content_hash_short: str | None
    git_file_path: str | None
    git_commit: str | None = Field(description="the last Git commit touching the file")
    deleted: bool
    created_at: datetime
    updated_at: datetime
    states: dict[str, int] = Field(
        description="cells per state: the derived state of a linked cell (in_sync, "
        "draft_pending, drift, out_of_date, conflict, unknown, orphaned), else its status "
        "(untracked, missing, ignored); deleted cells are not counted"
    )


class CataloguePageRead(BaseModel):
    items: list[CatalogueItem]
    next_cursor: str | None


class CatalogueCell(BaseModel):
    environment_id: uuid.UUID
    environment: str
    is_anchor: bool
    mapping_id: uuid.UUID | None
    n8n_workflow_id: str | None
    status: str = Field(description="linked | untracked | missing | ignored | deleted | absent")
    state: str | None
    env_hash: str | None
    git_hash: str | None
    base_hash: str | None
    n8n_updated_at: datetime | None
    last_synced_at: datetime | None = Field(description="the environment's last complete sync")
    active: bool | None
    tags: list[str]
    draft_pending: bool = Field(
        False,
        description="n8n 2.x holds a draft it does not run (env_hash is the published "
        "version's, draft_hash the draft's); true whatever the state",
    )
    draft_hash: str | None = None
    n8n_major: int | None = Field(None, description="the n8n major version its last sync found")


class CatalogueEvent(BaseModel):
    environment_id: uuid.UUID
    mapping_id: uuid.UUID | None
    from_status: str | None
    to_status: str
    at: datetime


class CatalogueWorkflowRead(CatalogueItem):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _ITEM
                | {
                    "definition": {"name": "Billing sync", "nodes": [], "connections": {}},
                    "environments": [
                        {
                            "environment_id": _ENV,
                            "environment": "prod",
                            "is_anchor": True,
                            "mapping_id": "c0ffee00-1111-4222-8333-444455556666",
                            "n8n_workflow_id": "Xy12AbCd34",
                            "status": "linked",
                            "state": "drift",
                            "env_hash": "v1:77aa...",
                            "git_hash": _HASH,
                            "base_hash": _HASH,
                            "n8n_updated_at": "2026-12-01T15:02:11Z",
                            "last_synced_at": "2026-12-06T08:00:03Z",
                            "active": True,
                            "tags": ["billing"],
                        }
                    ],
                    "events": [
                        {
                            "environment_id": _ENV,
                            "mapping_id": "c0ffee00-1111-4222-8333-444455556666",
                            "from_status": "untracked",
                            "to_status": "linked",
                            "at": "2026-11-20T09:12:00Z",
                        }
                    ],
                }
            ]
        }
    )

    definition: dict[str, Any] = Field(description="the workflow as Git holds it")
    environments: list[CatalogueCell]
    events: list[CatalogueEvent] = Field(description="the last 20 status events, newest first")


class StateChangeRead(BaseModel):
    environment_id: uuid.UUID
    mapping_id: uuid.UUID | None
    from_state: str | None = Field(description="None: the cell first appeared")
    to_state: str
    cause: str = Field(
        description="env_sync | repo_sync | onboarding | link | ignore | unignore | deploy | "
        "commit | delete | restore"
    )
    at: datetime


class HistoryRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "environment_id": _ENV,
                            "mapping_id": "c0ffee00-1111-4222-8333-444455556666",
                            "from_state": "in_sync",
                            "to_state": "drift",
                            "cause": "env_sync",
                            "at": "2026-12-01T15:05:00Z",
                        },
                        {
                            "environment_id": _ENV,
                            "mapping_id": "c0ffee00-1111-4222-8333-444455556666",
                            "from_state": "drift",
                            "to_state": "in_sync",
                            "cause": "commit",
                            "at": "2026-12-02T10:00:00Z",
                        },
                    ]
                }
            ]
        }
    )

    items: list[StateChangeRead]


class TrendDay(BaseModel):
    day: date = Field(description="a UTC day")
    environment_id: uuid.UUID
    counts: dict[str, int] = Field(description="cells per state at the end of the day")
    opened: int = Field(description="changes into drift that day")
    closed: int = Field(description="changes out of drift that day")
    mean_time_to_sync_s: float | None = Field(
        description="mean seconds from entering drift to in_sync, of those synced that day"
    )


class DriftTrendRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "day": "2026-12-05",
                            "environment_id": _ENV,
                            "counts": {"in_sync": 118, "drift": 3, "untracked": 2},
                            "opened": 2,
                            "closed": 1,
                            "mean_time_to_sync_s": 5400.0,
                        }
                    ]
                }
            ]
        }
    )

    items: list[TrendDay]
