"""Promotion in push mode against real n8n (dev, staging, prod) and a real Git remote: the
source's version becomes Git's, then the target's; sub-workflows go with their callers; a
credential the target lacks blocks it whole."""

from __future__ import annotations

from typing import Any

from canonflow.core.sync_state import SyncState
from tests.promotion.conftest import Promoting
from tests.reconcile.conftest import set_value


def _set_value(workflow: dict[str, Any]) -> Any:
    [node] = [n for n in workflow["nodes"] if n["name"] == "Set"]
    return node["parameters"]["assignments"]["assignments"][0]["value"]


def test_dev_to_staging_to_prod(with_staging: Promoting) -> None:
    p, linked = with_staging, with_staging.linked
    dev_id = linked.mapping("orders", "dev").n8n_workflow_id
    linked.edit_in_n8n("dev", dev_id, set_value("promoted from dev"))
    linked.sync("dev")

    plan = p.dry_run("dev", "staging", canonical_ids=p.ids("orders"))
    [item] = plan["items"]
    assert item["slug"] == "orders" and item["deploy"] == "create", item
    assert item["commit"] == "workflows/orders.json" and item["blockers"] == [], item
    assert item["diff_summary"].startswith("new in the target"), item
    assert plan["blocked"] is False and plan["commit_mode"] == "push"

    accepted = p.start("dev", "staging", canonical_ids=p.ids("orders"))
    job = linked.wait(accepted["job_id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["state"] == "succeeded", job["result"]
    promotion = p.promotion(accepted["promotion_id"])
    assert promotion["state"] == "succeeded" and promotion["finished_at"] is not None
    assert promotion["results"]["deploy"][p.ids("orders")[0]]["result"] == "applied"
    assert _set_value(linked.git_file("orders")) == "promoted from dev"  # Git has it
    staged = p.mapping("orders", "staging")
    assert _set_value(p.n8n_get("staging", staged.n8n_workflow_id)) == "promoted from dev"
    assert linked.state("orders", "dev") is SyncState.IN_SYNC
    assert staged.env_content_hash == staged.git_content_hash == staged.base_content_hash
    assert linked.state("orders", "prod") is SyncState.OUT_OF_DATE

    plan = p.dry_run("staging", "prod", canonical_ids=p.ids("orders"))
    [item] = plan["items"]
    assert (item["commit"], item["deploy"], item["blockers"]) == ("already in Git", "update", [])
    assert any("promoted from dev" in line["text"] for line in item["diff"]), item["diff"]
    accepted = p.start("staging", "prod", canonical_ids=p.ids("orders"))
    assert linked.wait(accepted["job_id"])["status"] == "succeeded"
    prod = linked.mapping("orders", "prod")
    assert _set_value(linked.get("prod", prod.n8n_workflow_id)) == "promoted from dev"
    assert linked.state("orders", "prod") is SyncState.IN_SYNC

    listed = linked.client.get("/api/v1/promotions?state=succeeded", headers=linked.headers)
    assert [x["to_environment"] for x in listed.json()["promotions"]] == ["prod", "staging"]


def test_a_sub_workflow_that_differs_is_promoted_with_its_caller(promoting: Promoting) -> None:
    p, linked = promoting, promoting.linked
    sub_id = linked.mapping("sub-flow", "dev").n8n_workflow_id
    linked.edit_in_n8n("dev", sub_id, set_value("new sub"))
    parent_id = linked.mapping("parent-flow", "dev").n8n_workflow_id
    linked.edit_in_n8n("dev", parent_id, set_value("new parent"))
    linked.sync("dev")

    plan = p.dry_run("dev", "prod", canonical_ids=p.ids("parent-flow"))
    by_slug = {i["slug"]: i for i in plan["items"]}
    assert set(by_slug) == {"parent-flow", "sub-flow"}, plan
    assert by_slug["parent-flow"]["included_because"] is None
    assert by_slug["sub-flow"]["included_because"] == "called by parent-flow"
    assert by_slug["parent-flow"]["calls"] == ["sub-flow"]
    assert not plan["blocked"], plan

    accepted = p.start("dev", "prod", canonical_ids=p.ids("parent-flow"))
    job = linked.wait(accepted["job_id"])
    assert job["status"] == "succeeded", job
    for slug, value in (("sub-flow", "new sub"), ("parent-flow", "new parent")):
        prod = linked.mapping(slug, "prod")
        assert _set_value(linked.get("prod", prod.n8n_workflow_id)) == value, slug
        assert _set_value(linked.git_file(slug)) == value, slug
        assert linked.state(slug, "prod") is SyncState.IN_SYNC, slug
    # the caller in prod still calls prod's own sub-workflow
    parent = linked.get("prod", linked.mapping("parent-flow", "prod").n8n_workflow_id)
    [call] = [n for n in parent["nodes"] if n["name"] == "Call Sub"]
    assert (
        call["parameters"]["workflowId"]["value"]
        == linked.mapping("sub-flow", "prod").n8n_workflow_id
    )

    nothing = p.dry_run("dev", "prod", all_changed=True)
    assert nothing["items"] == [], nothing


def test_a_credential_missing_in_the_target_blocks_and_writes_nothing(
    promoting: Promoting,
) -> None:
    p, linked = promoting, promoting.linked
    data = {"name": "Only In Dev", "type": "httpBasicAuth", "data": {"user": "u", "password": "p"}}
    with linked.n8n("dev") as http:
        created = http.post("/credentials", json=data)
        created.raise_for_status()
        credential_id = created.json()["id"]

    def use_credential(workflow: dict[str, Any]) -> None:
        [node] = [n for n in workflow["nodes"] if n["name"] == "HTTP Request"]
        node["parameters"]["authentication"] = "genericCredentialType"
        node["parameters"]["genericAuthType"] = "httpBasicAuth"
        node["credentials"] = {"httpBasicAuth": {"id": credential_id, "name": "Only In Dev"}}

    dev_id = linked.mapping("orders", "dev").n8n_workflow_id
    linked.edit_in_n8n("dev", dev_id, use_credential)
    linked.sync("dev")
    git_before = linked.git_file("orders")
    prod_before = linked.mapping("orders", "prod").env_content_hash

    plan = p.dry_run("dev", "prod", all_changed=True)
    [item] = plan["items"]
    assert plan["blocked"] is True
    [blocker] = item["blockers"]
    assert blocker["kind"] == "missing_credential", blocker
    assert "httpBasicAuth" in blocker["detail"] and "Only In Dev" in blocker["detail"]

    refused = linked.client.post(
        "/api/v1/canonical/promote",
        json=p.request("dev", "prod", all_changed=True, dry_run=False),
        headers=linked.headers,
    )
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "Only In Dev" in problem["detail"]
    assert [b["kind"] for b in problem["blockers"]] == ["missing_credential"], problem
    assert p.promotions_count() == 0
    assert linked.git_file("orders") == git_before
    linked.sync("prod")
    assert linked.mapping("orders", "prod").env_content_hash == prod_before


def test_a_target_edited_since_base_blocks(promoting: Promoting) -> None:
    p, linked = promoting, promoting.linked
    linked.edit_in_n8n("dev", linked.mapping("orders", "dev").n8n_workflow_id, set_value("dev"))
    linked.edit_in_n8n("prod", linked.mapping("orders", "prod").n8n_workflow_id, set_value("hot"))
    linked.sync()
    [item] = p.dry_run("dev", "prod", canonical_ids=p.ids("orders"))["items"]
    assert [b["kind"] for b in item["blockers"]] == ["target_drift"], item
    assert "would lose that edit" in item["blockers"][0]["detail"]


def test_a_source_that_moved_since_the_plan_is_refused(promoting: Promoting) -> None:
    """The job reads the source again: edited between the plan and the job, the item is
    stale (it says so) and nothing is committed or deployed."""
    from canonflow.db.engine import transaction
    from canonflow.promotion.service import start_promotion

    p, linked = promoting, promoting.linked
    e = linked.e
    dev_id = linked.mapping("orders", "dev").n8n_workflow_id
    linked.edit_in_n8n("dev", dev_id, set_value("planned"))
    linked.sync("dev")
    git_before = linked.git_file("orders")
    prod_before = linked.mapping("orders", "prod").env_content_hash
    payload = p.request("dev", "prod", canonical_ids=p.ids("orders"), dry_run=False)
    with transaction(e.runtime.sessions) as session:
        promotion, job = start_promotion(session, e.runtime.jobs, e.principal, payload)
        promotion_id, job_id = str(promotion.id), str(job.id)
        # the job starts once this commits: the source moves before it reads it
        linked.edit_in_n8n("dev", dev_id, set_value("edited after the plan"))
    finished = linked.wait(job_id)
    assert finished["status"] == "succeeded", finished  # the job ran; the promotion failed
    result = p.promotion(promotion_id)
    assert result["state"] == "failed", result
    [commit] = result["results"]["commit"].values()
    assert commit["result"] == "stale" and "changed in n8n since the plan" in commit["detail"]
    assert result["results"]["deploy"] == {}
    assert linked.git_file("orders") == git_before
    linked.sync("prod")
    assert linked.mapping("orders", "prod").env_content_hash == prod_before
