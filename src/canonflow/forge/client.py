"""A pull-request client for GitHub (and GitHub Enterprise) and Gitea/Forgejo.

`api_url` is the REST API root (`https://api.github.com`, `https://host/api/v3`,
`https://host/api/v1`); both forges then serve the same paths:
`POST /repos/{owner}/{repo}/pulls`, `GET .../pulls/{number}` and `GET .../pulls`.
GitHub filters the listing by head and base itself; Gitea's listing is read page by page
(`limit=50`, up to the first empty page) and filtered here. A pull request whose head lives
in another repository (a fork) is never taken for ours.

Retries. A GET that fails with `ForgeUnreachable` is sent again at most twice after a short
backoff. Opening a pull request is never retried: the forge may have opened it before its
answer was lost; a caller that needs to know looks with `find_open_pull_request`.

Egress. Every connection, a followed redirect's included, is checked by the egress policy
(`canonflow.egress`, the process's policy unless one is given); a refused one raises
`ForgeEgressRefused` before anything is sent to that host.

The token is sent in the Authorization header only; it is never part of a message, a log
event or `repr()`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
import structlog

from canonflow import egress as egress_policy
from canonflow.core.enums import ForgeProvider
from canonflow.egress import EgressPolicy, EgressRefused
from canonflow.egress.http import egress_transport
from canonflow.forge._http import error_for_status, parse_json, transport_error
from canonflow.forge.errors import ForgeEgressRefused, ForgeUnreachable
from canonflow.forge.pull_request import PullRequest, parse_pull_request
from canonflow.forge.urls import normalize_api_url, split_repository
from canonflow.redaction import Redactor

_RETRY_BACKOFF_S = (0.2, 0.5)  # the waits before the second and the third attempt of a GET
GITEA_PAGE_SIZE = 50
_NAMES = {ForgeProvider.GITHUB: "GitHub", ForgeProvider.GITEA: "Gitea"}

_log = structlog.get_logger("canonflow.forge")


class ForgeClient:
    """One repository's pull requests on a forge. Use as a context manager or `close()`."""

    def __init__(
        self,
        provider: ForgeProvider,
        api_url: str,
        repository: str,
        token: str | None,
        *,
        timeout_s: float = 15.0,
        transport: httpx.BaseTransport | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        if provider == ForgeProvider.NONE:
            raise ValueError("a plain Git remote (forge provider 'none') has no pull requests")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, not {timeout_s!r}")
        self.provider = ForgeProvider(provider)
        self.api_url = normalize_api_url(api_url)
        self.owner, self.name = split_repository(repository)
        self.repository = f"{self.owner}/{self.name}"
        self.timeout_s = timeout_s
        token = token.strip() if token else None
        self._has_token = bool(token)
        self._redact = Redactor(token)
        self._prefix = f"{_NAMES[self.provider]} at {self.api_url}"
        self._pulls = f"/repos/{quote(self.owner, safe='')}/{quote(self.name, safe='')}/pulls"
        self._http = httpx.Client(
            base_url=self.api_url,
            headers=_headers(self.provider, token),
            timeout=httpx.Timeout(timeout_s),
            transport=transport or egress_transport(egress or egress_policy.current()),
        )

    def __repr__(self) -> str:
        return (
            f"ForgeClient(provider={self.provider.value!r}, api_url={self.api_url!r}, "
            f"repository={self.repository!r})"
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

    # --- pull requests -------------------------------------------------------------------

    def create_pull_request(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        """Open a pull request; `PullRequestExists` when an open one joins head and base."""
        what = f"open a pull request from {head} into {base} in {self.repository}"
        json = {"title": title, "body": body, "head": head, "base": base}
        return self._pull_request(self._call("POST", self._pulls, what, json=json, head=head), what)

    def get_pull_request(self, number: int) -> PullRequest:
        what = f"get pull request #{number} of {self.repository}"
        return self._pull_request(self._call("GET", f"{self._pulls}/{int(number)}", what), what)

    def find_open_pull_request(self, *, head: str, base: str) -> PullRequest | None:
        """The open pull request from `head` (a branch of this repository) into `base`."""
        what = f"list the open pull requests of {self.repository}"
        if self.provider == ForgeProvider.GITHUB:
            params = {"state": "open", "head": f"{self.owner}:{head}", "base": base}
            pages: Iterator[list[dict[str, Any]]] = iter([self._list(params, what)])
        else:
            pages = self._gitea_open_pages(what)
        for page in pages:
            for item in page:
                found = self._pull_request(item, what)
                wanted = (found.head, found.base, found.state) == (head, base, "open")
                if wanted and self._ours(item):
                    return found
        return None

    # --- plumbing ------------------------------------------------------------------------

    def _gitea_open_pages(self, what: str) -> Iterator[list[dict[str, Any]]]:
        seen: set[Any] = set()
        for page in itertools.count(1):
            params: dict[str, str | int] = {"state": "open", "page": page, "limit": GITEA_PAGE_SIZE}
            items = self._list(params, what)
            if not items:
                return
            numbers = {item.get("number") for item in items}
            if numbers <= seen:
                raise self._unexpected(what, f"page {page} repeats earlier pull requests")
            seen |= numbers
            yield items

    def _list(self, params: Mapping[str, str | int], what: str) -> list[dict[str, Any]]:
        payload = self._call("GET", self._pulls, what, params=params)
        if not isinstance(payload, list) or not all(isinstance(x, dict) for x in payload):
            raise self._unexpected(what, "expected a JSON array of pull requests")
        return payload

    def _ours(self, item: dict[str, Any]) -> bool:
        """False when the head branch lives in another repository (a fork)."""
        head_repo = item["head"].get("repo")
        full_name = head_repo.get("full_name") if isinstance(head_repo, dict) else None
        return not isinstance(full_name, str) or full_name.casefold() == self.repository.casefold()

    def _pull_request(self, payload: Any, what: str) -> PullRequest:
        found = parse_pull_request(payload)
        if found is None:
            raise self._unexpected(what, "expected a pull request with number, html_url, state")
        return found

    def _unexpected(self, what: str, detail: str) -> ForgeUnreachable:
        message = f"{self._prefix} sent an unexpected answer to {what}: {detail}"
        return ForgeUnreachable(message, api_url=self.api_url)

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: dict[str, str] | None = None,
        head: str | None = None,
    ) -> Any:
        """Send one request (a GET up to three times); return its parsed JSON body."""
        attempts = 1 + len(_RETRY_BACKOFF_S) if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._send(method, path, what, params=params, json=json, head=head)
            except ForgeUnreachable as exc:
                if attempt == attempts:
                    if attempt > 1:
                        exc.gave_up_after(attempt)
                    raise
                wait = _RETRY_BACKOFF_S[attempt - 1]
                _log.warning(
                    "forge request failed, retrying",
                    api_url=self.api_url,
                    method=method,
                    path=path,
                    attempt=attempt,
                    wait_s=wait,
                    error=str(exc),
                )
                time.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str | int] | None,
        json: dict[str, str] | None,
        head: str | None,
    ) -> Any:
        try:
            # a GET may follow a renamed repository's redirect (httpx drops the token when
            # the redirect leaves the API's origin); a POST is never re-sent elsewhere
            response = self._http.request(
                method, path, params=params, json=json, follow_redirects=method == "GET"
            )
        except httpx.TransportError as exc:
            raise transport_error(
                exc, prefix=self._prefix, api_url=self.api_url, what=what, timeout=self.timeout_s
            ) from exc
        except EgressRefused as exc:
            message = f"{self._prefix} cannot be reached to {what}: {exc.message}"
            raise ForgeEgressRefused(message, api_url=self.api_url) from exc
        if not response.is_success:
            raise error_for_status(
                response,
                prefix=self._prefix,
                api_url=self.api_url,
                what=what,
                redact=self._redact,
                has_token=self._has_token,
                head=head,
            )
        return parse_json(response, prefix=self._prefix, api_url=self.api_url, what=what)


def _headers(provider: ForgeProvider, token: str | None) -> dict[str, str]:
    headers = {"User-Agent": "canonflow", "Accept": "application/json"}
    if provider == ForgeProvider.GITHUB:
        headers["Accept"] = "application/vnd.github+json"
        headers["X-GitHub-Api-Version"] = "2022-11-28"
    if token:
        scheme = "Bearer" if provider == ForgeProvider.GITHUB else "token"
        headers["Authorization"] = f"{scheme} {token}"
    return headers
