"""`/api/v1/notifications` on both backends: the destinations (secrets never returned, kept
by `id`), validation as RFC 7807, the test send through the delivery job, the log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.db.models import AuditEntry, NotificationDestination
from canonflow.notifications.signing import DELIVERY_HEADER, EVENT_HEADER
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token
from tests.notifications.conftest import SECRET, delivery_log, destination, wait_deliveries
from tests.notifications.receiver import Receiver

URL = "/api/v1/notifications"


@dataclass
class Team:
    tenant_id: uuid.UUID
    admin: dict[str, str]
    viewer: dict[str, str]


@pytest.fixture
def team(runtime: Runtime) -> Team:
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        admin = bearer(make_token(session, tenant, role=Role.ADMIN))
        viewer = bearer(make_token(session, tenant, role=Role.VIEWER))
        return Team(tenant.id, admin, viewer)


def _problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    return dict(response.json())  # type: ignore[attr-defined]


def test_put_then_get_never_returns_a_secret(client: TestClient, team: Team) -> None:
    hooks = [
        destination("http://127.0.0.1:9/a", "drift.detected", "sync.failed"),
        destination("http://127.0.0.1:9/b", "apply.finished", kind="slack", secret=None),
    ]
    put = client.put(URL, json={"destinations": hooks}, headers=team.admin)
    assert put.status_code == 200, put.text
    got = client.get(URL, headers=team.viewer)
    assert got.status_code == 200
    rows = got.json()["destinations"]
    assert [(r["url"], r["kind"], r["has_secret"]) for r in rows] == [
        ("http://127.0.0.1:9/a", "generic", True),
        ("http://127.0.0.1:9/b", "slack", False),
    ]
    assert rows[0]["events"] == ["drift.detected", "sync.failed"]
    assert "drift.detected" in got.json()["events"]
    for response in (put, got):
        assert SECRET not in response.text and '"secret"' not in response.text


def test_an_id_keeps_the_stored_secret_and_a_new_host_needs_it_again(
    client: TestClient, runtime: Runtime, team: Team
) -> None:
    first = client.put(
        URL, json={"destinations": [destination("http://127.0.0.1:9/a", "sync.failed")]},
        headers=team.admin,
    )  # fmt: skip
    [row] = first.json()["destinations"]
    sealed = _sealed(runtime, row["id"])
    kept = {"id": row["id"], "url": "http://127.0.0.1:9/b", "events": ["drift.detected"]}
    again = client.put(URL, json={"destinations": [kept]}, headers=team.admin)
    assert again.status_code == 200, again.text
    assert again.json()["destinations"][0] == again.json()["destinations"][0] | {
        "id": row["id"], "has_secret": True, "events": ["drift.detected"],
    }  # fmt: skip
    assert _sealed(runtime, row["id"]) == sealed  # not re-sealed: the same stored secret
    moved = kept | {"url": "http://127.0.0.1:10/b"}
    problem = _problem(client.put(URL, json={"destinations": [moved]}, headers=team.admin), 422)
    assert "destinations[0].secret" in str(problem["detail"])
    dropped = client.put(URL, json={"destinations": []}, headers=team.admin)
    assert dropped.json()["destinations"] == []
    with transaction(runtime.sessions) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.tenant_id == team.tenant_id)
        ).all()
        details = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "notifications.put")
        ).all()
    assert actions.count("notifications.put") == 3
    assert SECRET not in str(details)


def _sealed(runtime: Runtime, destination_id: str) -> str:
    with transaction(runtime.sessions) as session:
        row = session.get(NotificationDestination, uuid.UUID(destination_id))
        assert row is not None and row.secret is not None
        return row.secret.token


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"kind": "teams"}, "kind"),
        ({"events": ["drift.found"]}, "drift.found"),
        ({"events": []}, "events"),
        ({"url": "http://169.254.169.254/latest"}, "destinations[0].url"),
        ({"url": "file:///etc/passwd"}, "destinations[0].url"),
        ({"secret": "short"}, "8 characters"),
    ],
)
def test_bad_destinations_are_422(
    client: TestClient, team: Team, change: dict[str, object], says: str
) -> None:
    body = destination("http://127.0.0.1:9/a", "sync.failed") | change
    problem = _problem(client.put(URL, json={"destinations": [body]}, headers=team.admin), 422)
    assert says in str(problem["detail"])
    assert client.get(URL, headers=team.admin).json()["destinations"] == []  # nothing written


def test_an_unknown_id_is_404_and_a_repeated_one_422(client: TestClient, team: Team) -> None:
    body = destination("http://127.0.0.1:9/a", "sync.failed") | {"id": str(uuid.uuid4())}
    _problem(client.put(URL, json={"destinations": [body]}, headers=team.admin), 404)
    hook = destination("http://127.0.0.1:9/a", "sync.failed")
    put = client.put(URL, json={"destinations": [hook]}, headers=team.admin)
    twice = [hook | {"id": put.json()["destinations"][0]["id"]}] * 2
    problem = _problem(client.put(URL, json={"destinations": twice}, headers=team.admin), 422)
    assert "twice" in str(problem["detail"])


def test_the_test_event_goes_through_the_delivery_job_signed(
    client: TestClient, runtime: Runtime, team: Team, receiver: Receiver
) -> None:
    hooks = [destination(receiver.url, "drift.detected")]
    client.put(URL, json={"destinations": hooks}, headers=team.admin).raise_for_status()
    _problem(client.post(f"{URL}/test", json={"destination_id": str(uuid.uuid4())},
                         headers=team.admin), 404)  # fmt: skip
    accepted = client.post(f"{URL}/test", headers=team.admin)
    assert accepted.status_code == 202, accepted.text
    [job] = wait_deliveries(runtime, team.tenant_id)
    assert str(job.id) == accepted.json()["job_id"]
    [received] = receiver.requests
    assert received.signed_by(SECRET)
    assert not received.signed_by("another-secret")
    body = received.json()
    assert body["event"] == "test" and received.headers[EVENT_HEADER] == "test"
    assert received.headers[DELIVERY_HEADER] == body["id"]
    assert set(body) == {"id", "event", "tenant", "occurred_at", "data"}
    assert SECRET not in received.body.decode()
    page = client.get(f"{URL}/deliveries", headers=team.viewer)
    assert page.status_code == 200
    [logged] = page.json()["deliveries"]
    assert (logged["status"], logged["attempt"], logged["http_status"]) == ("delivered", 1, 200)
    assert SECRET not in page.text
    assert delivery_log(runtime, team.tenant_id)[0].event == "test"


def test_the_delivery_log_is_keyset_paged_and_filtered(
    client: TestClient, runtime: Runtime, team: Team
) -> None:
    with Receiver([500, 500, 500, 400]) as failing:
        hooks = [destination(failing.url, "drift.detected")]
        client.put(URL, json={"destinations": hooks}, headers=team.admin).raise_for_status()
        client.post(f"{URL}/test", headers=team.admin).raise_for_status()
        wait_deliveries(runtime, team.tenant_id)
        client.post(f"{URL}/test", headers=team.admin).raise_for_status()
        wait_deliveries(runtime, team.tenant_id)
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"{URL}/deliveries", params=params, headers=team.viewer).json()
        seen += page["deliveries"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [d["attempt"] for d in seen] == [1, 3, 2, 1]  # newest first
    assert [d["status"] for d in seen] == ["failed", "failed", "retrying", "retrying"]
    failed = client.get(f"{URL}/deliveries", params={"status": "failed"}, headers=team.viewer)
    assert [d["http_status"] for d in failed.json()["deliveries"]] == [400, 500]
    assert client.get(f"{URL}/deliveries", params={"event": "drift.detected"},
                      headers=team.viewer).json()["deliveries"] == []  # fmt: skip
    _problem(client.get(f"{URL}/deliveries", params={"event": "nope"}, headers=team.viewer), 422)
    _problem(client.get(f"{URL}/deliveries", params={"cursor": "x"}, headers=team.viewer), 422)
