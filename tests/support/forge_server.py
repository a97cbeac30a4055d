"""A stand-in for a hosted forge's pull-request API (GitHub, or Gitea/Forgejo), on loopback.

No hosted forge can run here, so the forge tests talk to this server instead. It implements
only the endpoints canonflow's `ForgeClient` uses, with the answers those forges document;
anything else is a 404. Under `api_url` (`http://127.0.0.1:PORT` for GitHub,
`http://127.0.0.1:PORT/api/v1` for Gitea):

- `POST /repos/{owner}/{repo}/pulls` with `{"title", "body", "head", "base"}` → 201 and the
  pull request. Missing title, head or base → 422. An OPEN pull request for the same head
  and base → GitHub 422 "Validation Failed" whose `errors` say "A pull request already
  exists for team:canonflow/x.", Gitea 409 "pull request already exists for these targets".
- `GET /repos/{owner}/{repo}/pulls/{number}` → 200 (404 for an unknown number).
- `GET /repos/{owner}/{repo}/pulls`: `state` (open by default, closed, all), newest first;
  GitHub filters by `head` ("owner:branch") and `base` and pages with `page`/`per_page`;
  Gitea pages with `page`/`limit` (at most 50) and filters by nothing else.
- A missing or wrong token → 401 (checked before anything else); a repository other than
  `owner_repo` → 404.

A pull request is the JSON both forges send: `number`, `html_url`, `state`, `head.ref`,
`base.ref`, `head.repo.full_name`, `merged_at` (plus `merged`, which GitHub leaves out of
listings). Branches are not modelled: any head and base are accepted. Only the
Authorization form each forge documents is accepted (`Bearer` for GitHub, `token` for Gitea).

```python
with FakeForge(ForgeProvider.GITEA) as forge:
    client = ForgeClient(ForgeProvider.GITEA, forge.api_url, "team/workflows", forge.token)
    forge.fail_next(500)                     # the next request answers 500, whatever it is
    forge.requests[-1]["headers"]["authorization"]
```
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from canonflow.core.enums import ForgeProvider
from tests.support.loopback import LoopbackServer

_REQUIRED = ("title", "head", "base")


class FakeForge(LoopbackServer):
    """A forge serving one repository's pull requests. `requests` records every request
    received as `{"method", "path", "query", "headers" (lower-case names), "json"}`."""

    def __init__(
        self,
        provider: ForgeProvider,
        *,
        token: str = "forge-token",
        owner_repo: str = "team/workflows",
    ) -> None:
        if provider == ForgeProvider.NONE:
            raise ValueError("a FakeForge is GitHub or Gitea")
        self.provider = provider
        self.token = token
        self.owner_repo = owner_repo
        self.requests: list[dict[str, Any]] = []
        self.pulls: dict[int, dict[str, Any]] = {}
        self._failures: deque[tuple[int, dict[str, Any]]] = deque()
        self._lock = threading.Lock()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.forge = self
        self.web_url = self._serve(server)
        self._prefix = "/api/v1" if provider == ForgeProvider.GITEA else ""
        self.api_url = self.web_url + self._prefix

    @property
    def github(self) -> bool:
        return self.provider == ForgeProvider.GITHUB

    # --- what a test controls -----------------------------------------------------------

    def merge(self, number: int) -> None:
        """Mark the pull request merged (and so closed)."""
        with self._lock:
            now = _now()
            self.pulls[number].update(state="closed", merged=True, merged_at=now, closed_at=now)

    def close_pr(self, number: int) -> None:
        """Close the pull request without merging it."""
        with self._lock:
            self.pulls[number].update(state="closed", closed_at=_now())

    def fail_next(self, status: int, body: dict[str, Any] | None = None) -> None:
        """The next request (of any kind) gets this answer; calls queue up."""
        with self._lock:
            self._failures.append((status, body or {"message": f"injected failure {status}"}))

    # --- the API ------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any]:
        """Answer one request: (status, JSON body)."""
        url = urlsplit(target)
        query = dict(parse_qsl(url.query))
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        with self._lock:
            self.requests.append(
                {
                    "method": method,
                    "path": url.path,
                    "query": query,
                    "headers": headers,
                    "json": body,
                }
            )
            if self._failures:
                return self._failures.popleft()
            refused = self._auth_error(headers.get("authorization"))
            if refused is not None:
                return 401, {"message": refused}
            return self._route(method, url.path, query, body)

    def _auth_error(self, authorization: str | None) -> str | None:
        scheme = "Bearer" if self.github else "token"
        if authorization == f"{scheme} {self.token}":
            return None
        if authorization is None:
            return "Requires authentication" if self.github else "token is required"
        return "Bad credentials" if self.github else "invalid token"

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        parts = path.removeprefix(self._prefix).strip("/").split("/")
        if len(parts) < 4 or parts[0] != "repos" or parts[3] != "pulls":
            return _not_found()
        if f"{parts[1]}/{parts[2]}".casefold() != self.owner_repo.casefold():
            return _not_found()
        if len(parts) == 4 and method == "POST":
            return self._create(body)
        if len(parts) == 4 and method == "GET":
            try:
                return 200, self._list(query)
            except ValueError:
                return 422, {"message": "page, per_page and limit must be numbers"}
        if len(parts) == 5 and method == "GET" and parts[4].isdigit():
            pull = self.pulls.get(int(parts[4]))
            return (200, dict(pull)) if pull is not None else _not_found()
        return _not_found()

    def _create(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 400, {"message": "Problems parsing JSON"}
        missing = [field for field in _REQUIRED if not body.get(field)]
        if missing:
            return 422, self._missing(missing)
        head, base = str(body["head"]), str(body["base"])
        if any(
            (p["head"]["ref"], p["base"]["ref"], p["state"]) == (head, base, "open")
            for p in self.pulls.values()
        ):
            return self._exists(head)
        number = len(self.pulls) + 1
        self.pulls[number] = self._pull(
            number, str(body["title"]), str(body.get("body") or ""), head, base
        )
        return 201, dict(self.pulls[number])

    def _missing(self, fields: list[str]) -> dict[str, Any]:
        if self.github:
            errors = [
                {"resource": "PullRequest", "field": f, "code": "missing_field"} for f in fields
            ]
            return {"message": "Validation Failed", "errors": errors}
        return {"message": f"[{', '.join(f.capitalize() for f in fields)}]: Required"}

    def _exists(self, head: str) -> tuple[int, Any]:
        if self.github:
            owner = self.owner_repo.split("/")[0]
            message = f"A pull request already exists for {owner}:{head}."
            error = {"resource": "PullRequest", "code": "custom", "message": message}
            return 422, {"message": "Validation Failed", "errors": [error]}
        return 409, {"message": "pull request already exists for these targets"}

    def _list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        state = query.get("state", "open")
        found = [p for p in self.pulls.values() if state == "all" or p["state"] == state]
        if self.github:
            if "head" in query:
                found = [p for p in found if p["head"]["label"] == query["head"]]
            if "base" in query:
                found = [p for p in found if p["base"]["ref"] == query["base"]]
        size = (
            int(query.get("per_page", 30)) if self.github else min(int(query.get("limit", 30)), 50)
        )
        start = (int(query.get("page", 1)) - 1) * size
        page = sorted(found, key=lambda p: -p["number"])[start : start + size]
        hidden = {"merged"} if self.github else set()  # GitHub lists leave it out
        return [{k: v for k, v in p.items() if k not in hidden} for p in page]

    def _pull(self, number: int, title: str, body: str, head: str, base: str) -> dict[str, Any]:
        owner = self.owner_repo.split("/")[0]
        page = "pull" if self.github else "pulls"
        repo = {"full_name": self.owner_repo}
        return {
            "url": f"{self.api_url}/repos/{self.owner_repo}/pulls/{number}",
            "number": number,
            "html_url": f"{self.web_url}/{self.owner_repo}/{page}/{number}",
            "state": "open",
            "title": title,
            "body": body,
            "head": {"label": f"{owner}:{head}", "ref": head, "repo": repo},
            "base": {"label": base, "ref": base, "repo": repo},
            "merged": False,
            "merged_at": None,
            "closed_at": None,
            "created_at": _now(),
        }


def _not_found() -> tuple[int, Any]:
    return 404, {"message": "Not Found"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Server(ThreadingHTTPServer):
    forge: FakeForge
    daemon_threads = False
    block_on_close = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up early (a timeout test) is part of the game


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        self.close_connection = True
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, payload = self.server.forge.handle(self.command, self.path, headers, raw)
        body = orjson.dumps(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815
