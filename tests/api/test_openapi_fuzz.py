"""schemathesis over the whole OpenAPI document, with a valid admin token, on both backends:
no request, however odd, gets a `5xx`, and every error is RFC 7807 problem JSON.

The app runs with its real runtime (real database, real in-process job runner); URLs the
fuzzer invents are unreachable here (no network), so the remote calls fail fast, as they
must, with a problem or a failed job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from canonflow.app import create_app
from canonflow.config import Settings
from canonflow.db.engine import transaction
from canonflow.runtime import Runtime, build_runtime
from tests.factories import bearer, make_tenant, make_token

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance"}
EXAMPLES = 15  # per operation: ~40 operations x 2 backends


@pytest.fixture
def fuzz_runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = build_runtime(
        Settings(
            database_url=database_url,
            data_dir=tmp_path / "data",
            secret_key=Fernet.generate_key().decode(),
            log_level="CRITICAL",
            git_connect_timeout_s=2,
            git_io_timeout_s=5,
        )
    )
    yield runtime
    runtime.close()


@pytest.fixture
def fuzz_token(fuzz_runtime: Runtime) -> str:
    with transaction(fuzz_runtime.sessions) as session:
        return make_token(session, make_tenant(session, slug="fuzz"))


@pytest.fixture
def fuzz_app(fuzz_runtime: Runtime) -> Iterator[FastAPI]:
    app = create_app(runtime=fuzz_runtime)
    with TestClient(app):  # runs the lifespan: the app's state holds the runtime
        yield app


@pytest.fixture
def api_schema(fuzz_app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


def test_no_request_gets_a_5xx_and_every_error_is_a_problem(
    api_schema: Any, fuzz_token: str
) -> None:
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case: Any) -> None:
            case.headers = {**(case.headers or {}), **bearer(fuzz_token)}  # a valid token
            response = case.call()
            statuses[response.status_code // 100] += 1
            _check(case, response)

        try:
            fuzz()
        except AssertionError as failure:
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")
    assert not failures, "\n".join(failures)
    assert statuses[2] > 20 and statuses[4] > 100, statuses  # it reached the handlers


def _check(case: Any, response: Any) -> None:
    where = f"{case.method} {case.formatted_path} {case.query or ''} {case.body!r:.300}"
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    if response.status_code < 400:
        return
    content_type = ",".join(response.headers.get("content-type", []))
    assert content_type.startswith("application/problem+json"), f"{where}: {content_type}"
    body = response.json()
    assert body.keys() >= PROBLEM_FIELDS, f"{where}: {body}"
    assert body["status"] == response.status_code, f"{where}: {body}"
    assert isinstance(body["detail"], str) and body["detail"], f"{where}: {body}"
