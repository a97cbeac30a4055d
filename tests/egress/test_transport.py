"""The checking transport connects to the address it checked, and TLS still verifies the
certificate against the host name (not against that address)."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from canonflow.core.egress import AddressPolicy
from canonflow.egress import EgressPolicy, EgressRefused
from canonflow.egress.http import egress_transport
from tests.support.git_remotes import self_signed_tls
from tests.support.loopback import LoopbackServer


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, format: str, *args: object) -> None:
        pass


class _TlsServer(LoopbackServer):
    def __init__(self, context: ssl.SSLContext) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._serve(server)
        self.port = server.server_address[1]


@pytest.fixture
def localhost_tls(tmp_path: Path) -> Iterator[tuple[_TlsServer, ssl.SSLContext]]:
    server_context, cert_file = self_signed_tls(tmp_path, host="localhost")
    client_context = ssl.create_default_context(cafile=str(cert_file))
    with _TlsServer(server_context) as server:
        yield server, client_context


def _policy(*hosts: str) -> EgressPolicy:
    return EgressPolicy(AddressPolicy.build(production=True, hosts=hosts))


def test_tls_verifies_the_name_while_connecting_to_the_checked_address(
    localhost_tls: tuple[_TlsServer, ssl.SSLContext],
) -> None:
    server, context = localhost_tls
    transport = egress_transport(_policy("localhost"), verify=context)
    with httpx.Client(transport=transport) as client:
        assert client.get(f"https://localhost:{server.port}/").text == "hello"
    # the certificate names localhost, not 127.0.0.1: asked by address, verification fails
    allowed = EgressPolicy(
        AddressPolicy.build(production=True, networks=[ipaddress.ip_network("127.0.0.1/32")])
    )
    by_address = httpx.Client(transport=egress_transport(allowed, verify=context))
    with by_address, pytest.raises(httpx.ConnectError, match=r"(?i)certificate|hostname|IP"):
        by_address.get(f"https://127.0.0.1:{server.port}/")


def test_a_refused_host_raises_the_policys_error_through_httpx(
    localhost_tls: tuple[_TlsServer, ssl.SSLContext],
) -> None:
    server, context = localhost_tls
    client = httpx.Client(transport=egress_transport(_policy(), verify=context))
    with client, pytest.raises(EgressRefused, match="CANONFLOW_ALLOWED_HOSTS=localhost"):
        client.get(f"https://localhost:{server.port}/")


def test_a_name_that_does_not_resolve_is_a_connect_error() -> None:
    client = httpx.Client(transport=egress_transport(_policy()))
    with client, pytest.raises(httpx.ConnectError):
        client.get("http://no-such-host.invalid/")
