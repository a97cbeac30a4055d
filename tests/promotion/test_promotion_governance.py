"""Promotion meets the same gate as every write (real n8n dev/prod, real Git): a protected
target holds it for another admin's approval (announced to a real receiver), a closed sync
window refuses it unless an admin overrides it, and a merge that lands while the target's
window is closed does not deploy (the forge is the local stand-in of
`tests.support.forge_server`: no hosted forge can run here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from tests.factories import bearer, make_token
from tests.notifications.conftest import SECRET, destination, receiver, wait_deliveries  # noqa: F401
from tests.notifications.receiver import Receiver
from tests.promotion.conftest import Promoting
from tests.promotion.test_promotion_pull_request import _repo_sync_job, forge  # noqa: F401
from tests.reconcile.conftest import set_value
from tests.support.forge_server import FakeForge


def _admins(p: Promoting) -> tuple[dict[str, str], dict[str, str]]:
    with transaction(p.linked.e.runtime.sessions) as session:
        tenant = session.get(Tenant, p.linked.e.tenant_id)
        assert tenant is not None
        alice = bearer(make_token(session, tenant, role=Role.ADMIN, name="alice"))
        bob = bearer(make_token(session, tenant, role=Role.ADMIN, name="bob"))
    return alice, bob


def _patch_prod(p: Promoting, admin: dict[str, str], body: dict[str, Any]) -> None:
    response = p.linked.client.patch(
        f"/api/v1/environments/{p.env_id('prod')}", json=body, headers=admin
    )
    assert response.status_code == 200, response.text


def _post(p: Promoting, headers: dict[str, str], **extra: Any) -> Any:
    return p.linked.client.post(
        "/api/v1/canonical/promote",
        json=p.request("dev", "prod", dry_run=False, canonical_ids=p.ids("orders"), **extra),
        headers=headers,
    )


def _value(workflow: dict[str, Any]) -> Any:
    [node] = [n for n in workflow["nodes"] if n["name"] == "Set"]
    return node["parameters"]["assignments"]["assignments"][0]["value"]


def _deny_now() -> dict[str, Any]:
    started = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    cron = f"{started.minute} {started.hour} * * *"
    return {"kind": "deny", "cron": cron, "duration_s": 3600, "timezone": "UTC"}


def test_a_protected_target_holds_the_promotion_for_another_admin(
    promoting: Promoting,
    receiver: Receiver,  # noqa: F811 (the imported fixture)
) -> None:
    p, linked = promoting, promoting.linked
    alice, bob = _admins(p)
    _patch_prod(p, alice, {"protected": True})
    hook = destination(receiver.url, "approval.requested")
    linked.client.put(
        "/api/v1/notifications", json={"destinations": [hook]}, headers=alice
    ).raise_for_status()
    prod_id = linked.mapping("orders", "prod").n8n_workflow_id
    before = _value(linked.get("prod", prod_id))
    linked.edit_in_n8n("dev", linked.mapping("orders", "dev").n8n_workflow_id, set_value("gated"))
    linked.sync("dev")

    held = _post(p, linked.headers)  # the operator's token asks
    assert held.status_code == 202, held.text
    answer = held.json()
    assert answer["status"] == "pending_approval" and "promotion_id" not in answer, answer
    assert p.promotions_count() == 0  # nothing started, nothing written
    assert _value(linked.get("prod", prod_id)) == before
    [job] = wait_deliveries(linked.e.runtime, linked.e.tenant_id)
    assert job.error is None, job.error
    [announced] = receiver.requests
    assert announced.signed_by(SECRET)
    data = announced.json()["data"]
    assert data["approval_id"] == answer["approval_id"] and data["kind"] == "promotion"
    assert data["environment"] == "prod"

    url = f"/api/v1/approvals/{answer['approval_id']}"
    approved = linked.client.post(f"{url}/approve", json={"comment": "ok"}, headers=bob)
    assert approved.status_code == 200, approved.text
    job_id = approved.json()["job_id"]
    assert linked.wait(job_id)["status"] == "succeeded"
    [promotion] = linked.client.get("/api/v1/promotions", headers=linked.headers).json()[
        "promotions"
    ]
    assert promotion["state"] == "succeeded", promotion
    assert _value(linked.get("prod", prod_id)) == "gated"


def test_a_closed_window_refuses_a_promotion_and_an_admin_override_passes(
    promoting: Promoting,
) -> None:
    p, linked = promoting, promoting.linked
    alice, _bob = _admins(p)
    _patch_prod(p, alice, {"sync_windows": [_deny_now()]})
    linked.edit_in_n8n("dev", linked.mapping("orders", "dev").n8n_workflow_id, set_value("late"))
    linked.sync("dev")

    refused = _post(p, linked.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "urn:canonflow:problem:window-closed"
    assert refused.json()["environment"] == "prod"
    assert p.promotions_count() == 0
    assert _post(p, linked.headers, window_override="hotfix").status_code == 403

    passed = _post(p, alice, window_override="hotfix for the outage")
    assert passed.status_code == 202, passed.text
    assert linked.wait(passed.json()["job_id"])["status"] == "succeeded"
    prod_id = linked.mapping("orders", "prod").n8n_workflow_id
    assert _value(linked.get("prod", prod_id)) == "late"


def test_a_merge_while_the_window_is_closed_does_not_deploy(
    promoting: Promoting,
    forge: FakeForge,  # noqa: F811 (the imported fixture)
) -> None:
    p, linked = promoting, promoting.linked
    alice, _bob = _admins(p)
    prod_id = linked.mapping("orders", "prod").n8n_workflow_id
    before = _value(linked.get("prod", prod_id))
    linked.edit_in_n8n("dev", linked.mapping("orders", "dev").n8n_workflow_id, set_value("pr"))
    linked.sync("dev")
    started = _post(p, linked.headers)
    assert started.status_code == 202, started.text
    assert linked.wait(started.json()["job_id"])["status"] == "succeeded"
    promotion = p.promotion(started.json()["promotion_id"])
    assert promotion["state"] == "waiting_for_merge", promotion

    _patch_prod(p, alice, {"sync_windows": [_deny_now()]})  # the window closes meanwhile
    clone = linked.e.clone
    clone.git("fetch", "--quiet", "origin")
    clone.git("pull", "--quiet", "origin", "main")
    clone.git("merge", "--quiet", "--no-ff", "-m", "merge", f"origin/{promotion['branch']}")
    clone.git("push", "--quiet", "origin", "HEAD:main")
    forge.merge(1)
    _repo_sync_job(p)

    continued = p.promotion(promotion["id"])
    assert len(continued["job_ids"]) == 2
    linked.wait(continued["job_ids"][1])
    ended = p.promotion(promotion["id"])
    assert ended["state"] == "failed", ended
    assert "sync window of prod is closed" in ended["detail"], ended["detail"]
    assert _value(linked.get("prod", prod_id)) == before
