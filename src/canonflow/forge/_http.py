"""The boundary between httpx and the forge error tree: responses and transport errors in,
typed `ForgeError`s out. Messages are one line, name the API URL, and never carry the token
(httpx request objects carry it in their headers: they never go into a message)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from canonflow.forge.errors import (
    ForgeAuthFailed,
    ForgeError,
    ForgeRejected,
    ForgeUnreachable,
    PullRequestExists,
)
from canonflow.redaction import Redactor

_EXISTS = "pull request already exists"  # GitHub 422 and Gitea 409/422 both say this


def transport_error(
    exc: httpx.TransportError, *, prefix: str, api_url: str, what: str, timeout: float
) -> ForgeUnreachable:
    """Map an httpx transport failure (its str() is the OS or h11 message, never headers)."""
    if isinstance(exc, httpx.TimeoutException):
        reason = f"no answer within {timeout:g}s"
    elif isinstance(exc, httpx.ConnectError):
        reason = f"cannot connect ({' '.join(str(exc).split()) or type(exc).__name__})"
    elif isinstance(exc, httpx.RemoteProtocolError):
        reason = "the connection was closed without a complete response"
    else:
        reason = f"the connection failed ({type(exc).__name__})"
    message = f"{prefix} is unreachable while trying to {what}: {reason}"
    return ForgeUnreachable(message, api_url=api_url)


def error_for_status(
    response: httpx.Response,
    *,
    prefix: str,
    api_url: str,
    what: str,
    redact: Redactor,
    has_token: bool,
    head: str | None = None,
) -> ForgeError:
    """The error for a response that is not 2xx. `head` is set when creating a pull request."""
    status = response.status_code
    detail = redact(response_detail(response))
    if status in (401, 403):
        verb = "refused the token" if has_token else "wants a token"
        return ForgeAuthFailed(
            f"{prefix} {verb} ({status}): {detail}", api_url=api_url, status=status
        )
    if head is not None and status in (409, 422) and _EXISTS in detail.lower():
        return PullRequestExists(
            f"{prefix}: a pull request already exists for head {head}",
            api_url=api_url,
            status=status,
        )
    if 400 <= status < 500:
        message = f"{prefix} refused to {what} ({status}): {detail}"
        return ForgeRejected(message, api_url=api_url, status=status)
    if status >= 500:
        message = f"{prefix} failed to {what}: server error ({status}): {detail}"
        return ForgeUnreachable(message, api_url=api_url, status=status)
    location = response.headers.get("location")
    moved = f" (redirected to {redact(location)})" if location else ""
    message = f"{prefix} sent an unexpected HTTP {status} in answer to {what}{moved}"
    return ForgeRejected(message, api_url=api_url, status=status)


def response_detail(response: httpx.Response) -> str:
    """The forge's reason: GitHub's `message` plus its `errors`, Gitea's `message` (or its
    list of field errors), else the body's text (not an HTML page's)."""
    try:
        payload = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        if "html" in response.headers.get("content-type", ""):
            return f"an HTML page ({response.reason_phrase or 'no reason'})"  # a proxy's, say
        return response.text or response.reason_phrase or "no details"
    if isinstance(payload, list):
        return "; ".join(_field_error(item) for item in payload) or "no details"
    if not isinstance(payload, dict):
        return response.text
    message = payload.get("message")
    errors = payload.get("errors")
    listed = "; ".join(_field_error(item) for item in errors) if isinstance(errors, list) else ""
    parts = (message if isinstance(message, str) else "", listed)
    return ": ".join(part for part in parts if part) or "no details"


def _field_error(item: Any) -> str:
    """One entry of GitHub's `errors` or of Gitea's field-error list, as text."""
    if not isinstance(item, dict):
        return str(item)
    if isinstance(item.get("message"), str):
        fields = item.get("fieldNames")
        named = ", ".join(map(str, fields)) if isinstance(fields, list) else ""
        return f"{named}: {item['message']}" if named else str(item["message"])
    field, code = item.get("field"), item.get("code")
    return " ".join(str(part) for part in (field, code) if part) or "invalid"


def parse_json(response: httpx.Response, *, prefix: str, api_url: str, what: str) -> Any:
    """The JSON body of a 2xx response; a body that is not JSON is `ForgeUnreachable`."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        content_type = response.headers.get("content-type", "no content type")
        raise ForgeUnreachable(
            f"{prefix} sent an answer that is not JSON ({content_type}) to {what}; "
            "is the API URL right?",
            api_url=api_url,
            status=response.status_code,
        ) from None
