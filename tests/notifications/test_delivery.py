"""The delivery job on both backends, against real receivers on loopback: retries with
backoff, 4xx not retried, one destination's failure not stopping another, one message per
batch, only the tenant's own subscribed destinations."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import NotificationDestination, Tenant
from canonflow.notifications import events
from canonflow.notifications.signing import DELIVERY_HEADER
from canonflow.runtime import Runtime
from tests.factories import make_tenant
from tests.notifications.conftest import SECRET, delivery_jobs, delivery_log, wait_deliveries
from tests.notifications.receiver import Receiver

DRIFT = {
    "environment": "dev",
    "workflows": [{"slug": "orders", "name": "Orders"}, {"slug": "billing", "name": "Billing"}],
}


def _tenant_with(runtime: Runtime, *hooks: tuple[str, str, list[str]]) -> uuid.UUID:
    """A tenant whose destinations are `(url, kind, events)`, secret SECRET."""
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        for position, (url, kind, names) in enumerate(hooks):
            session.add(
                NotificationDestination(
                    tenant_id=tenant.id, position=position, url=url, kind=kind,
                    secret=runtime.secrets.seal(SECRET), events=names,
                )
            )  # fmt: skip
        return tenant.id


def _emit(runtime: Runtime, tenant_id: uuid.UUID, event: str, payload: dict[str, object]) -> None:
    with transaction(runtime.sessions) as session:
        events.emit(session, runtime.jobs, tenant_id, event, payload)


def test_a_receiver_failing_twice_gets_it_on_the_third_try(runtime: Runtime) -> None:
    with Receiver([500, 503]) as receiver:
        tenant_id = _tenant_with(runtime, (receiver.url, "generic", ["drift.detected"]))
        _emit(runtime, tenant_id, "drift.detected", DRIFT)
        [job] = wait_deliveries(runtime, tenant_id)
    assert job.status is JobStatus.SUCCEEDED, job.error
    assert len(receiver.requests) == 3
    assert all(r.signed_by(SECRET) for r in receiver.requests)
    assert len({r.headers[DELIVERY_HEADER] for r in receiver.requests}) == 1  # one event
    assert len({r.body for r in receiver.requests}) == 1
    log = delivery_log(runtime, tenant_id)
    assert [(d.attempt, d.status, d.http_status) for d in log] == [
        (1, "retrying", 500),
        (2, "retrying", 503),
        (3, "delivered", 200),
    ]
    assert log[0].error == "the receiver answered HTTP 500"
    assert log[2].delivered_at is not None and log[0].delivered_at is None


def test_a_4xx_is_not_retried_and_does_not_stop_the_other_destinations(runtime: Runtime) -> None:
    with Receiver([400]) as refusing, Receiver([429]) as busy, Receiver() as fine:
        tenant_id = _tenant_with(
            runtime,
            (refusing.url, "generic", ["sync.failed"]),
            (busy.url, "generic", ["sync.failed"]),
            (fine.url, "slack", ["sync.failed"]),
        )
        _emit(runtime, tenant_id, "sync.failed", {"kind": "repository", "error": "boom"})
        [job] = wait_deliveries(runtime, tenant_id)
    assert (len(refusing.requests), len(busy.requests), len(fine.requests)) == (1, 2, 1)
    assert job.status is JobStatus.FAILED
    assert job.error is not None and "1 of 3 destination(s)" in job.error
    statuses = [(d.url, d.attempt, d.status) for d in delivery_log(runtime, tenant_id)]
    assert (refusing.url, 1, "failed") in statuses
    assert (busy.url, 2, "delivered") in statuses
    slack = fine.requests[0].json()
    assert slack["text"] == "Sync of repository failed: boom"
    assert slack["blocks"][0]["type"] == "section"


def test_a_dead_receiver_fails_after_every_attempt_with_a_readable_error(
    runtime: Runtime,
) -> None:
    closed = Receiver()
    url = closed.url
    closed.close()  # nothing listens there any more
    tenant_id = _tenant_with(runtime, (url, "generic", ["apply.finished"]))
    _emit(runtime, tenant_id, "apply.finished", {"status": "succeeded", "counts": {}})
    [job] = wait_deliveries(runtime, tenant_id)
    assert job.status is JobStatus.FAILED
    log = delivery_log(runtime, tenant_id)
    assert [d.status for d in log] == ["retrying", "retrying", "failed"]
    assert {d.error for d in log} == {"could not connect to the receiver"}


def test_nobody_listening_queues_nothing_and_tenants_stay_apart(runtime: Runtime) -> None:
    with Receiver() as theirs:
        other = _tenant_with(runtime, (theirs.url, "generic", ["drift.detected"]))
        quiet = _tenant_with(runtime)
        elsewhere = _tenant_with(runtime, (theirs.url, "generic", ["sync.failed"]))
        _emit(runtime, quiet, "drift.detected", DRIFT)
        _emit(runtime, elsewhere, "drift.detected", DRIFT)  # subscribed to another event
        assert delivery_jobs(runtime, quiet) == [] and delivery_jobs(runtime, elsewhere) == []
        assert delivery_jobs(runtime, other) == []
        _emit(runtime, other, "drift.detected", DRIFT)
        [job] = wait_deliveries(runtime, other)
    assert job.status is JobStatus.SUCCEEDED
    [received] = theirs.requests  # one message for the batch
    body = received.json()
    with transaction(runtime.sessions) as session:
        slug = session.scalar(select(Tenant.slug).where(Tenant.id == other))
    assert body["tenant"] == slug
    assert [w["slug"] for w in body["data"]["workflows"]] == ["orders", "billing"]


def test_an_unknown_event_is_a_programming_error(runtime: Runtime) -> None:
    tenant_id = _tenant_with(runtime)
    try:
        _emit(runtime, tenant_id, "drift.found", {})
    except ValueError as exc:
        assert "drift.found" in str(exc)
    else:
        raise AssertionError("emit accepted an unknown event")


def test_other_features_events_reach_slack_with_a_readable_summary(runtime: Runtime) -> None:
    with Receiver() as slack:
        tenant_id = _tenant_with(
            runtime, (slack.url, "slack", ["approval.requested", "promotion.finished"])
        )
        approval = uuid.uuid4()
        _emit(runtime, tenant_id, "approval.requested", {
            "approval_id": approval, "link": f"/api/v1/approvals/{approval}",
            "environment": "prod", "requested_by": "ops-bot",
        })  # fmt: skip
        _emit(runtime, tenant_id, "promotion.finished", {
            "job_id": "j1", "link": "/api/v1/jobs/j1", "from_environment": "dev",
            "to_environment": "prod", "status": "succeeded", "counts": {"deployed": 2},
        })  # fmt: skip
        jobs = wait_deliveries(runtime, tenant_id)
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED] * 2
    texts = sorted(r.json()["text"] for r in slack.requests)
    assert texts == [
        f"Approval requested by ops-bot for prod: /api/v1/approvals/{approval}",
        "Promotion dev -> prod succeeded: /api/v1/jobs/j1",
    ]
    assert all(r.signed_by(SECRET) for r in slack.requests)
