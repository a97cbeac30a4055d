"""`GET /metrics`: Prometheus text, this process's instruments plus the database's counts.

Not in the OpenAPI document: it is for a Prometheus scraper, not an API client; it answers
text, not JSON; its credential is the operator's metrics token, not a tenant's API token,
and it carries no tenant's rows (counts only), so the tenant route sweep does not apply.

Access (`canonflow.metrics.access`, shared with the worker's metrics server): with
`CANONFLOW_METRICS_TOKEN` set, `Authorization: Bearer <token>`; without it, development
serves loopback clients only and production refuses, saying what to set.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from canonflow.api.deps import BearerDep, RuntimeDep
from canonflow.config import Settings
from canonflow.metrics import access
from canonflow.metrics.collector import DatabaseCollector
from canonflow.metrics.exposition import CONTENT_TYPE, render
from canonflow.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, runtime: RuntimeDep, credentials: BearerDep) -> Response:
    """The metrics, once the caller may read them."""
    check_access(runtime.settings, request, credentials.credentials if credentials else None)
    return Response(render(_database_collector(request, runtime)), media_type=CONTENT_TYPE)


def _database_collector(request: Request, runtime: Runtime) -> DatabaseCollector:
    """The app's collector (it keeps the costly mapping counts a while), made on first use."""
    collector: DatabaseCollector | None = getattr(request.app.state, "metrics_collector", None)
    if collector is None or collector.sessions is not runtime.sessions:
        collector = request.app.state.metrics_collector = DatabaseCollector(runtime.sessions)
    return collector


def check_access(settings: Settings, request: Request, presented: str | None) -> None:
    """Raise `Unauthorized` or `Forbidden` unless the caller may read the metrics."""
    access.check_access(settings, request.client.host if request.client else None, presented)
