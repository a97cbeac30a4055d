"""`/api/v1/environments`: CRUD, roles, tenant isolation, a write-only encrypted key."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.db.models import AuditEntry
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token

SECRET = "n8n_api_key_that_must_never_come_back"


@pytest.fixture
def tokens(runtime: Runtime) -> dict[str, str]:
    with transaction(runtime.sessions) as session:
        acme = make_tenant(session, slug="acme")
        other = make_tenant(session, slug="other")
        return {
            "admin": make_token(session, acme, role=Role.ADMIN),
            "operator": make_token(session, acme, role=Role.OPERATOR),
            "viewer": make_token(session, acme, role=Role.VIEWER),
            "other": make_token(session, other, role=Role.ADMIN),
        }


def _create(client: TestClient, token: str, **overrides: Any) -> Any:
    body = {"name": "prod", "base_url": "http://127.0.0.1:5678/", "api_key": SECRET} | overrides
    return client.post("/api/v1/environments", json=body, headers=bearer(token))


def test_create_read_update_delete(client: TestClient, tokens: dict[str, str]) -> None:
    created = _create(client, tokens["admin"], kind="production", is_anchor=True)
    assert created.status_code == 201, created.text
    env = created.json()
    assert env["base_url"] == "http://127.0.0.1:5678"
    assert env["is_anchor"] and env["batch_size"] == 100
    assert "api_key" not in env and SECRET not in created.text
    env_id = env["id"]
    got = client.get(f"/api/v1/environments/{env_id}", headers=bearer(tokens["viewer"]))
    assert got.json()["name"] == "prod" and SECRET not in got.text
    patched = client.patch(
        f"/api/v1/environments/{env_id}",
        json={"batch_size": 250, "api_key": "rotated-key"},
        headers=bearer(tokens["admin"]),
    )
    assert patched.status_code == 200 and patched.json()["batch_size"] == 250
    deleted = client.delete(f"/api/v1/environments/{env_id}", headers=bearer(tokens["admin"]))
    assert deleted.status_code == 204
    assert (
        client.get(f"/api/v1/environments/{env_id}", headers=bearer(tokens["admin"])).status_code
        == 404
    )


def test_the_key_is_encrypted_at_rest_and_writes_are_audited(
    client: TestClient, runtime: Runtime, tokens: dict[str, str]
) -> None:
    _create(client, tokens["admin"])
    with transaction(runtime.sessions) as session:
        stored = session.execute(text("SELECT api_key FROM environments")).scalar_one()
        details = session.scalars(select(AuditEntry.details)).all()
    assert SECRET not in stored
    assert all(SECRET not in str(d) for d in details)
    assert any(d.get("name") == "prod" for d in details)


def test_one_anchor_per_tenant_moves(client: TestClient, tokens: dict[str, str]) -> None:
    _create(client, tokens["admin"], name="prod", is_anchor=True)
    _create(client, tokens["admin"], name="dev", is_anchor=True)
    envs = client.get("/api/v1/environments", headers=bearer(tokens["admin"])).json()
    assert {e["name"]: e["is_anchor"] for e in envs} == {"dev": True, "prod": False}


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"base_url": "ftp://x"}, "base_url"),
        ({"name": "bad name!"}, "name"),
        ({"batch_size": 0}, "batch_size"),
        ({"api_key": ""}, "api_key"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_input_is_a_422_problem(
    client: TestClient, tokens: dict[str, str], overrides: dict[str, Any], fragment: str
) -> None:
    response = _create(client, tokens["admin"], **overrides)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.json()["detail"]


def test_malformed_json_is_a_422_problem(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/environments",
        content=b'{"name": "prod",',
        headers=bearer(tokens["admin"]) | {"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_duplicate_name_is_409(client: TestClient, tokens: dict[str, str]) -> None:
    assert _create(client, tokens["admin"]).status_code == 201
    response = _create(client, tokens["admin"])
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


def test_roles(client: TestClient, tokens: dict[str, str]) -> None:
    assert _create(client, tokens["operator"]).status_code == 403
    env_id = _create(client, tokens["admin"]).json()["id"]
    viewer = bearer(tokens["viewer"])
    assert client.post(f"/api/v1/environments/{env_id}/sync", headers=viewer).status_code == 403
    assert client.delete(f"/api/v1/environments/{env_id}", headers=viewer).status_code == 403


def test_other_tenants_cannot_see_or_touch(client: TestClient, tokens: dict[str, str]) -> None:
    env_id = _create(client, tokens["admin"]).json()["id"]
    other = bearer(tokens["other"])
    assert client.get("/api/v1/environments", headers=other).json() == []
    for method, path in [
        ("GET", f"/api/v1/environments/{env_id}"),
        ("PATCH", f"/api/v1/environments/{env_id}"),
        ("DELETE", f"/api/v1/environments/{env_id}"),
        ("POST", f"/api/v1/environments/{env_id}/sync"),
        ("POST", f"/api/v1/environments/{env_id}/test-connection"),
        ("POST", f"/api/v1/canonical/sync-environment/{env_id}"),
    ]:
        response = client.request(
            method, path, headers=other, json={} if method == "PATCH" else None
        )
        assert response.status_code == 404, (method, path)


def test_unreachable_environment_connection_test_says_why(
    client: TestClient, tokens: dict[str, str]
) -> None:
    env_id = _create(client, tokens["admin"], base_url="http://127.0.0.1:9").json()["id"]
    response = client.post(
        f"/api/v1/environments/{env_id}/test-connection", headers=bearer(tokens["operator"])
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert "127.0.0.1:9" in body["detail"] and SECRET not in body["detail"]


def test_a_sync_request_while_one_waits_answers_the_waiting_job(
    client: TestClient, runtime: Runtime, tokens: dict[str, str]
) -> None:
    env_id = _create(client, tokens["admin"], base_url="http://127.0.0.1:9").json()["id"]
    runtime.runner.shutdown(wait=True)  # keep the job queued: nothing runs it here
    first = client.post(f"/api/v1/environments/{env_id}/sync", headers=bearer(tokens["operator"]))
    assert first.status_code == 202
    assert first.json()["url"] == f"/api/v1/jobs/{first.json()['job_id']}"
    second = client.post(
        f"/api/v1/canonical/sync-environment/{env_id}", headers=bearer(tokens["operator"])
    )
    assert second.status_code == 202  # not a 409, not a second job: the queued one
    assert second.json() == first.json()
