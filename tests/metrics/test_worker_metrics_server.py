"""The worker's `/metrics` server, in-process: the access rule of serve's `/metrics`
(loopback without a token in development, refused in production, the token when set),
problem JSON for errors, and this process's instruments beside the database's counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from pydantic import SecretStr

from canonflow.config import Mode
from canonflow.metrics import instruments
from canonflow.metrics.server import MetricsServer
from canonflow.runtime import Runtime
from tests.metrics.helpers import parse, value


@contextmanager
def _serving(runtime: Runtime, **settings: Any) -> Iterator[str]:
    server = MetricsServer(
        runtime.settings.model_copy(update=settings), runtime.sessions, "127.0.0.1", 0
    ).start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def test_loopback_reads_the_metrics_without_a_token_in_development(runtime: Runtime) -> None:
    instruments.job_ended("worker.metrics.test", "succeeded", 0.2)
    with _serving(runtime) as base:
        response = httpx.get(f"{base}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = parse(response.text)
    observed = value(
        samples,
        "canonflow_job_duration_seconds_count",
        type="worker.metrics.test",
        status="succeeded",
    )
    assert observed >= 1
    assert value(samples, "canonflow_job_queue_depth") == 0  # the database's counts too


def test_production_without_a_token_refuses(runtime: Runtime) -> None:
    with _serving(runtime, mode=Mode.PRODUCTION, secret_key=SecretStr("x" * 32)) as base:
        response = httpx.get(f"{base}/metrics")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "set CANONFLOW_METRICS_TOKEN" in response.json()["detail"]


def test_a_token_once_set_is_required(runtime: Runtime) -> None:
    with _serving(runtime, metrics_token=SecretStr("s3cret")) as base:
        missing = httpx.get(f"{base}/metrics")
        wrong = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer nope"})
        basic = httpx.get(f"{base}/metrics", headers={"Authorization": "Basic s3cret"})
        right = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer s3cret"})
    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["type"] == "urn:canonflow:problem:unauthorized"
    assert right.status_code == 200 and "canonflow_jobs" in right.text


def test_another_path_is_a_problem_404(runtime: Runtime) -> None:
    with _serving(runtime) as base:
        response = httpx.get(f"{base}/nothing?x=1")
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == 404 and body["instance"] == "/nothing"
    assert "/metrics" in body["detail"]
