"""Schedules through the API: what `GET /environments` shows, what `PATCH` accepts, audits
and refuses, and the repository's own schedule."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from canonflow.core.enums import Role, SyncKind
from canonflow.core.schedule import next_due_for
from canonflow.db.engine import transaction
from canonflow.db.models import AuditEntry, BackgroundJob, SyncRun, Tenant
from canonflow.db.types import utcnow
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token


@pytest.fixture
def tokens(runtime: Runtime) -> dict[str, str]:
    with transaction(runtime.sessions) as session:
        acme = make_tenant(session, slug="acme")
        return {
            "admin": make_token(session, acme, role=Role.ADMIN),
            "operator": make_token(session, acme, role=Role.OPERATOR),
        }


def _create(client: TestClient, token: str, **fields: object) -> dict[str, object]:
    body = {"name": "prod", "base_url": "http://127.0.0.1:5678", "api_key": "k"} | fields
    response = client.post("/api/v1/environments", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _at(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


def test_a_new_environment_is_hourly_at_its_phase(
    client: TestClient, tokens: dict[str, str]
) -> None:
    before = utcnow()
    env = _create(client, tokens["admin"])
    assert env["sync_interval_s"] == 3600 and env["paused"] is False
    assert env["last_sync"] is None
    due = _at(env["next_sync_at"])
    assert before < due <= utcnow() + timedelta(hours=1)
    assert due == next_due_for(uuid.UUID(str(env["id"])), before, 3600)


def test_patch_changes_interval_and_pause_and_is_audited(
    client: TestClient, runtime: Runtime, tokens: dict[str, str]
) -> None:
    env = _create(client, tokens["admin"])
    url = f"/api/v1/environments/{env['id']}"

    faster = client.patch(url, json={"sync_interval_s": 900}, headers=bearer(tokens["admin"]))
    assert faster.status_code == 200, faster.text
    assert faster.json()["sync_interval_s"] == 900
    assert _at(faster.json()["next_sync_at"]) <= utcnow() + timedelta(minutes=15)

    paused = client.patch(url, json={"paused": True}, headers=bearer(tokens["admin"]))
    assert paused.json()["paused"] is True and paused.json()["next_sync_at"] is None
    resumed = client.patch(url, json={"paused": False}, headers=bearer(tokens["admin"]))
    assert resumed.json()["next_sync_at"] is not None
    manual = client.patch(url, json={"sync_interval_s": 0}, headers=bearer(tokens["admin"]))
    assert manual.json()["sync_interval_s"] == 0 and manual.json()["next_sync_at"] is None

    with transaction(runtime.sessions) as session:
        details = [
            entry.details
            for entry in session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "environment.update")
                .order_by(AuditEntry.at)
            )
        ]
    assert details == [
        {"sync_interval_s": 900},
        {"paused": True},
        {"paused": False},
        {"sync_interval_s": 0},
    ]


def test_an_interval_below_the_minimum_is_refused_naming_the_setting(
    client: TestClient, tokens: dict[str, str]
) -> None:
    env = _create(client, tokens["admin"])
    url = f"/api/v1/environments/{env['id']}"
    refused = client.patch(url, json={"sync_interval_s": 30}, headers=bearer(tokens["admin"]))
    assert refused.status_code == 422
    assert "CANONFLOW_MIN_SYNC_INTERVAL_S" in refused.json()["detail"]
    created = client.post(
        "/api/v1/environments",
        json={"name": "dev", "base_url": "http://127.0.0.1:5679", "api_key": "k"}
        | {"sync_interval_s": 5},
        headers=bearer(tokens["admin"]),
    )
    assert created.status_code == 422 and "CANONFLOW_MIN_SYNC_INTERVAL_S" in created.text
    assert client.get(url, headers=bearer(tokens["admin"])).json()["sync_interval_s"] == 3600


def test_only_an_admin_changes_a_schedule(client: TestClient, tokens: dict[str, str]) -> None:
    env = _create(client, tokens["admin"])
    response = client.patch(
        f"/api/v1/environments/{env['id']}",
        json={"paused": True},
        headers=bearer(tokens["operator"]),
    )
    assert response.status_code == 403


def test_last_sync_shows_the_latest_run(
    client: TestClient, runtime: Runtime, tokens: dict[str, str]
) -> None:
    env = _create(client, tokens["admin"])
    env_id = uuid.UUID(str(env["id"]))
    started = utcnow() - timedelta(minutes=5)
    with transaction(runtime.sessions) as session:
        acme = session.scalars(select(Tenant.id).where(Tenant.slug == "acme")).one()
        job = BackgroundJob(tenant_id=acme, type="environment.sync")
        session.add(job)
        session.flush()
        for minutes, error, complete in ((0, "n8n said 500", False), (2, None, True)):
            session.add(
                SyncRun(
                    tenant_id=job.tenant_id,
                    kind=SyncKind.ENVIRONMENT,
                    environment_id=env_id,
                    job_id=job.id,
                    complete=complete,
                    error=error,
                    duration_ms=1500,
                    started_at=started + timedelta(minutes=minutes),
                    finished_at=started + timedelta(minutes=minutes, seconds=2),
                )
            )
        job_id = job.id
    (listed,) = client.get("/api/v1/environments", headers=bearer(tokens["admin"])).json()
    assert listed["last_sync"] == {
        "at": listed["last_sync"]["at"],
        "outcome": "succeeded",
        "duration_s": 1.5,
        "job_id": str(job_id),
    }
    assert _at(listed["last_sync"]["at"]) == started + timedelta(minutes=2, seconds=2)


def test_the_repository_has_its_own_schedule(
    client: TestClient, runtime: Runtime, tokens: dict[str, str]
) -> None:
    admin = bearer(tokens["admin"])
    put = client.put(
        "/api/v1/repository", json={"url": "https://git.example.test/ops/n8n.git"}, headers=admin
    )
    assert put.status_code == 200, put.text
    assert put.json()["sync_interval_s"] == 3600 and put.json()["paused"] is False
    patched = client.patch("/api/v1/repository", json={"sync_interval_s": 120}, headers=admin)
    assert patched.status_code == 200, patched.text
    assert _at(patched.json()["next_sync_at"]) <= utcnow() + timedelta(minutes=2)
    paused = client.patch("/api/v1/repository", json={"paused": True}, headers=admin)
    assert paused.json()["paused"] is True and paused.json()["next_sync_at"] is None
    too_fast = client.patch("/api/v1/repository", json={"sync_interval_s": 10}, headers=admin)
    assert too_fast.status_code == 422 and "CANONFLOW_MIN_SYNC_INTERVAL_S" in too_fast.text
    with transaction(runtime.sessions) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "repository.schedule")
        ).all()
    assert len(actions) == 2
