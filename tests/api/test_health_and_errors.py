"""Health endpoints, OpenAPI docs, request ids and problem JSON for bad requests."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from canonflow.db.engine import transaction
from canonflow.db.migrate import head_revision
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_the_schema_revision(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["schema_revision"] == head_revision()


def test_readyz_is_503_when_the_database_is_not_migrated(
    client: TestClient, runtime: Runtime
) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "not migrated"


def test_docs_and_openapi_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/jobs" in spec["paths"]


def test_request_id_is_generated_or_echoed(client: TestClient) -> None:
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    echoed = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"


def test_unknown_route_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_invalid_path_parameter_is_a_422_problem(client: TestClient, runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        token = make_token(session, make_tenant(session))
    response = client.get("/api/v1/jobs/not-a-uuid", headers=bearer(token))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["detail"].startswith("path.job_id:")
    assert body["errors"][0]["loc"] == ["path", "job_id"]


def test_malformed_cursor_is_a_422_problem(client: TestClient, runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        token = make_token(session, make_tenant(session))
    response = client.get("/api/v1/jobs", params={"cursor": "%%%"}, headers=bearer(token))
    assert response.status_code == 422
    assert "cursor" in response.json()["detail"]
