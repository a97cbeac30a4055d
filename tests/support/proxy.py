"""A loopback HTTP proxy in front of a real n8n, with faults the test controls.

One request per connection (every answer says `Connection: close`). Faults, checked in
this order for each request, after the `on_request` callback ran:

1. `fail_next(count, status, headers, body)`: the proxy answers the next `count` requests
   itself (503, 429 + Retry-After, or a crafted 200 body), without forwarding them;
2. `drop_after(n)`: after `n` more forwarded requests, every request is answered by
   closing the connection without a response (it never reaches n8n);
3. otherwise the request is forwarded. When n8n cannot be reached (killed, say) the proxy
   closes the client's connection without a response too, as the dead n8n itself would.

```python
with FaultProxy(n8n.base_url) as proxy:
    proxy.fail_next(2, 503)
    N8nClient(proxy.base_url, n8n.api_key).check()
    assert [r.outcome for r in proxy.requests_seen] == ["failed 503", "failed 503", "forwarded"]
```
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.support.loopback import LoopbackServer

UPSTREAM_TIMEOUT_S = 60.0
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding"}
    | {"upgrade", "host", "content-length"}
)
_SET_BY_PROXY = frozenset({"date", "server"})  # send_response() writes its own


@dataclass
class ProxyRequest:
    """A request the proxy received; `outcome` is "pending" until it was handled, then
    "forwarded", "failed <status>", "dropped" or "upstream unreachable"."""

    number: int
    method: str
    path: str
    at: float  # time.monotonic() on arrival
    outcome: str = "pending"


@dataclass(frozen=True)
class _Canned:
    status: int
    headers: Mapping[str, str]
    body: bytes


class FaultProxy(LoopbackServer):
    def __init__(self, target_base_url: str) -> None:
        target = urlsplit(target_base_url)
        if target.scheme != "http" or not target.hostname:
            raise ValueError(f"FaultProxy forwards to http://host:port, not {target_base_url!r}")
        self.target_host = target.hostname
        self.target_port = target.port or 80
        self._lock = threading.Lock()
        self._seen: list[ProxyRequest] = []
        self._canned: deque[_Canned] = deque()
        self._forwarded = 0
        self._drop_at: int | None = None
        self._callback: Callable[[ProxyRequest], None] | None = None
        server = _Server(("127.0.0.1", 0), _Handler)
        server.proxy = self
        self.base_url = self._serve(server)

    # --- faults -----------------------------------------------------------------------

    def fail_next(
        self,
        count: int,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        with self._lock:
            self._canned.extend(_Canned(status, dict(headers or {}), body) for _ in range(count))

    def drop_after(self, n: int) -> None:
        with self._lock:
            self._drop_at = self._forwarded + n

    def on_request(self, callback: Callable[[ProxyRequest], None] | None) -> None:
        """Call `callback(request)` on every request, before any fault or forwarding."""
        with self._lock:
            self._callback = callback

    def reset(self) -> None:
        """Forget faults, the callback and the requests seen: forward everything again."""
        with self._lock:
            self._canned.clear()
            self._drop_at = None
            self._callback = None
            self._seen.clear()
            self._forwarded = 0

    @property
    def requests_seen(self) -> list[ProxyRequest]:
        with self._lock:
            return list(self._seen)

    # --- used by the handler --------------------------------------------------------------

    def _arrive(
        self, method: str, path: str
    ) -> tuple[ProxyRequest, Callable[[ProxyRequest], None] | None]:
        with self._lock:
            request = ProxyRequest(len(self._seen) + 1, method, path, time.monotonic())
            self._seen.append(request)
            return request, self._callback

    def _decide(self) -> _Canned | str:
        """A canned answer, "drop" or "forward" (counted as forwarded)."""
        with self._lock:
            if self._canned:
                return self._canned.popleft()
            if self._drop_at is not None and self._forwarded >= self._drop_at:
                return "drop"
            self._forwarded += 1
            return "forward"


class _Server(ThreadingHTTPServer):
    proxy: FaultProxy
    daemon_threads = False
    block_on_close = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up early is part of the game


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        self.close_connection = True
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        proxy = self.server.proxy
        request, callback = proxy._arrive(self.command, self.path)
        if callback is not None:
            callback(request)
        decision = proxy._decide()
        # outcomes are recorded before answering: the client may look as soon as it has one
        if isinstance(decision, _Canned):
            request.outcome = f"failed {decision.status}"
            self._answer(decision.status, decision.headers.items(), decision.body)
        elif decision == "drop":
            request.outcome = "dropped"  # return without a response: the socket closes
        else:
            self._forward(request, body)

    def _forward(self, request: ProxyRequest, body: bytes) -> None:
        proxy = self.server.proxy
        upstream = http.client.HTTPConnection(
            proxy.target_host, proxy.target_port, timeout=UPSTREAM_TIMEOUT_S
        )
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Connection"] = "close"
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
        except OSError:
            request.outcome = "upstream unreachable"  # closing without a response, as n8n would
            return
        finally:
            upstream.close()
        dropped = _HOP_BY_HOP | _SET_BY_PROXY
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in dropped]
        request.outcome = "forwarded"
        self._answer(response.status, kept, payload)

    def _answer(self, status: int, headers: Iterable[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle  # noqa: N815
