"""A `2xx` is sent only after its transaction committed; reads take no write lock.

These run the app behind a real uvicorn server (the way `serve` runs it), so the client
sees the response the moment it is written, not when the ASGI call ends.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from canonflow.app import create_app
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, Environment
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token
from tests.support.served import served

COMMIT_DELAY_S = 0.5


@pytest.fixture
def admin_token(runtime: Runtime) -> str:
    with transaction(runtime.sessions) as session:
        return make_token(session, make_tenant(session, slug="acme"))


def _environment(runtime: Runtime, token: str, base: str) -> str:
    response = httpx.post(
        f"{base}/api/v1/environments",
        headers=bearer(token),
        json={"name": "dev", "base_url": "http://127.0.0.1:9", "api_key": "k" * 20},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _slow_commits(runtime: Runtime) -> None:
    """Every commit of the app's sessions waits a little before it happens: if a response
    could go out before its commit, this makes it do so every time."""

    def before_commit(_session: Session) -> None:
        time.sleep(COMMIT_DELAY_S)

    event.listen(runtime.sessions, "before_commit", before_commit)


def test_a_job_id_answered_202_is_readable_from_another_connection_at_once(
    runtime: Runtime, admin_token: str, database_url: str
) -> None:
    other = create_engine(database_url)  # a second client of the same database
    try:
        with served(runtime) as base:
            environment_id = _environment(runtime, admin_token, base)
            _slow_commits(runtime)
            response = httpx.post(
                f"{base}/api/v1/environments/{environment_id}/sync",
                headers=bearer(admin_token),
                timeout=30,
            )
            assert response.status_code == 202, response.text
            job_id = uuid.UUID(response.json()["job_id"])
            with other.connect() as connection:
                found = connection.execute(
                    select(BackgroundJob.id).where(BackgroundJob.id == job_id)
                ).scalar_one_or_none()
            assert found == job_id
            follow = httpx.get(f"{base}/api/v1/jobs/{job_id}", headers=bearer(admin_token))
            assert follow.status_code == 200
    finally:
        other.dispose()


def test_a_commit_that_fails_is_a_5xx_problem_and_nothing_is_kept(
    runtime: Runtime, admin_token: str
) -> None:
    def refuse(_session: Session) -> None:
        raise RuntimeError("the database refused the commit")

    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        event.listen(runtime.sessions, "before_commit", refuse)
        try:
            response = client.post(
                "/api/v1/environments",
                headers=bearer(admin_token),
                json={"name": "dev", "base_url": "http://127.0.0.1:9", "api_key": "k" * 20},
            )
        finally:
            event.remove(runtime.sessions, "before_commit", refuse)
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 500
        assert "refused" not in response.json()["detail"]  # no raw exception text
        with runtime.sessions() as session:
            assert session.scalars(select(Environment)).all() == []
        listed = client.get("/api/v1/environments", headers=bearer(admin_token))
        assert listed.status_code == 200 and listed.json() == []


def test_a_read_takes_no_write_lock_on_sqlite(
    runtime: Runtime, admin_token: str, database_url: str, backend: str
) -> None:
    """Another process holding SQLite's write lock (a long sync batch) must not hold up a
    GET: it reads its WAL snapshot. Before, every request began with BEGIN IMMEDIATE."""
    if backend != "sqlite":
        pytest.skip("SQLite's write lock")
    path = make_url(database_url).database
    assert path
    with TestClient(create_app(runtime=runtime)) as client:
        assert client.get("/api/v1/me", headers=bearer(admin_token)).status_code == 200
        writer = sqlite3.connect(path, isolation_level=None, timeout=1)
        writer.execute("BEGIN IMMEDIATE")
        answers: list[Any] = []
        thread = threading.Thread(
            target=lambda: answers.append(
                client.get("/api/v1/environments", headers=bearer(admin_token))
            ),
            daemon=True,
        )
        try:
            thread.start()
            thread.join(timeout=10)
            answered_while_locked = not thread.is_alive()
        finally:
            writer.execute("ROLLBACK")
            writer.close()
            thread.join(timeout=60)
        assert answered_while_locked, "the GET waited for the write lock"
        assert answers[0].status_code == 200


def test_a_body_that_is_not_json_gets_a_readable_detail(
    client: TestClient, admin_token: str
) -> None:
    response = client.post(
        "/api/v1/environments",
        headers=bearer(admin_token) | {"content-type": "application/json"},
        content=b'{"name": "dev",, }',
    )
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("the request body is not valid JSON: ")
    assert "JSON decode error" not in body["detail"] or "character" in body["detail"]
    assert "body." not in body["detail"]
