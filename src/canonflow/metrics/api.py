"""`GET /metrics`: Prometheus text, this process's instruments plus the database's counts.

Not in the OpenAPI document: it is for a Prometheus scraper, not an API client; it answers
text, not JSON; its credential is the operator's metrics token, not a tenant's API token,
and it carries no tenant's rows (counts only), so the tenant route sweep does not apply.

Access: with `CANONFLOW_METRICS_TOKEN` set, `Authorization: Bearer <token>` (compared in
constant time). Without it, development serves loopback clients only and production
refuses, saying what to set.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from canonflow.api.deps import BearerDep, RuntimeDep
from canonflow.config import Mode, Settings
from canonflow.errors import Forbidden, Unauthorized
from canonflow.metrics import instruments
from canonflow.metrics.collector import DatabaseCollector
from canonflow.runtime import Runtime

router = APIRouter(tags=["health"])


class _ThisProcess(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from instruments.REGISTRY.collect()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, runtime: RuntimeDep, credentials: BearerDep) -> Response:
    """The metrics, once the caller may read them."""
    check_access(runtime.settings, request, credentials.credentials if credentials else None)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ThisProcess())
    registry.register(_database_collector(request, runtime))
    # the classic text format: every Prometheus reads it, and our names need no escaping
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)


def _database_collector(request: Request, runtime: Runtime) -> DatabaseCollector:
    """The app's collector (it keeps the costly mapping counts a while), made on first use."""
    collector: DatabaseCollector | None = getattr(request.app.state, "metrics_collector", None)
    if collector is None or collector.sessions is not runtime.sessions:
        collector = request.app.state.metrics_collector = DatabaseCollector(runtime.sessions)
    return collector


def check_access(settings: Settings, request: Request, presented: str | None) -> None:
    """Raise `Unauthorized` or `Forbidden` unless the caller may read the metrics."""
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
    if not _is_loopback(request.client.host if request.client else None):
        raise Forbidden(
            "without CANONFLOW_METRICS_TOKEN the metrics are served to loopback clients "
            "only; set CANONFLOW_METRICS_TOKEN to scrape from elsewhere"
        )


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
