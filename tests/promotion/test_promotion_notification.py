"""A finished promotion is announced: one signed `promotion.finished` message to a real
receiver on loopback, with the environments, the state and what each phase did."""

from __future__ import annotations

from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from tests.factories import bearer, make_token
from tests.notifications.conftest import SECRET, destination, receiver, wait_deliveries  # noqa: F401
from tests.notifications.receiver import Receiver
from tests.promotion.conftest import Promoting
from tests.reconcile.conftest import set_value


def test_a_promotion_that_succeeds_sends_promotion_finished(
    promoting: Promoting,
    receiver: Receiver,  # noqa: F811 (the imported fixture)
) -> None:
    p, linked = promoting, promoting.linked
    runtime, tenant_id = linked.e.runtime, linked.e.tenant_id
    with transaction(runtime.sessions) as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        admin = bearer(make_token(session, tenant, role=Role.ADMIN))
    hook = destination(receiver.url, "promotion.finished")
    linked.client.put(
        "/api/v1/notifications", json={"destinations": [hook]}, headers=admin
    ).raise_for_status()
    dev_id = linked.mapping("orders", "dev").n8n_workflow_id
    linked.edit_in_n8n("dev", dev_id, set_value("announced"))
    linked.sync("dev")

    accepted = p.start("dev", "prod", canonical_ids=p.ids("orders"))
    assert linked.wait(accepted["job_id"])["status"] == "succeeded"

    [job] = wait_deliveries(runtime, tenant_id)
    assert job.error is None, job.error
    [received] = receiver.requests
    assert received.signed_by(SECRET)
    body = received.json()
    assert body["event"] == "promotion.finished"
    data = body["data"]
    assert (data["from_environment"], data["to_environment"]) == ("dev", "prod")
    assert data["status"] == "succeeded"
    assert data["promotion_id"] == accepted["promotion_id"]
    assert data["link"] == f"/api/v1/promotions/{accepted['promotion_id']}"
    assert data["counts"]["deploy"] == {"applied": 1}, data["counts"]
