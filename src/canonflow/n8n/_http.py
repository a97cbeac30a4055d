"""The boundary between httpx and the error tree: responses and transport errors in, typed
`N8nError`s out. Messages are one line, name the base URL, and never carry the API key
(httpx request objects carry the key in their headers: they never go into a message)."""

from __future__ import annotations

import email.utils
import html
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson

from canonflow.metrics import instruments
from canonflow.n8n.errors import (
    N8nArchived,
    N8nBusy,
    N8nError,
    N8nInvalidResponse,
    N8nInvalidStructure,
    N8nNotFound,
    N8nPublished,
    N8nRateLimited,
    N8nRejected,
    N8nServerError,
    N8nStillUnpublishing,
    N8nUnauthorized,
    N8nUnreachable,
)
from canonflow.redaction import Redactor

_PRE = re.compile(r"<pre>(.*?)(?:<br\s*/?>|</pre>)", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
# n8n 2.x's error bodies carry only a `message` (no code), so these match the start of its
# English text, narrowly, and only beside the status n8n sends it with (2.40.7's wording,
# see docs/n8n-versions.md). An unmatched message stays a plain N8nRejected.
_STILL_UNPUBLISHING = "workflow is still being unpublished"  # 409
_PUBLISHED = "cannot delete a published workflow"  # 409
_ARCHIVED = ("cannot update an archived workflow", "cannot activate an archived workflow")  # 400
_INVALID_STRUCTURE = "workflow structure is invalid"  # 400


@contextmanager
def observed_request(method: str, path: str) -> Iterator[None]:
    """Time one request and count its error (metrics: the path is templated, no ids)."""
    started = time.perf_counter()
    try:
        yield
    except Exception as exc:
        instruments.n8n_request_done(method, path, time.perf_counter() - started, exc)
        raise
    instruments.n8n_request_done(method, path, time.perf_counter() - started, None)


def transport_error(
    exc: httpx.TransportError, *, base_url: str, what: str, timeout: float
) -> N8nUnreachable:
    """Map an httpx transport failure. `may_have_applied` is False only when the request
    surely never reached n8n (no connection was made)."""
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if isinstance(exc, httpx.ConnectTimeout):
        reason = f"connecting timed out after {timeout:g}s"
    elif isinstance(exc, httpx.PoolTimeout):
        reason = f"no free connection within {timeout:g}s"
    elif isinstance(exc, httpx.TimeoutException):
        reason = f"no response within {timeout:g}s"
    elif isinstance(exc, httpx.ConnectError):
        reason = f"cannot connect ({_plain(exc)})"
    elif isinstance(exc, httpx.RemoteProtocolError):
        reason = "the connection was closed without a complete response"
    else:
        reason = f"the connection failed ({_plain(exc)})"
    return N8nUnreachable(
        f"n8n at {base_url} is unreachable while trying to {what}: {reason}",
        base_url=base_url,
        may_have_applied=not never_sent,
    )


def _plain(exc: Exception) -> str:
    # str() of httpx/httpcore transport errors is the OS or h11 message, never headers
    return " ".join(str(exc).split()) or type(exc).__name__


def error_for_status(
    response: httpx.Response, *, base_url: str, what: str, redact: Redactor
) -> N8nError:
    """The error for a response that is not 2xx."""
    status = response.status_code
    detail = redact(response_detail(response))
    prefix = f"n8n at {base_url}"
    if status == 401:
        return N8nUnauthorized(
            f"{prefix} rejected the API key (HTTP 401: {detail}); check the environment's API key",
            base_url=base_url,
            status=status,
        )
    if status == 404:
        return N8nNotFound(
            f"{prefix} could not {what}: not found (HTTP 404: {detail})",
            base_url=base_url,
            status=status,
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        hint = f", retry after {retry_after:g}s" if retry_after is not None else ""
        return N8nRateLimited(
            f"{prefix} could not {what}: rate limited (HTTP 429{hint})",
            base_url=base_url,
            status=status,
            may_have_applied=False,
            retry_after=retry_after,
        )
    if status == 400 and "SQLITE_BUSY" in detail:
        return N8nBusy(
            f"{prefix} could not {what}: its database is busy ({detail})",
            base_url=base_url,
            status=status,
            may_have_applied=False,
        )
    lowered = detail.lower()
    if status == 409 and lowered.startswith(_STILL_UNPUBLISHING):
        return N8nStillUnpublishing(
            f"{prefix} could not {what}: the workflow is still being unpublished (HTTP 409)",
            base_url=base_url,
            status=status,
            may_have_applied=False,
        )
    if status == 409 and lowered.startswith(_PUBLISHED):
        return N8nPublished(
            f"{prefix} could not {what}: it is published (active); unpublish it first (HTTP 409)",
            base_url=base_url,
            status=status,
        )
    if status == 400 and lowered.startswith(_ARCHIVED):
        return N8nArchived(
            f"{prefix} could not {what}: the workflow is archived in n8n; unarchive it first "
            f"(HTTP 400: {detail})",
            base_url=base_url,
            status=status,
        )
    if status == 400 and lowered.startswith(_INVALID_STRUCTURE):
        reasons = detail[len(_INVALID_STRUCTURE) :].lstrip(" .:")
        return N8nInvalidStructure(
            f"{prefix} could not {what}: n8n refuses the workflow's structure: {reasons} "
            "(HTTP 400)",
            base_url=base_url,
            status=status,
        )
    if 400 <= status < 500:
        return N8nRejected(
            f"{prefix} could not {what}: {detail} (HTTP {status})",
            base_url=base_url,
            status=status,
        )
    if status >= 500:
        return N8nServerError(
            f"{prefix} could not {what}: server error (HTTP {status}: {detail})",
            base_url=base_url,
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    return N8nInvalidResponse(
        f"{prefix} sent an unexpected HTTP {status} to {what}"
        + (
            f" (redirect to {redact(response.headers['location'])})" if response.is_redirect else ""
        ),
        base_url=base_url,
        status=status,
    )


def response_detail(response: httpx.Response) -> str:
    """n8n's reason for an error: its JSON `message`, or the gist of an HTML error page."""
    body = response.content
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        return str(payload["message"])
    text = response.text
    if "html" in response.headers.get("content-type", ""):
        match = _PRE.search(text) or _TITLE.search(text)
        gist = html.unescape(_TAG.sub(" ", match.group(1))) if match else ""
        return f"an HTML error page: {gist}" if gist.strip() else "an HTML error page"
    return text or response.reason_phrase or "no details"


def parse_json(response: httpx.Response, *, base_url: str, what: str) -> Any:
    """The JSON body of a 2xx response (None when empty), parsed with orjson."""
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        content_type = response.headers.get("content-type", "no content type")
        raise N8nInvalidResponse(
            f"n8n at {base_url} sent a response that is not JSON ({content_type}) "
            f"to {what}; is the base URL an n8n instance?",
            base_url=base_url,
            status=response.status_code,
        ) from None


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: delta-seconds or an HTTP date; None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
