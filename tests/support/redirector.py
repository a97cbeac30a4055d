"""A loopback HTTP server that answers every request with a redirect to another base URL
(keeping the path and query), as a compromised or malicious host would; it counts requests."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from tests.support.loopback import LoopbackServer


class Redirector(LoopbackServer):
    """`url` is where it listens (`http://127.0.0.1:PORT`); every request → `status` to
    `target` + the request's path."""

    def __init__(self, target: str, *, status: int = 302) -> None:
        self.target = target.rstrip("/")
        self.status = status
        self.requests: list[str] = []
        self.port = 0
        self.url = self._serve(ThreadingHTTPServer(("127.0.0.1", 0), self._handler()))
        self.port = self._server.server_address[1]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        redirector = self

        class Handler(BaseHTTPRequestHandler):
            def _redirect(self) -> None:
                redirector.requests.append(f"{self.command} {self.path}")
                self.send_response(redirector.status)
                self.send_header("Location", redirector.target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                self._redirect()

            def do_POST(self) -> None:
                self._redirect()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
