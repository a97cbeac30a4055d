"""An httpx transport whose every connection is checked by the egress policy.

The check sits where the TCP connection is made (httpcore's network backend), not before
the request: the host is resolved once, every address it resolves to must pass, and the
connection goes to one of those very addresses, so a name that changes what it resolves to
between the check and the connection (DNS rebinding) cannot slip through. Redirects a
client follows are new requests: each new host is checked the same way. TLS still verifies
the certificate against the host name (httpcore passes it as the server name).

httpx has no public parameter for the network backend: `egress_transport` builds httpx's
own transport and gives it a connection pool with the checking backend.
"""

from __future__ import annotations

import ssl
import typing

import httpcore
import httpx

from canonflow.egress.policy import EgressPolicy


class _CheckingBackend(httpcore.NetworkBackend):
    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._policy.checked_addresses(host, port)
        except OSError as exc:  # the name does not resolve: a connection error, as httpx's
            raise httpcore.ConnectError(str(exc)) from exc
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None  # checked_addresses never returns an empty list
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by canonflow")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def egress_transport(
    policy: EgressPolicy,
    *,
    verify: ssl.SSLContext | None = None,
    limits: httpx.Limits | None = None,
) -> httpx.HTTPTransport:
    """httpx's HTTP/1.1 transport, connecting only where `policy` allows. Environment
    proxies (HTTP(S)_PROXY) are not used: a proxy would resolve names out of our sight."""
    context = verify or httpx.create_ssl_context()
    limits = limits or httpx.Limits()
    transport = httpx.HTTPTransport(verify=context, limits=limits)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_CheckingBackend(policy),
    )
    return transport
