"""Reconcile end to end through the API: real n8n (prod, dev), a real Git remote."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from canonflow.core.hashing import content_hash
from canonflow.core.sync_state import SyncState
from canonflow.db.engine import transaction
from canonflow.db.models import AuditEntry
from tests.reconcile.conftest import Linked, add_node, plan_items, set_value


def _n8n_id(linked: Linked, slug: str, where: str) -> str:
    return linked.mapping(slug, where).n8n_workflow_id


def test_edit_in_n8n_is_drift_and_env_wins_commits_it(linked: Linked) -> None:
    dev_id = _n8n_id(linked, "orders", "dev")
    linked.edit_in_n8n("dev", dev_id, set_value("edited in dev"))
    linked.sync("dev")
    assert linked.state("orders", "dev") is SyncState.DRIFT

    plan = linked.plan("env_wins")
    [item] = plan_items(plan)
    assert (item["slug"], item["environment"], item["action"]) == ("orders", "dev", "commit")
    assert "edited in n8n" in item["reason"]
    assert plan["counts"]["none"] == 7

    job = linked.apply("env_wins")
    assert job["status"] == "succeeded", job
    [outcome] = job["result"]["items"]
    assert outcome["result"] == "applied", outcome
    assert linked.state("orders", "dev") is SyncState.IN_SYNC
    assert linked.state("orders", "prod") is SyncState.OUT_OF_DATE  # Git is newer now
    file = linked.git_file("orders")
    [node] = [n for n in file["nodes"] if n["name"] == "Set"]
    assert node["parameters"]["assignments"]["assignments"][0]["value"] == "edited in dev"
    assert "id" not in node  # the file keeps no n8n ids
    assert (
        linked.canonical("orders").content_hash == linked.mapping("orders", "dev").env_content_hash
    )
    snapshots = linked.client.get("/api/v1/snapshots", headers=linked.headers).json()["snapshots"]
    assert [(s["side"], s["reason"]) for s in snapshots] == [("git", "reconcile env_wins")]

    linked.repo_sync()  # the pushed commit read back: nothing moves
    assert linked.state("orders", "dev") is SyncState.IN_SYNC


def test_edit_in_git_is_out_of_date_and_git_wins_deploys_it(linked: Linked) -> None:
    prod_id = _n8n_id(linked, "billing", "prod")
    before = linked.get("prod", prod_id)
    linked.edit_in_git("billing", add_node("Audit Log"), "Billing: audit")
    linked.repo_sync()
    assert linked.state("billing", "prod") is SyncState.OUT_OF_DATE

    plan = linked.plan("git_wins")
    assert sorted((i["environment"], i["action"]) for i in plan_items(plan)) == [
        ("dev", "deploy"),
        ("prod", "deploy"),
    ]
    job = linked.apply("git_wins")
    assert job["status"] == "succeeded", job
    assert job["result"]["counts"] == {"applied": 2}

    after = linked.get("prod", prod_id)
    assert "Audit Log" in {n["name"] for n in after["nodes"]}
    kept = {n["name"]: n["id"] for n in before["nodes"]}
    assert all(kept[n["name"]] == n["id"] for n in after["nodes"] if n["name"] in kept)
    assert linked.state("billing", "prod") is SyncState.IN_SYNC
    with transaction(linked.e.runtime.sessions) as session:
        audited = session.execute(
            select(AuditEntry.target_id, AuditEntry.actor, AuditEntry.details).where(
                AuditEntry.tenant_id == linked.e.tenant_id, AuditEntry.action == "workflow.deploy"
            )
        ).all()
    billing = {str(linked.mapping("billing", w).id) for w in ("prod", "dev")}
    assert {row.target_id for row in audited} == billing
    assert all(row.details["reason"] == "reconcile git_wins" for row in audited)
    linked.sync()  # what n8n holds, listed again, hashes as Git's version
    assert linked.state("billing", "prod") is SyncState.IN_SYNC
    assert linked.state("billing", "dev") is SyncState.IN_SYNC


def test_conflicts_are_left_alone_until_a_side_is_chosen(linked: Linked) -> None:
    prod_id = _n8n_id(linked, "orders", "prod")
    linked.edit_in_n8n("prod", prod_id, set_value("prod hotfix"))
    linked.edit_in_git("orders", set_value("git change"))
    linked.sync("prod")
    linked.repo_sync()
    assert linked.state("orders", "prod") is SyncState.CONFLICT

    for strategy in ("git_wins", "env_wins"):
        [item] = [i for i in plan_items(linked.plan(strategy)) if i["environment"] == "prod"]
        assert item["action"] == "conflict"
    refused = linked.client.post(
        "/api/v1/canonical/reconcile",
        json={
            "strategy": "git_wins",
            "dry_run": False,
            "scope": {"environment_ids": [str(linked.e.prod_id)]},
        },
        headers=linked.headers,
    )
    assert refused.status_code == 409, refused.text
    assert _value(linked.get("prod", prod_id)) == "prod hotfix"  # untouched

    mapping_id = str(linked.mapping("orders", "prod").id)
    job = linked.apply("manual", choices={mapping_id: "env"})
    assert job["status"] == "succeeded", job
    assert linked.state("orders", "prod") is SyncState.IN_SYNC
    assert _value(linked.git_file("orders")) == "prod hotfix"


def test_force_lets_git_wins_resolve_a_listed_conflict(linked: Linked) -> None:
    prod_id = _n8n_id(linked, "orders", "prod")
    linked.edit_in_n8n("prod", prod_id, set_value("prod hotfix"))
    linked.edit_in_git("orders", set_value("git change"))
    linked.sync("prod")
    linked.repo_sync()
    mapping_id = str(linked.mapping("orders", "prod").id)
    job = linked.apply(
        "git_wins", force=[mapping_id], scope={"environment_ids": [str(linked.e.prod_id)]}
    )
    assert job["status"] == "succeeded", job
    assert _value(linked.get("prod", prod_id)) == "git change"
    [snapshot] = linked.client.get("/api/v1/snapshots", headers=linked.headers).json()["snapshots"]
    detail = linked.client.get(f"/api/v1/snapshots/{snapshot['id']}", headers=linked.headers).json()
    assert _value(detail["workflow"]) == "prod hotfix"  # what was overwritten is kept


def test_a_target_that_moved_after_the_plan_is_skipped_as_stale(linked: Linked) -> None:
    linked.edit_in_git("billing", set_value("from git"))
    linked.repo_sync()
    prod_id = _n8n_id(linked, "billing", "prod")
    # the plan is made and queued, then someone edits prod before the job reaches it:
    # simulate by editing n8n after the sync that fed the plan, before applying
    linked.edit_in_n8n("prod", prod_id, set_value("edited meanwhile"))
    job = linked.apply("git_wins", scope={"environment_ids": [str(linked.e.prod_id)]})
    assert job["status"] == "succeeded", job
    [outcome] = job["result"]["items"]
    assert outcome["result"] == "stale" and "changed in n8n" in outcome["detail"]
    assert _value(linked.get("prod", prod_id)) == "edited meanwhile"  # not overwritten


def test_diff_shows_what_changed_in_n8n(linked: Linked) -> None:
    dev_id = _n8n_id(linked, "orders", "dev")
    linked.edit_in_n8n("dev", dev_id, set_value("edited in dev"))
    linked.sync("dev")
    canonical = linked.canonical("orders")
    for against in ("git", "base"):
        response = linked.client.get(
            f"/api/v1/canonical/workflows/{canonical.id}/diff",
            params={"environment_id": str(linked.e.dev_id), "against": against},
            headers=linked.headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["identical"] is False
        [changed] = body["diff"]["nodes_changed"]
        assert changed["name"] == "Set"
        [line] = [line for line in body["lines"] if line["kind"] == "changed"]
        assert "edited in dev" in line["text"]
    same = linked.client.get(
        f"/api/v1/canonical/workflows/{canonical.id}/diff",
        params={"environment_id": str(linked.e.prod_id)},
        headers=linked.headers,
    ).json()
    assert same["identical"] is True and same["lines"] == []
    assert (
        content_hash(linked.get("dev", dev_id)) == linked.mapping("orders", "dev").env_content_hash
    )


def _value(workflow: dict[str, Any]) -> str:
    [node] = [n for n in workflow["nodes"] if n["name"] == "Set"]
    return str(node["parameters"]["assignments"]["assignments"][0]["value"])
