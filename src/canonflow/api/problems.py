"""The one place where errors become RFC 7807 problem JSON responses."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from canonflow.errors import AppError

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger(__name__)


HtmlErrors = Callable[[Request, int, str], Response]
"""Renders an error for a UI page; `is_ui` says which requests get it."""


def problem(
    request: Request, status: int, detail: str, *, code: str, extra: dict[str, Any] | None = None
) -> Response:
    html: tuple[Callable[[Request], bool], HtmlErrors] | None = getattr(
        request.app.state, "html_errors", None
    )
    if html is not None and html[0](request):
        return html[1](request, status, detail)
    body: dict[str, Any] = {
        "type": f"urn:canonflow:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extra or {})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return problem(request, exc.status, exc.message, code=exc.code, extra=exc.details)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
        for err in exc.errors()
    ]
    return problem(request, 422, _validation_detail(exc), code="invalid", extra={"errors": errors})


def _validation_detail(exc: RequestValidationError) -> str:
    """One sentence for the first error: where, and what is wrong."""
    first = next(iter(exc.errors()), None)
    if first is None:
        return "invalid request"
    if first.get("type") == "json_invalid":
        reason = (first.get("ctx") or {}).get("error") or "not valid JSON"
        position = first.get("loc", ("body", None))[-1]
        at = f" at character {position}" if isinstance(position, int) else ""
        return f"the request body is not valid JSON: {reason}{at}"
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "invalid request"))
    return f"{where}: {message}" if where else message


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "-")
    return problem(request, exc.status_code, detail, code=code)


async def _data_error(request: Request, exc: Exception) -> Response:
    """The database refused a value the request carried (SQLSTATE class 22): the client's
    input, not a server fault."""
    assert isinstance(exc, DataError)
    detail = (
        "text must not contain NUL (\\u0000) characters"
        if "NUL" in str(exc.orig)
        else "a value in the request is out of range or malformed"
    )
    return problem(request, 422, detail, code="invalid")


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", path=request.url.path)
    return problem(request, 500, "an unexpected error occurred", code="internal-error")


def install_error_handlers(app: FastAPI) -> None:
    """The one place where errors become HTTP problems."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected_error)
