"""The HTTP side of the n8n client: one connection pool per environment, the API key in
its header, egress checks, retries with backoff, JSON and page parsing. `N8nClient`
(canonflow.n8n.client) adds the calls.

Retries. Transient errors (`N8nTransientError`) are retried with exponential backoff and
full jitter (`backoff_max` caps each wait), honouring a Retry-After header (capped too);
other errors are raised at once. Idempotent calls (GET, PUT, DELETE, activate and
deactivate) are retried on every transient error. Creating (POST /workflows, POST /tags)
is not idempotent: a retry after n8n may have acted would create a duplicate, so creates
are retried only when the request surely did not reach n8n or n8n refused it before doing
anything: a connection that could not be made, 429, SQLITE_BUSY. A create that fails with
a timeout, a dropped connection or a 5xx raises; the caller decides (list, then retry).

n8n 2.x's "still being unpublished" 409 is not contention but a state that settles on its
own (unpublishing is asynchronous, and slower on a busy host): it is polled on a time
budget (`settle_timeout`, every 0.1 s doubling to 1 s), not on the retry count, so quick
retries cannot give up while n8n is still at work.

Egress. Every connection is checked by the egress policy (`canonflow.egress`, the process's
policy unless one is given) on the addresses its host resolves to; a refused one raises
`N8nEgressRefused` before anything is sent. Redirects are never followed.

The API key is sent in the `X-N8N-API-KEY` header only; it is never part of a message,
a log event or `repr()`.
"""

from __future__ import annotations

import functools
import ssl
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Self

import httpx
import orjson
import structlog
from tenacity import RetryCallState, Retrying, wait_random_exponential

from canonflow import egress as egress_policy
from canonflow.egress import EgressPolicy, EgressRefused
from canonflow.egress.http import egress_transport
from canonflow.n8n._http import error_for_status, observed_request, parse_json, transport_error
from canonflow.n8n.errors import (
    N8nEgressRefused,
    N8nError,
    N8nInvalidResponse,
    N8nNotFound,
    N8nStillUnpublishing,
    N8nTransientError,
    N8nUnsupported,
)
from canonflow.redaction import Redactor

_BACKOFF_INITIAL = 0.25  # first backoff window, in seconds; doubles on every retry
# n8n closes idle keep-alive connections after 5 s: drop ours a little earlier, so a
# request is never sent on a connection the server is closing.
_KEEPALIVE_EXPIRY = 4.0
_SETTLE_FIRST_WAIT = 0.1  # first poll of a settling state, in seconds; doubles up to…
_SETTLE_MAX_WAIT = 1.0  # …this

