"""An environment's sync windows as the API takes and shows them (`canonflow.core.windows`
decides)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from canonflow.core.windows import (
    MAX_DURATION_S,
    MIN_DURATION_S,
    SyncWindow,
    WindowKind,
    check_window,
    window_status,
)
from canonflow.db.models import Environment
from canonflow.db.types import utcnow


class SyncWindowSpec(BaseModel):
    """Writes (deploy, reconcile apply, promotion, restore) are allowed inside an `allow`
    window and refused inside a `deny` one; the window opens each time `cron` fires in
    `timezone` (wall-clock time, DST-aware) and lasts `duration_s`."""

    model_config = ConfigDict(extra="forbid")

    kind: WindowKind
    cron: str = Field(max_length=200, examples=["0 18 * * 1-5"])
    duration_s: int = Field(ge=MIN_DURATION_S, le=MAX_DURATION_S)
    timezone: str = Field(default="UTC", max_length=100, examples=["Europe/Berlin"])

    @model_validator(mode="after")
    def _evaluable(self) -> SyncWindowSpec:
        check_window(self.window())
        return self

    def window(self) -> SyncWindow:
        return SyncWindow(self.kind, self.cron.strip(), self.duration_s, self.timezone)


class WindowRead(BaseModel):
    """Whether writes are allowed now, and when that changes (none: not within a year)."""

    open: bool
    next_change: datetime | None
    next_open: datetime | None
    active_window: int | None = Field(description="index of the window deciding it now")


def windows_of(environment: Environment) -> list[SyncWindow]:
    return [_window(w) for w in environment.sync_windows or []]


def window_read(environment: Environment, now: datetime | None = None) -> WindowRead:
    status = window_status(windows_of(environment), now or utcnow())
    return WindowRead(
        open=status.open,
        next_change=status.next_change,
        next_open=status.next_open,
        active_window=status.active_window,
    )


def _window(stored: dict[str, Any]) -> SyncWindow:
    return SyncWindow(
        WindowKind(stored["kind"]),
        str(stored["cron"]),
        int(stored["duration_s"]),
        str(stored.get("timezone") or "UTC"),
    )
