"""Who may read `/metrics`: the metrics token when set; loopback in development without
one; nobody in production without one. The token is never echoed."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from canonflow.config import Mode
from canonflow.runtime import Runtime
from tests.metrics.helpers import scraper

TOKEN = "metrics-secret-7f3a9c"


def test_development_without_a_token_serves_loopback_only(runtime: Runtime) -> None:
    with scraper(runtime, host="127.0.0.1") as client:
        ok = client.get("/metrics")
    assert ok.status_code == 200, ok.text
    assert ok.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "canonflow_job_queue_depth 0.0" in ok.text
    with scraper(runtime, host="::1") as client:
        assert client.get("/metrics").status_code == 200
    with scraper(runtime, host="192.0.2.10") as client:
        refused = client.get("/metrics")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "CANONFLOW_METRICS_TOKEN" in refused.json()["detail"]


def test_production_without_a_token_refuses_even_loopback(runtime: Runtime) -> None:
    with scraper(runtime, host="127.0.0.1", mode=Mode.PRODUCTION) as client:
        refused = client.get("/metrics")
    assert refused.status_code == 403
    assert "set CANONFLOW_METRICS_TOKEN" in refused.json()["detail"]


def test_a_token_is_required_from_anywhere_once_set(
    runtime: Runtime, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    for mode in Mode:
        with scraper(
            runtime, host="198.51.100.7", mode=mode, metrics_token=SecretStr(TOKEN)
        ) as client:
            assert client.get("/metrics", headers=_bearer(TOKEN)).status_code == 200
            for headers in (
                {},
                _bearer(TOKEN + "x"),
                _bearer(TOKEN[:-1]),
                {"Authorization": TOKEN},
            ):
                refused = client.get("/metrics", headers=headers)
                assert refused.status_code == 401, (mode, headers)
                assert refused.headers["www-authenticate"] == "Bearer"
                assert TOKEN not in refused.text
        with scraper(
            runtime, host="127.0.0.1", mode=mode, metrics_token=SecretStr(TOKEN)
        ) as client:
            assert client.get("/metrics").status_code == 401  # loopback is no exception
    captured = capsys.readouterr()
    assert "/metrics" in caplog.text + captured.out + captured.err  # requests were logged
    assert TOKEN[:-1] not in caplog.text + captured.out + captured.err


def test_metrics_are_not_in_the_api_document(runtime: Runtime) -> None:
    with scraper(runtime) as client:
        assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
