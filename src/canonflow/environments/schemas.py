"""Environment representations. The API key is write-only: it is never read back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from canonflow.core.enums import EnvironmentKind
from canonflow.environments.windows import SyncWindowSpec, WindowRead


def _clean_base_url(value: str) -> str:
    url = value.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url) < 10:
        raise ValueError("base_url must be an http:// or https:// URL of the n8n instance")
    for suffix in ("/api/v1", "/api"):
        url = url.removesuffix(suffix)
    return url


BaseUrl = Annotated[str, Field(max_length=2000), AfterValidator(_clean_base_url)]
EnvName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.-]*$")]
BatchSize = Annotated[int, Field(ge=1, le=5000)]
# 0: manual only; the smallest other value is the operator's (CANONFLOW_MIN_SYNC_INTERVAL_S),
# checked by the service
SyncInterval = Annotated[int, Field(ge=0, le=7 * 24 * 3600)]
PromotionOrder = Annotated[
    int,
    Field(
        ge=0,
        le=1000,
        description="Where it stands in promotion (dev 1 -> staging 2 -> prod 3): a "
        "promotion goes from a lower order to a higher one.",
    ),
]
SyncWindows = Annotated[list[SyncWindowSpec], Field(max_length=50)]


class EnvironmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: EnvName
    base_url: BaseUrl
    api_key: SecretStr = Field(min_length=1, max_length=4000)
    kind: EnvironmentKind = EnvironmentKind.OTHER
    is_anchor: bool = False
    batch_size: BatchSize = 100
    sync_interval_s: SyncInterval = 3600
    paused: bool = False
    promotion_order: PromotionOrder | None = None
    protected: bool = False
    sync_windows: SyncWindows = Field(default_factory=list)


class EnvironmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: EnvName | None = None
    base_url: BaseUrl | None = None
    api_key: SecretStr | None = Field(default=None, min_length=1, max_length=4000)
    kind: EnvironmentKind | None = None
    is_anchor: bool | None = None
    batch_size: BatchSize | None = None
    sync_interval_s: SyncInterval | None = None
    paused: bool | None = None
    promotion_order: PromotionOrder | None = Field(
        default=None, description="Sent as null: the environment leaves the promotion order."
    )
    protected: bool | None = None
    sync_windows: SyncWindows | None = None


class LastSync(BaseModel):
    """The environment's latest sync run. `outcome`: running, succeeded, incomplete (the
    listing did not finish, nothing was marked missing) or failed."""

    at: datetime
    outcome: str
    duration_s: float | None
    job_id: uuid.UUID | None


class EnvironmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: EnvironmentKind
    base_url: str
    is_anchor: bool
    batch_size: int
    sync_interval_s: int = Field(description="Seconds between scheduled syncs; 0: manual only.")
    paused: bool
    next_sync_at: datetime | None = Field(
        description="When the scheduler next starts a sync (none: paused or manual only)."
    )
    last_synced_at: datetime | None
    last_sync: LastSync | None = None
    n8n_major: int | None = Field(
        None, description="The n8n major version (1 or 2) its last sync found; none until known."
    )
    promotion_order: int | None = Field(
        None, description="Where it stands in promotion; none: not promoted from or to."
    )
    protected: bool = Field(
        description="Writes into it need another admin's approval; only Git's versions go in."
    )
    sync_windows: list[SyncWindowSpec]
    window: WindowRead | None = Field(None, description="Whether writes are allowed now.")
    created_at: datetime
    updated_at: datetime


class ConnectionResult(BaseModel):
    """The answer of a connection test. When it connected: the n8n major (1 or 2, from
    `GET /api/v1/discover`) and what the key may do there (on 1.x every key may publish
    and none may list credentials)."""

    ok: bool
    detail: str
    n8n_major: int | None = None
    can_publish: bool | None = None
    can_list_credentials: bool | None = None
