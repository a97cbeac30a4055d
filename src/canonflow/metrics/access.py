"""Who may read the metrics: the same rule for serve's `/metrics` and a worker's.

With `CANONFLOW_METRICS_TOKEN` set, `Authorization: Bearer <token>` (compared in constant
time). Without it, development serves loopback clients only and production refuses,
saying what to set.
"""

from __future__ import annotations

import hmac
import ipaddress

from canonflow.config import Mode, Settings
from canonflow.errors import Forbidden, Unauthorized


def check_access(settings: Settings, client_host: str | None, presented: str | None) -> None:
    """Raise `Unauthorized` or `Forbidden` unless the caller may read the metrics.
    `presented`: the bearer token the request carried, if any."""
    token = settings.metrics_token
    if token is not None:
        expected = token.get_secret_value().encode()
        if presented is None or not hmac.compare_digest(presented.encode(), expected):
            raise Unauthorized("the metrics need 'Authorization: Bearer <CANONFLOW_METRICS_TOKEN>'")
        return
    if settings.mode is Mode.PRODUCTION:
        raise Forbidden(
            "metrics are refused in production without a token: set CANONFLOW_METRICS_TOKEN "
            "and scrape with 'Authorization: Bearer <that token>'"
        )
    if not _is_loopback(client_host):
        raise Forbidden(
            "without CANONFLOW_METRICS_TOKEN the metrics are served to loopback clients "
            "only; set CANONFLOW_METRICS_TOKEN to scrape from elsewhere"
        )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (None for any other)."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
