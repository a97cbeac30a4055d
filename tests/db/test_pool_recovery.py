"""No pre-ping per checkout, yet the server recovers when PostgreSQL ends its connections."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from canonflow.app import create_app
from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token

PAGE = "/api/v1/workflows/matrix"


@pytest.fixture
def postgres_runtime(runtime: Runtime, backend: str) -> Runtime:
    if backend != "postgresql":
        pytest.skip("SQLite has no server to end connections")
    return runtime


@pytest.fixture
def client(postgres_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=postgres_runtime)) as client:
        yield client


def _terminate_all(database_url: str) -> int:
    """End every other session of the database, waiting until each has exited."""
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM ("
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() OFFSET 0) AS others"  # OFFSET 0: filter first
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_no_round_trip_to_check_a_pooled_connection(postgres_runtime: Runtime) -> None:
    statements: list[str] = []
    event.listen(
        postgres_runtime.engine,
        "before_cursor_execute",
        lambda _c, _cu, statement, *_: statements.append(statement),
    )
    for _ in range(3):
        with transaction(postgres_runtime.sessions) as session:
            session.connection().exec_driver_sql("SELECT 42")
    assert statements == ["SELECT 42"] * 3  # no SELECT 1 before each


def test_the_first_request_after_the_server_ends_every_connection_succeeds(
    client: TestClient, postgres_runtime: Runtime, database_url: str
) -> None:
    with transaction(postgres_runtime.sessions) as session:
        token = make_token(session, make_tenant(session), role=Role.VIEWER)
    headers = bearer(token)
    for _ in range(3):  # pooled connections, and the cached principal
        assert client.get(PAGE, headers=headers).status_code == 200
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert _terminate_all(database_url) >= 1
    assert client.get(PAGE, headers=headers).status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 200
