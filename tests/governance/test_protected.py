"""Protected environments against real n8n and a real Git remote: a write into one waits
for an admin other than the requester, is held as a whole, and only Git's versions go in."""

from __future__ import annotations

from typing import Any

from canonflow.core.sync_state import SyncState
from tests.governance.conftest import Governed
from tests.reconcile.conftest import set_value


def _value(governed: Governed, slug: str, where: str) -> Any:
    linked = governed.linked
    workflow = linked.get(where, linked.mapping(slug, where).n8n_workflow_id)
    [node] = [n for n in workflow["nodes"] if n["name"] == "Set"]
    return node["parameters"]["assignments"]["assignments"][0]["value"]


def _protect(governed: Governed, where: str = "prod") -> None:
    response = governed.patch_env(where, {"protected": True})
    assert response.status_code == 200, response.text
    assert response.json()["protected"] is True
    [entry] = governed.audit("environment.update")
    assert entry.details == {"protected": True}


def _held(response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    body = dict(response.json())
    assert body["status"] == "pending_approval", body
    assert body["url"] == f"/api/v1/approvals/{body['approval_id']}"
    return body


def test_a_deploy_into_protected_prod_waits_for_another_admin(governed: Governed) -> None:
    linked = governed.linked
    _protect(governed)
    before = _value(governed, "orders", "prod")
    linked.edit_in_git("orders", set_value("from git"))
    linked.repo_sync()

    held = _held(governed.deploy("orders", "prod", governed.operator))
    assert held["waiting_for"] == "an admin other than test"
    assert _value(governed, "orders", "prod") == before  # nothing written
    assert linked.state("orders", "prod") is SyncState.OUT_OF_DATE
    listed = governed.get("/approvals", status="pending").json()["approvals"]
    assert [(a["id"], a["environments"], a["items"]) for a in listed] == [
        (held["approval_id"], ["prod"], 1)
    ]
    assert listed[0]["waiting_for"] == "an admin other than test"
    [requested] = governed.audit("approval.requested")
    assert requested.target_id == held["approval_id"]

    # the operator may not decide; an admin's own request waits for another admin
    url = f"/approvals/{held['approval_id']}"
    assert governed.post(f"{url}/approve", governed.operator, {}).status_code == 403
    own = _held(governed.deploy("billing", "prod", governed.admin_a))
    refused = governed.post(f"/approvals/{own['approval_id']}/approve", governed.admin_a, {})
    assert refused.status_code == 403, refused.text
    assert "alice requested this write and may not approve it" in refused.json()["detail"]
    withdrawn = governed.post(f"/approvals/{own['approval_id']}/reject", governed.admin_a, {})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "cancelled"

    approved = governed.post(f"{url}/approve", governed.admin_b, {"comment": "reviewed"})
    assert approved.status_code == 200, approved.text
    decided = approved.json()
    assert (decided["status"], decided["decided_by"], decided["comment"]) == (
        "approved", "bob", "reviewed",
    )  # fmt: skip
    assert decided["waiting_for"] is None and decided["job_id"]
    job = linked.wait(decided["job_id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["counts"] == {"applied": 1}
    assert _value(governed, "orders", "prod") == "from git"
    assert linked.state("orders", "prod") is SyncState.IN_SYNC
    again = governed.post(f"{url}/approve", governed.admin_a, {})
    assert again.status_code == 409 and "already approved" in again.json()["detail"]
    assert len(governed.audit("approval.approved")) == 1
    assert len(governed.audit("approval.cancelled")) == 1

    # rejected: nothing is written
    linked.edit_in_git("orders", set_value("second"))
    linked.repo_sync()
    second = _held(governed.deploy("orders", "prod", governed.operator))
    rejected = governed.post(
        f"/approvals/{second['approval_id']}/reject", governed.admin_b, {"comment": "no"}
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert _value(governed, "orders", "prod") == "from git"
    statuses = {
        s: [a["id"] for a in governed.get("/approvals", status=s).json()["approvals"]]
        for s in ("pending", "approved", "rejected", "cancelled")
    }
    assert statuses == {
        "pending": [],
        "approved": [held["approval_id"]],
        "rejected": [second["approval_id"]],
        "cancelled": [own["approval_id"]],
    }
    first_page = governed.get("/approvals", limit=2).json()
    assert len(first_page["approvals"]) == 2 and first_page["next_cursor"]
    rest = governed.get("/approvals", limit=2, cursor=first_page["next_cursor"]).json()
    assert [a["id"] for a in rest["approvals"]] == [held["approval_id"]]  # the oldest
    assert rest["next_cursor"] is None


def test_a_reconcile_apply_touching_prod_is_held_as_a_whole(governed: Governed) -> None:
    linked = governed.linked
    _protect(governed)
    linked.edit_in_git("orders", set_value("everywhere"))
    linked.repo_sync()

    plan = linked.plan("git_wins")
    gates = {g["environment"]: g for g in plan["environments"]}
    assert gates["prod"]["protected"] is True and gates["dev"]["protected"] is False
    assert gates["prod"]["window"]["open"] is True
    held = _held(
        linked.client.post(
            "/api/v1/canonical/reconcile",
            json={"strategy": "git_wins", "dry_run": False},
            headers=governed.operator,
        )
    )
    assert linked.state("orders", "dev") is SyncState.OUT_OF_DATE  # dev waits too
    read = governed.get(f"/approvals/{held['approval_id']}").json()
    assert read["environments"] == ["dev", "prod"] and read["items"] == 2

    approved = governed.post(f"/approvals/{held['approval_id']}/approve", governed.admin_b, {})
    assert approved.status_code == 200, approved.text
    job = linked.wait(approved.json()["job_id"])
    assert job["status"] == "succeeded" and job["result"]["counts"] == {"applied": 2}, job
    assert _value(governed, "orders", "dev") == _value(governed, "orders", "prod") == "everywhere"


def test_only_gits_versions_go_into_protected_prod(governed: Governed) -> None:
    linked = governed.linked
    linked.edit_in_n8n("prod", linked.mapping("orders", "prod").n8n_workflow_id, set_value("x"))
    linked.sync("prod")
    overwritten = linked.apply("git_wins")  # snapshots prod's edit, then deploys Git's
    assert overwritten["status"] == "succeeded", overwritten
    [snapshot] = [s for s in governed.get("/snapshots").json()["snapshots"] if s["side"] == "env"]
    _protect(governed)

    restore = f"/snapshots/{snapshot['id']}/restore"
    refused = governed.post(restore, governed.operator)
    assert refused.status_code == 403, refused.text
    assert (
        "restoring an n8n snapshot into protected environment prod needs an admin"
        in (refused.json()["detail"])
    )
    _held(governed.post(restore, governed.admin_a))  # an admin's restore waits too

    canonical = linked.canonical("orders")
    bogus = governed.deploy("orders", "prod", governed.operator, commit="deadbeef")
    assert bogus.status_code == 409, bogus.text
    assert "only a version in the history of orders" in bogus.json()["detail"]
    [version, *_] = governed.get(f"/canonical/workflows/{canonical.id}/versions").json()
    _held(governed.deploy("orders", "prod", governed.operator, commit=version["commit"][:12]))
