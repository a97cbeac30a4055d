"""The onboarding endpoints end to end: preflight, inventory job, create-pr, completion."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from canonflow.core.enums import JobStatus, Role
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, Environment, Tenant
from canonflow.db.types import utcnow
from canonflow.onboarding.tasks import CANONICAL_ONBOARDING_INVENTORY
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token
from tests.onboarding.conftest import Estate
from tests.support.n8n_fixtures import make_workflow


def _token(runtime: Runtime, tenant_id: uuid.UUID, role: Role = Role.OPERATOR) -> dict[str, str]:
    with transaction(runtime.sessions) as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        return bearer(make_token(session, tenant, role=role))


def _preflight(client: TestClient, headers: dict[str, str]) -> Any:
    response = client.get("/api/v1/canonical/onboard/preflight", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_preflight_names_what_to_do(client: TestClient, runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        headers = bearer(make_token(session, tenant, role=Role.OPERATOR))
    report = _preflight(client, headers)
    assert report["ready"] is False
    assert any("no environments: add one" in e for e in report["errors"])
    assert any("no Git repository is configured" in e for e in report["errors"])


def test_preflight_of_a_ready_estate_then_its_failures(
    client: TestClient, estate: Estate, runtime: Runtime
) -> None:
    headers = _token(runtime, estate.tenant_id)
    report = _preflight(client, headers)
    assert report["ready"] is True, report["errors"]
    assert any("no forge is configured" in w for w in report["warnings"])

    with transaction(runtime.sessions) as session:
        session.execute(
            update(Environment)
            .where(Environment.id == estate.dev_id)
            .values(base_url="http://127.0.0.1:9")
        )
        session.execute(
            update(Tenant)
            .where(Tenant.id == estate.tenant_id)
            .values(entitlements={"onboarding": False})
        )
    report = _preflight(client, headers)
    assert report["ready"] is False
    assert any(e.startswith("environment 'dev' is not reachable") for e in report["errors"])
    assert any("does not include onboarding" in e for e in report["errors"])


@pytest.mark.compat
def test_inventory_job_create_pr_and_completion(
    client: TestClient, estate: Estate, runtime: Runtime
) -> None:
    headers = _token(runtime, estate.tenant_id)
    estate.create("prod", make_workflow("Orders", 3))
    estate.create("dev", make_workflow("Scratchpad", 2))
    before = client.get("/api/v1/canonical/onboard/completion", headers=headers).json()
    assert (before["status"], before["complete"]) == ("not_started", False)
    early = client.post("/api/v1/canonical/onboard/create-pr", headers=headers)
    assert early.status_code == 409 and "inventory" in early.json()["detail"]

    accepted = client.post("/api/v1/canonical/onboard/inventory", headers=headers)
    assert accepted.status_code == 202, accepted.text
    job_id = uuid.UUID(accepted.json()["job_id"])
    runtime.runner.wait(job_id, timeout=120)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
    assert job["status"] == "succeeded", job
    assert job["type"] == "canonical.onboarding.inventory"
    assert job["result"]["canonicals_created"] == 1

    done = client.get("/api/v1/canonical/onboard/completion", headers=headers).json()
    assert done["status"] == "onboarded" and done["anchor"]["name"] == "prod"
    assert done["canonical_workflows"] == 1 and done["pull_request"] is None
    by_name = {e["name"]: e for e in done["environments"]}
    assert by_name["dev"]["untracked"] == 1
    assert by_name["dev"]["untracked_sample"] == ["Scratchpad"]
    assert by_name["prod"]["linked"] == 1 and by_name["dev"]["last_synced_at"]

    pr = client.post("/api/v1/canonical/onboard/create-pr", headers=headers)
    assert pr.status_code == 200, pr.text
    assert pr.json()["state"] == "pushed" and pr.json()["branch"].startswith(
        "canonflow/onboarding-"
    )
    final = client.get("/api/v1/canonical/onboard/completion", headers=headers).json()
    assert final["complete"] is True and final["pull_request"]["branch"] == pr.json()["branch"]


def test_a_second_inventory_while_one_is_queued_answers_the_queued_one(
    client: TestClient, estate: Estate, runtime: Runtime
) -> None:
    headers = _token(runtime, estate.tenant_id)
    runtime.runner.shutdown(wait=True)  # keep the job queued: nothing runs it here
    first = client.post("/api/v1/canonical/onboard/inventory", headers=headers)
    assert first.status_code == 202
    second = client.post("/api/v1/canonical/onboard/inventory", headers=headers)
    assert second.status_code == 202, second.text
    assert second.json() == first.json()  # the queued job's body, not a second job
    assert second.json()["status"] == "queued"
    assert _inventories(runtime, estate.tenant_id) == [JobStatus.QUEUED]
    report = _preflight(client, headers)
    assert any("already queued" in e for e in report["errors"])


def test_while_an_inventory_runs_at_most_one_more_waits(
    client: TestClient, estate: Estate, runtime: Runtime
) -> None:
    headers = _token(runtime, estate.tenant_id)
    runtime.runner.shutdown(wait=True)  # the running one stays running: nothing ends it
    with transaction(runtime.sessions) as session:
        running = BackgroundJob(
            tenant_id=estate.tenant_id,
            type=CANONICAL_ONBOARDING_INVENTORY,
            status=JobStatus.RUNNING,
            lock_key=f"inventory:{estate.tenant_id}",
            queueing_key=f"inventory:{estate.tenant_id}",
            worker_id="elsewhere:1:abc",
            heartbeat_at=utcnow(),
            started_at=utcnow(),
        )
        session.add(running)
    answers = [
        client.post("/api/v1/canonical/onboard/inventory", headers=headers) for _ in range(5)
    ]
    assert {a.status_code for a in answers} == {202}
    waiting = {a.json()["job_id"] for a in answers}
    assert len(waiting) == 1 and str(running.id) not in waiting
    assert sorted(_inventories(runtime, estate.tenant_id)) == [JobStatus.QUEUED, JobStatus.RUNNING]
    done = client.get("/api/v1/canonical/onboard/completion", headers=headers).json()
    assert done["status"] == "inventory_running" and done["inventory_job_id"] == str(running.id)


def _inventories(runtime: Runtime, tenant_id: uuid.UUID) -> list[JobStatus]:
    with transaction(runtime.sessions) as session:
        return list(
            session.scalars(
                select(BackgroundJob.status).where(
                    BackgroundJob.tenant_id == tenant_id,
                    BackgroundJob.type == CANONICAL_ONBOARDING_INVENTORY,
                )
            )
        )


def test_viewers_cannot_start_anything(
    client: TestClient, estate: Estate, runtime: Runtime
) -> None:
    viewer = _token(runtime, estate.tenant_id, Role.VIEWER)
    assert client.post("/api/v1/canonical/onboard/inventory", headers=viewer).status_code == 403
    assert client.post("/api/v1/canonical/onboard/create-pr", headers=viewer).status_code == 403
    assert client.get("/api/v1/canonical/onboard/completion", headers=viewer).status_code == 200
