"""Deploys to real n8n: credentials, activation and webhooks, workflow references, restore
of a snapshot, rollback to an older commit."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from canonflow.core.git_layout import render_workflow_file
from canonflow.core.sync_state import SyncState
from tests.reconcile.conftest import Linked, add_node, plan_items, set_value
from tests.support.n8n_fixtures import make_workflow


def _push_file(linked: Linked, slug: str, document: dict[str, Any]) -> None:
    clone = linked.e.clone
    clone.git("pull", "--quiet", "origin", "main")
    clone.write(f"workflows/{slug}.json", render_workflow_file(document).decode())
    clone.commit(f"add {slug}")
    clone.git("push", "--quiet", "origin", "HEAD:main")


def _with_credential(name: str, credential: dict[str, Any] | None) -> dict[str, Any]:
    body = make_workflow(name, 4)
    [http] = [n for n in body["nodes"] if n["name"] == "HTTP Request"]
    http["parameters"] |= {
        "authentication": "genericCredentialType",
        "genericAuthType": "httpBasicAuth",
    }
    if credential is not None:
        http["credentials"] = {"httpBasicAuth": credential}
    return body


def _wait_job(linked: Linked, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    return linked.wait(response.json()["job_id"])


@pytest.mark.compat
def test_a_missing_credential_blocks_that_workflow_and_the_rest_deploy(linked: Linked) -> None:
    with linked.n8n("dev") as http:
        created = http.post(
            "/credentials",
            json={
                "name": "Dev Basic",
                "type": "httpBasicAuth",
                "data": {"user": "u", "password": "p"},
            },
        )
        created.raise_for_status()
        credential = {"id": created.json()["id"], "name": "Dev Basic"}
        http.post("/workflows", json=_with_credential("Uses Basic", credential)).raise_for_status()
    linked.sync("dev")  # dev's workflows tell which credentials dev has
    _push_file(linked, "needs-basic", _with_credential("Needs Basic", {"name": "Dev Basic"}))
    _push_file(linked, "plain-new", make_workflow("Plain New", 3))
    linked.repo_sync()
    ids = [str(linked.canonical(s).id) for s in ("needs-basic", "plain-new")]

    plan = linked.plan("git_wins", scope={"canonical_ids": ids})
    actions = {(i["slug"], i["environment"]): i for i in plan_items(plan)}
    blocked = actions[("needs-basic", "prod")]
    assert blocked["action"] == "blocked"
    assert "Dev Basic" in blocked["reason"] and "httpBasicAuth" in blocked["reason"]
    assert [b["kind"] for b in blocked["blockers"]] == ["missing_credential"]
    assert actions[("needs-basic", "dev")]["action"] == "deploy"  # dev has it
    assert actions[("plain-new", "prod")]["action"] == "deploy"

    job = linked.apply("git_wins", scope={"canonical_ids": ids})
    assert job["status"] == "succeeded", job
    assert job["result"]["counts"] == {"applied": 3, "blocked": 1}
    [blocked_outcome] = [o for o in job["result"]["items"] if o["result"] == "blocked"]
    assert blocked_outcome["label"] == "needs-basic@prod"
    assert "Dev Basic" in blocked_outcome["detail"]
    created_dev = linked.get("dev", linked.mapping("needs-basic", "dev").n8n_workflow_id)
    [node] = [n for n in created_dev["nodes"] if n["name"] == "HTTP Request"]
    assert node["credentials"]["httpBasicAuth"] == credential  # bound to dev's own id
    with linked.n8n("prod") as http:
        names = {w["name"] for w in http.get("/workflows").json()["data"]}
    assert "Plain New" in names and "Needs Basic" not in names
    assert linked.state("plain-new", "prod") is SyncState.IN_SYNC


@pytest.mark.compat
def test_an_active_webhook_workflow_stays_active_and_answers_after_deploy(linked: Linked) -> None:
    body = make_workflow("Hook", 3, trigger="webhook")
    with linked.n8n("prod") as http:
        hook = http.post("/workflows", json=body).json()
        http.post(f"/workflows/{hook['id']}/activate").raise_for_status()
    _push_file(linked, "hook", linked.get("prod", hook["id"]))
    linked.repo_sync()
    linked.sync("prod")  # linked by name, both sides equal
    assert linked.state("hook", "prod") is SyncState.IN_SYNC
    linked.edit_in_git("hook", set_value("from git"))
    linked.repo_sync()

    canonical_id = str(linked.canonical("hook").id)
    job = linked.apply(
        "git_wins",
        scope={"canonical_ids": [canonical_id], "environment_ids": [str(linked.e.prod_id)]},
    )
    assert job["status"] == "succeeded", job
    deployed = linked.get("prod", hook["id"])
    assert deployed["active"] is True
    [set_node] = [n for n in deployed["nodes"] if n["name"] == "Set"]
    assert set_node["parameters"]["assignments"]["assignments"][0]["value"] == "from git"
    [trigger] = [n for n in deployed["nodes"] if n["name"] == "Webhook"]
    assert trigger["webhookId"] == body["nodes"][0]["webhookId"]  # the target's, kept
    url = f"{linked.e.prod.base_url}/webhook/{trigger['parameters']['path']}"
    assert httpx.post(url, json={"order": 1}, timeout=30).status_code == 200


def test_a_called_sub_workflow_is_the_targets_own_copy(linked: Linked) -> None:
    dev_parent = linked.mapping("parent-flow", "dev").n8n_workflow_id
    with linked.n8n("dev") as http:
        http.delete(f"/workflows/{dev_parent}").raise_for_status()
    linked.sync("dev")
    assert linked.mapping("parent-flow", "dev").status.value == "missing"
    linked.edit_in_git("parent-flow", add_node("Extra"))
    linked.repo_sync()

    canonical = linked.canonical("parent-flow")
    for where in ("prod", "dev"):  # prod: updated in place; dev: created again
        response = linked.client.post(
            f"/api/v1/canonical/workflows/{canonical.id}/deploy",
            json={"environment_id": str(linked.env_id(where))},
            headers=linked.headers,
        )
        assert _wait_job(linked, response)["status"] == "succeeded"
        mapping = linked.mapping("parent-flow", where)
        assert mapping.status.value == "linked"
        deployed = linked.get(where, mapping.n8n_workflow_id)
        sub_id = linked.mapping("sub-flow", where).n8n_workflow_id
        [call] = [n for n in deployed["nodes"] if n["name"] == "Call Sub"]
        assert call["parameters"]["workflowId"]["value"] == sub_id
        assert deployed["settings"]["errorWorkflow"] == sub_id
        assert "Extra" in {n["name"] for n in deployed["nodes"]}
        assert linked.state("parent-flow", where) is SyncState.IN_SYNC
    assert linked.mapping("parent-flow", "dev").n8n_workflow_id != dev_parent


def test_restoring_a_snapshot_brings_back_the_exact_earlier_hash(linked: Linked) -> None:
    prod_id = linked.mapping("orders", "prod").n8n_workflow_id
    linked.edit_in_n8n("prod", prod_id, set_value("prod edit"))
    linked.sync("prod")
    earlier = linked.mapping("orders", "prod").env_content_hash
    job = linked.apply("git_wins", scope={"environment_ids": [str(linked.e.prod_id)]})
    assert job["status"] == "succeeded", job
    assert linked.state("orders", "prod") is SyncState.IN_SYNC
    [snapshot] = linked.client.get(
        "/api/v1/snapshots",
        params={"mapping_id": str(linked.mapping("orders", "prod").id)},
        headers=linked.headers,
    ).json()["snapshots"]
    assert snapshot["content_hash"] == earlier

    response = linked.client.post(
        f"/api/v1/snapshots/{snapshot['id']}/restore", headers=linked.headers
    )
    assert _wait_job(linked, response)["status"] == "succeeded"
    linked.sync("prod")
    assert linked.mapping("orders", "prod").env_content_hash == earlier
    assert linked.mapping("orders", "prod").n8n_workflow_id == prod_id
    assert linked.state("orders", "prod") is SyncState.DRIFT  # n8n holds its edit again


def test_rollback_deploys_the_version_of_an_older_commit(linked: Linked) -> None:
    linked.edit_in_git("billing", set_value("v2"), "Billing v2")
    linked.repo_sync()
    canonical = linked.canonical("billing")
    versions = linked.client.get(
        f"/api/v1/canonical/workflows/{canonical.id}/versions", headers=linked.headers
    ).json()
    assert [v["message"] for v in versions] == ["Billing v2", "onboard"]
    assert versions[0]["content_hash"] == canonical.content_hash
    older = versions[1]

    response = linked.client.post(
        f"/api/v1/canonical/workflows/{canonical.id}/deploy",
        json={"environment_id": str(linked.e.prod_id), "commit": older["commit"]},
        headers=linked.headers,
    )
    assert _wait_job(linked, response)["status"] == "succeeded"
    linked.sync("prod")
    mapping = linked.mapping("billing", "prod")
    assert mapping.env_content_hash == older["content_hash"]
    assert linked.state("billing", "prod") is SyncState.OUT_OF_DATE  # Git is newer


def test_bad_requests_get_clear_problems(linked: Linked) -> None:
    canonical = linked.canonical("orders")
    unknown, prod = str(uuid.uuid4()), str(linked.e.prod_id)
    reconcile = "/api/v1/canonical/reconcile"
    deploy = f"/api/v1/canonical/workflows/{canonical.id}/deploy"

    def post(path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", linked.headers)
        return linked.client.post(path, json=body, headers=headers, **kwargs)

    cases = [
        (post(reconcile, {"strategy": "sideways"}), 422),
        (post(reconcile, {"strategy": "git_wins", "scope": {"environment_ids": [unknown]}}), 404),
        (post(reconcile, {"strategy": "git_wins", "scope": {"canonical_ids": [unknown]}}), 404),
        (post(f"/api/v1/canonical/workflows/{unknown}/deploy", {"environment_id": prod}), 404),
        (post(deploy, {"environment_id": unknown}), 404),
        (post(deploy, {"environment_id": prod, "commit": "xyz!"}), 422),
        (post(f"/api/v1/snapshots/{unknown}/restore"), 404),
        (post(reconcile, {"strategy": "git_wins"}, headers={}), 401),
        (
            linked.client.post(
                reconcile,
                content=b"{not json",
                headers=linked.headers | {"content-type": "application/json"},
            ),
            422,
        ),
        (
            linked.client.get(
                f"/api/v1/canonical/workflows/{canonical.id}/diff",
                params={"environment_id": unknown},
                headers=linked.headers,
            ),
            404,
        ),
    ]
    for response, status in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"]


def test_an_unknown_commit_fails_the_deploy_job_with_a_clear_error(linked: Linked) -> None:
    canonical = linked.canonical("orders")
    response = linked.client.post(
        f"/api/v1/canonical/workflows/{canonical.id}/deploy",
        json={"environment_id": str(linked.e.prod_id), "commit": "0" * 40},
        headers=linked.headers,
    )
    job = _wait_job(linked, response)
    assert job["status"] == "failed"
    assert job["error"] == f"no commit {'0' * 40} in main"
    assert linked.state("orders", "prod") is SyncState.IN_SYNC
