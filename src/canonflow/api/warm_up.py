"""Build every route before the first request.

FastAPI builds a router's routes (their dependants and pydantic validators) on the first
request that walks the router, and a request walks every router included before the one
that answers it. For this app that is hundreds of validators: seconds on a busy machine,
paid by whoever sends the first request after a start (a test's 5 s client timeout ran
out on it while sign-in's POST waited). One request that matches no route walks them all,
in the lifespan, before the server says it is up.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message

WARM_UP_PATH = "/-/warm-up"  # matches no route: every router is walked, nothing runs


async def build_routes(app: ASGIApp) -> int:
    """Send the app one unrouted GET in process; returns its status (404)."""
    statuses: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(int(message["status"]))

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": WARM_UP_PATH,
        "raw_path": WARM_UP_PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        "state": {},
    }
    await app(scope, receive, send)
    return statuses[0] if statuses else 0
