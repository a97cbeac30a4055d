"""Typed application errors. `canonflow.api.problems` renders them as RFC 7807 problem JSON."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error a caller can act on. `status` is its HTTP status code."""

    status: int = 500
    code: str = "internal-error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class Invalid(AppError):
    status, code = 422, "invalid"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not-found"


class Conflict(AppError):
    status, code = 409, "conflict"


class Unavailable(AppError):
    status, code = 503, "unavailable"