_log = structlog.get_logger("canonflow.n8n")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context, made once: building one costs ~15 ms of CPU, and a
    client is made per sync, deploy and check. An SSLContext is safe to share."""
    return httpx.create_ssl_context()


class N8nApi:
    """One n8n environment's `/api/v1` over HTTP. Thread-safe; use as a context manager or
    `close()`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        backoff_max: float = 10.0,
        settle_timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        if not api_key or not api_key.strip():
            raise ValueError("the n8n API key is empty")
        if timeout <= 0 or retries < 0 or backoff_max < 0 or settle_timeout < 0:
            raise ValueError("timeout must be > 0; retries, backoff_max, settle_timeout >= 0")
        self.base_url = _normalize_base_url(base_url)
        self.timeout = timeout
        self._redact = Redactor(api_key)
        self._jitter = wait_random_exponential(multiplier=_BACKOFF_INITIAL, max=backoff_max)
        self._backoff_max = backoff_max
        self._retries = retries
        self._settle_timeout = settle_timeout
        limits = httpx.Limits(keepalive_expiry=_KEEPALIVE_EXPIRY)
        if transport is None:
            policy = egress or egress_policy.current()
            transport = egress_transport(policy, verify=_tls_context(), limits=limits)
        self._http = httpx.Client(
            base_url=f"{self.base_url}/api/v1",
            headers={
                "X-N8N-API-KEY": api_key,
                "Accept": "application/json",
                "User-Agent": "canonflow",
            },
            timeout=httpx.Timeout(timeout),
            limits=limits,
            transport=transport,
            verify=_tls_context(),
            follow_redirects=False,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _iter_pages(
        self, path: str, what: str, limit: int
    ) -> Iterator[tuple[list[dict[str, Any]], str | None, int]]:
        cursor: str | None = None
        seen: set[str] = set()
        number = 0
        while True:
            params: dict[str, str | int] = {"limit": limit}
            if cursor is not None:
                params["cursor"] = cursor
            payload = self._call("GET", path, what, params=params)
            items, next_cursor = self._page_items(payload, what, limit)
            if next_cursor is not None and (next_cursor == cursor or next_cursor in seen):
                raise self._invalid(what, f"page {number + 1} repeats an earlier cursor")
            number += 1
            yield items, next_cursor, number
            if next_cursor is None:
                return
            seen.add(next_cursor)
            cursor = next_cursor

    def _page_items(
        self, payload: Any, what: str, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            raise self._invalid(what, 'expected an object with a "data" list')
        items: list[Any] = payload["data"]
        if not all(isinstance(item, dict) and isinstance(item.get("id"), str) for item in items):
            raise self._invalid(what, 'an item is not an object with a string "id"')
        if len(items) > limit:
            raise self._invalid(what, f"{len(items)} items on a page of at most {limit}")
        cursor = payload.get("nextCursor")
        if cursor is not None and not isinstance(cursor, str):
            raise self._invalid(what, '"nextCursor" is neither a string nor null')
        return items, cursor or None

    def _object(self, payload: Any, what: str) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise self._invalid(what, "expected a JSON object")
        return payload

    def _objects(self, payload: Any, what: str) -> list[dict[str, Any]]:
        if not isinstance(payload, list) or not all(isinstance(x, dict) for x in payload):
            raise self._invalid(what, "expected a JSON array of objects")
        return payload

    def _unsupported(self, what: str, major: int) -> N8nUnsupported:
        return N8nUnsupported(
            f"n8n at {self.base_url} cannot {what}: n8n {major}.x's public API has no such call",
            base_url=self.base_url,
        )

    def _invalid(self, what: str, detail: str) -> N8nInvalidResponse:
        return N8nInvalidResponse(
            f"n8n at {self.base_url} sent an unexpected response to {what}: {detail}",
            base_url=self.base_url,
        )

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        idempotent: bool = True,
        gone_on_retry_ok: bool = False,
    ) -> Any:
        """Send one request with retries; return its parsed JSON body (None when empty)."""
        content = None if body is None else orjson.dumps(body)
        started = time.monotonic()

        def again(exc: BaseException | None, attempts: int) -> bool:
            return self._tries_again(exc, attempts, time.monotonic() - started, idempotent)

        retrying = Retrying(
            stop=lambda state: not again(_outcome_error(state), state.attempt_number),
            wait=self._wait,
            retry=lambda state: _retryable(_outcome_error(state), idempotent),
            before_sleep=lambda state: self._log_retry(state, method, path),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                try:
                    return self._send(method, path, what, params=params, content=content)
                except N8nError as exc:
                    number = attempt.retry_state.attempt_number
                    if gone_on_retry_ok and isinstance(exc, N8nNotFound) and number > 1:
                        return None
                    if number > 1 and not again(exc, number):
                        exc.gave_up_after(number)
                    raise
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str | int] | None,
        content: bytes | None,
    ) -> Any:
        with observed_request(method, path):
            return self._send_once(method, path, what, params=params, content=content)

    def _send_once(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str | int] | None,
        content: bytes | None,
    ) -> Any:
        headers = {"Content-Type": "application/json"} if content is not None else None
        try:
            response = self._http.request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.TransportError as exc:
            raise transport_error(
                exc, base_url=self.base_url, what=what, timeout=self.timeout
            ) from exc
        except EgressRefused as exc:
            raise N8nEgressRefused(
                f"n8n at {self.base_url} cannot be reached to {what}: {exc.message}",
                base_url=self.base_url,
            ) from exc
        if not response.is_success:
            raise error_for_status(response, base_url=self.base_url, what=what, redact=self._redact)
        return parse_json(response, base_url=self.base_url, what=what)

    def _tries_again(
        self, exc: BaseException | None, attempts: int, elapsed: float, idempotent: bool
    ) -> bool:
        """Whether a call that failed with `exc` on attempt `attempts`, `elapsed` seconds
        after its first, is sent again: a settling state within its time budget, any
        other retryable error within the retry count."""
        if not _retryable(exc, idempotent):
            return False
        if isinstance(exc, N8nStillUnpublishing):
            return elapsed < self._settle_timeout
        return attempts <= self._retries

    def _wait(self, state: RetryCallState) -> float:
        exc = _outcome_error(state)
        if isinstance(exc, N8nStillUnpublishing):
            return min(_SETTLE_FIRST_WAIT * 2.0 ** (state.attempt_number - 1), _SETTLE_MAX_WAIT)
        if isinstance(exc, N8nTransientError) and exc.retry_after is not None:
            return min(exc.retry_after, self._backoff_max)
        return float(self._jitter(state))

    def _log_retry(self, state: RetryCallState, method: str, path: str) -> None:
        exc = _outcome_error(state)
        _log.warning(
            "n8n request failed, retrying",
            base_url=self.base_url,
            method=method,
            path=path,
            attempt=state.attempt_number,
            wait_s=round(state.upcoming_sleep, 3),
            error=str(exc),
        )


def _outcome_error(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None


def _retryable(exc: BaseException | None, idempotent: bool) -> bool:
    """Transient errors, and for non-idempotent calls only those n8n surely did not act on."""
    if not isinstance(exc, N8nTransientError):
        return False
    return idempotent or not exc.may_have_applied


def _normalize_base_url(base_url: str) -> str:
    """`http(s)://host[:port][/prefix]` without a trailing slash or `/api/v1`."""
    url = httpx.URL(base_url.strip())
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"an n8n base URL must be http(s)://host[:port], not {base_url!r}")
    path = url.path.rstrip("/").removesuffix("/api/v1").rstrip("/")
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}{path}"
