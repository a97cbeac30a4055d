"""A worker's `/metrics`: what `canonflow worker` recorded (job durations, n8n requests)
plus the database's counts, the same text and the same access rule as serve's `/metrics`.

A stdlib HTTP server in a daemon thread: a scrape is one short request, and the worker's
event loop never waits for it. Errors answer RFC 7807 problem JSON like the API's.
"""

from __future__ import annotations

import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import structlog
from sqlalchemy.orm import Session, sessionmaker

from canonflow.config import Settings
from canonflow.errors import AppError, NotFound
from canonflow.metrics.access import bearer_token, check_access
from canonflow.metrics.collector import DatabaseCollector
from canonflow.metrics.exposition import CONTENT_TYPE, render

log = structlog.get_logger(__name__)
PROBLEM_JSON = "application/problem+json"


class MetricsServer:
    """Serves `GET /metrics` on (host, port) until `stop()`; port 0 picks a free one."""

    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], host: str, port: int
    ) -> None:
        collector = DatabaseCollector(sessions)
        handler = type("Handler", (_Handler,), {"settings": settings, "collector": collector})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="canonflow-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    settings: Settings
    collector: DatabaseCollector
    server_version = "canonflow-worker"

    def do_GET(self) -> None:
        try:
            if self.path.split("?", 1)[0] != "/metrics":
                raise NotFound(f"no {self.path.split('?', 1)[0]} here: the worker serves /metrics")
            presented = bearer_token(self.headers.get("Authorization"))
            check_access(self.settings, self.client_address[0], presented)
            body = render(self.collector)
        except AppError as exc:
            self._problem(exc.status, exc.message, exc.code)
            return
        except Exception:
            log.exception("metrics scrape failed")
            self._problem(500, "the metrics could not be read; see the worker's log", "internal")
            return
        self._send(200, CONTENT_TYPE, body)

    def _problem(self, status: int, detail: str, code: str) -> None:
        body: dict[str, Any] = {
            "type": f"urn:canonflow:problem:{code}",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
            "instance": self.path.split("?", 1)[0],
        }
        extra = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        self._send(status, PROBLEM_JSON, orjson.dumps(body), extra)

    def _send(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""
