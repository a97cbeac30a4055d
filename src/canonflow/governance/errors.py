"""Typed errors of governance (rendered as RFC 7807 problems like every `AppError`)."""

from __future__ import annotations

from datetime import datetime

from canonflow.errors import Conflict


class WindowClosed(Conflict):
    """A write into an environment whose sync window is closed now."""

    code = "window-closed"

    def __init__(self, environment: str, next_allowed_at: datetime | None) -> None:
        when = (
            f"writes are next allowed at {next_allowed_at.isoformat()}"
            if next_allowed_at
            else "no window opens within a year"
        )
        super().__init__(
            f"the sync window of environment {environment!r} is closed now: {when} "
            "(an admin may override it with a reason: window_override)",
            details={
                "environment": environment,
                "next_allowed_at": next_allowed_at.isoformat() if next_allowed_at else None,
            },
        )
