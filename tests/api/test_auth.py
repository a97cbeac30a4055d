"""Bearer-token authentication and role checks, as problem JSON."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow.core.enums import JobStatus, Role
from canonflow.db.engine import transaction
from canonflow.db.models import ApiToken, AuditEntry, BackgroundJob
from canonflow.runtime import Runtime
from canonflow.tenancy import service
from tests.factories import bearer, make_tenant, make_token


def _assert_problem(response_json: dict[str, object], status: int) -> None:
    assert response_json["status"] == status
    assert isinstance(response_json["detail"], str) and response_json["detail"]
    assert str(response_json["type"]).startswith("urn:canonflow:problem:")


@pytest.fixture
def tokens(runtime: Runtime) -> dict[str, str]:
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session, slug="acme")
        return {role.value: make_token(session, tenant, role=role) for role in Role}


def test_whoami_with_a_valid_token(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.get("/api/v1/me", headers=bearer(tokens["operator"]))
    assert response.status_code == 200
    assert response.json()["tenant"] == "acme"
    assert response.json()["role"] == "operator"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer cf_not-a-real-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
    ],
    ids=["missing", "unknown", "wrong-scheme", "empty"],
)
def test_bad_credentials_are_401_problems(
    client: TestClient, tokens: dict[str, str], headers: dict[str, str]
) -> None:
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    _assert_problem(response.json(), 401)


def test_revoked_token_is_401(client: TestClient, runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        issued = service.issue_token(
            session, tenant=tenant, role=Role.ADMIN, name="t", actor="test"
        )
    assert client.get("/api/v1/me", headers=bearer(issued.secret)).status_code == 200
    with transaction(runtime.sessions) as session:
        tenant_row = service.get_tenant_or_raise(session, tenant.slug)
        service.revoke_token(session, tenant=tenant_row, token_id=issued.token.id, actor="test")
    response = client.get("/api/v1/me", headers=bearer(issued.secret))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_viewer_cannot_cancel_a_job_but_operator_can(
    client: TestClient, runtime: Runtime, tokens: dict[str, str]
) -> None:
    job_id = _queued_job(runtime, tenant_slug="acme")
    denied = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=bearer(tokens["viewer"]))
    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"
    assert "operator" in denied.json()["detail"]
    allowed = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=bearer(tokens["operator"]))
    assert allowed.status_code == 200
    assert allowed.json()["status"] == "cancelled"
    with transaction(runtime.sessions) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "job.cancel")).one()
    assert entry.target_id == str(job_id)
    assert entry.actor_token_id is not None
    # The request id of the call is bound to the log context and lands in the audit row.
    assert entry.request_id == allowed.headers["x-request-id"]


def test_token_is_stored_only_as_a_hash(session: Session) -> None:
    tenant = make_tenant(session)
    secret = make_token(session, tenant)
    stored = session.scalars(select(ApiToken)).one()
    assert secret not in (stored.token_hash, stored.name)
    assert len(stored.token_hash) == 64


def test_last_used_at_is_recorded(client: TestClient, runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        secret = make_token(session, make_tenant(session))
    client.get("/api/v1/me", headers=bearer(secret))
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(ApiToken.last_used_at)).one() is not None


def _queued_job(runtime: Runtime, *, tenant_slug: str) -> uuid.UUID:
    with transaction(runtime.sessions) as session:
        tenant = service.get_tenant_or_raise(session, tenant_slug)
        job = BackgroundJob(tenant_id=tenant.id, type="test.noop", status=JobStatus.QUEUED)
        session.add(job)
        session.flush()
        return job.id
