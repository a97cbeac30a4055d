"""Drift, conflict and apply notifications from real n8n (prod and dev) and real Git, on
both backends: an env sync sends ONE signed message per event batch, listing the
workflows and the changed node/parameter paths; an apply sends its counts and link."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from canonflow.core.enums import JobStatus, Role
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from canonflow.notifications.signing import EVENT_HEADER
from tests.factories import bearer, make_token
from tests.notifications.conftest import SECRET, destination, wait_deliveries
from tests.notifications.receiver import Receiver
from tests.reconcile.conftest import Linked, set_value

SET_PATH = "nodes.Set.parameters.assignments.assignments[0].value"


@pytest.fixture
def hooked(linked: Linked, receiver: Receiver) -> Iterator[tuple[Linked, Receiver]]:
    """`linked` with one destination (the receiver) for every event."""
    with transaction(linked.e.runtime.sessions) as session:
        tenant = session.get(Tenant, linked.e.tenant_id)
        assert tenant is not None
        admin = bearer(make_token(session, tenant, role=Role.ADMIN))
    hook = destination(
        receiver.url, "drift.detected", "conflict.detected", "apply.finished", "sync.failed"
    )
    linked.client.put(
        "/api/v1/notifications", json={"destinations": [hook]}, headers=admin
    ).raise_for_status()
    yield linked, receiver


def _sync_job(linked: Linked, where: str) -> dict[str, Any]:
    response = linked.client.post(
        f"/api/v1/environments/{linked.env_id(where)}/sync", headers=linked.headers
    )
    assert response.status_code == 202, response.text
    return linked.wait(response.json()["job_id"])


def _bodies(receiver: Receiver, event: str) -> list[dict[str, Any]]:
    return [r.json() for r in receiver.requests if r.headers[EVENT_HEADER] == event]


def test_one_drift_sends_one_signed_message_with_the_changed_paths(
    hooked: tuple[Linked, Receiver],
) -> None:
    linked, receiver = hooked
    orders = linked.mapping("orders", "dev").n8n_workflow_id
    linked.edit_in_n8n("dev", orders, set_value("edited in dev"))
    assert _sync_job(linked, "dev")["status"] == "succeeded"
    [job] = wait_deliveries(linked.e.runtime, linked.e.tenant_id)
    assert job.status is JobStatus.SUCCEEDED, job.error
    [received] = receiver.requests
    assert received.signed_by(SECRET)
    body = received.json()
    assert body["event"] == "drift.detected"
    data = body["data"]
    assert data["environment"] == "dev" and data["environment_id"] == str(linked.env_id("dev"))
    [workflow] = data["workflows"]
    assert (workflow["slug"], workflow["name"]) == ("orders", "Orders")
    assert workflow["changed_paths"] == [SET_PATH] and workflow["more_paths"] == 0
    assert _sync_job(linked, "dev")["status"] == "succeeded"  # nothing new: no message
    assert len(wait_deliveries(linked.e.runtime, linked.e.tenant_id)) == 1
    assert len(receiver.requests) == 1


def test_two_drifts_and_a_conflict_make_one_message_per_event(
    hooked: tuple[Linked, Receiver],
) -> None:
    linked, receiver = hooked
    for slug in ("orders", "billing", "sub-flow"):
        n8n_id = linked.mapping(slug, "dev").n8n_workflow_id
        linked.edit_in_n8n("dev", n8n_id, set_value(f"{slug} edited in dev"))
    linked.edit_in_git("sub-flow", set_value("sub-flow edited in git"))
    linked.repo_sync()  # sub-flow: Git is newer (out of date) before the env sync sees dev
    assert _sync_job(linked, "dev")["status"] == "succeeded"
    jobs = wait_deliveries(linked.e.runtime, linked.e.tenant_id)
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED] * 2
    [drift] = _bodies(receiver, "drift.detected")
    assert [w["slug"] for w in drift["data"]["workflows"]] == ["billing", "orders"]
    assert all(w["changed_paths"] == [SET_PATH] for w in drift["data"]["workflows"])
    [conflict] = _bodies(receiver, "conflict.detected")
    [workflow] = conflict["data"]["workflows"]
    assert workflow["slug"] == "sub-flow" and workflow["changed_paths"] == [SET_PATH]
    assert len(receiver.requests) == 2


def test_an_apply_reports_its_counts_and_link(hooked: tuple[Linked, Receiver]) -> None:
    linked, receiver = hooked
    orders = linked.mapping("orders", "dev").n8n_workflow_id
    linked.edit_in_n8n("dev", orders, set_value("edited in dev"))
    linked.sync("dev")  # directly, not as a job: no drift message
    applied = linked.apply("git_wins", scope={"environment_ids": [str(linked.env_id("dev"))]})
    assert applied["status"] == "succeeded", applied
    [job] = wait_deliveries(linked.e.runtime, linked.e.tenant_id)
    assert job.status is JobStatus.SUCCEEDED, job.error
    [received] = receiver.requests
    assert received.signed_by(SECRET)
    data = received.json()["data"]
    with transaction(linked.e.runtime.sessions) as session:
        apply_id = session.scalar(
            select(job.__class__.id).where(job.__class__.type == "canonical.reconcile.apply")
        )
    assert received.json()["event"] == "apply.finished"
    assert data["status"] == "succeeded" and data["counts"] == {"applied": 1}
    assert data["link"] == f"/api/v1/jobs/{apply_id}" and data["total"] == 1
    assert isinstance(uuid.UUID(data["job_id"]), uuid.UUID)


def test_a_tenant_without_destinations_queues_nothing_on_sync(linked: Linked) -> None:
    orders = linked.mapping("orders", "dev").n8n_workflow_id
    linked.edit_in_n8n("dev", orders, set_value("edited in dev"))
    assert _sync_job(linked, "dev")["status"] == "succeeded"
    assert linked.state("orders", "dev").value == "drift"
    assert wait_deliveries(linked.e.runtime, linked.e.tenant_id) == []
