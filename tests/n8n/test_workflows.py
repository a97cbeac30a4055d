"""Workflow CRUD, activation and tags against a real n8n."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from canonflow.n8n import N8nClient, N8nNotFound, N8nRejected
from tests.support.n8n import N8nInstance

MakeWorkflow = Callable[..., dict[str, Any]]


def test_create_get_update_delete_round_trip(
    dev_client: N8nClient, workflow_factory: MakeWorkflow
) -> None:
    body = workflow_factory("Order intake", nodes=6)
    created = dev_client.create_workflow(body)
    workflow_id = created["id"]
    assert created["name"] == "Order intake"
    assert [n["id"] for n in created["nodes"]] == [n["id"] for n in body["nodes"]]

    fetched = dev_client.get_workflow(workflow_id)
    assert fetched["connections"] == body["connections"]
    assert fetched["settings"]["executionOrder"] == "v1"

    # a new name and a changed node: n8n 2.x's versionId tracks nodes and connections only
    # (a rename alone keeps it; 1.x gives every save a new one)
    edited = copy.deepcopy(body)
    edited["name"] = "Order intake v2"
    edited["nodes"][1]["parameters"]["assignments"]["assignments"][0]["value"] = "edited"
    updated = dev_client.update_workflow(workflow_id, edited)
    assert updated["name"] == "Order intake v2"
    assert updated["nodes"][1]["parameters"] == edited["nodes"][1]["parameters"]
    assert updated["versionId"] != fetched["versionId"]
    assert [w["id"] for w in dev_client.list_workflows()] == [workflow_id]

    dev_client.delete_workflow(workflow_id)
    assert dev_client.list_workflows() == []
    with pytest.raises(N8nNotFound, match=f"could not get workflow {workflow_id}: not found"):
        dev_client.get_workflow(workflow_id)


def test_read_only_fields_are_rejected_with_n8ns_reason(
    dev_client: N8nClient, workflow_factory: MakeWorkflow
) -> None:
    with pytest.raises(N8nRejected) as caught:
        dev_client.create_workflow({**workflow_factory("x"), "active": True})
    assert caught.value.status == 400
    assert "request/body/active is read-only" in caught.value.message


def test_unknown_ids_are_not_found(dev_client: N8nClient) -> None:
    for call in (
        dev_client.get_workflow,
        dev_client.delete_workflow,
        dev_client.activate_workflow,
        lambda workflow_id: dev_client.set_workflow_tags(workflow_id, []),
    ):
        with pytest.raises(N8nNotFound, match="unknownId123"):
            call("unknownId123")


def test_activate_registers_the_webhook_and_deactivate_removes_it(
    dev_client: N8nClient, clean_n8n_dev: N8nInstance, workflow_factory: MakeWorkflow
) -> None:
    body = workflow_factory("Webhook intake", nodes=3, trigger="webhook")
    workflow_id = dev_client.create_workflow(body)["id"]
    hook = f"{clean_n8n_dev.base_url}/webhook/{body['nodes'][0]['parameters']['path']}"

    assert dev_client.activate_workflow(workflow_id)["active"] is True
    assert dev_client.activate_workflow(workflow_id)["active"] is True  # idempotent
    assert dev_client.get_workflow(workflow_id)["active"] is True
    assert _answers(hook, 200)

    assert dev_client.deactivate_workflow(workflow_id)["active"] is False
    assert _answers(hook, 404)


def _answers(hook: str, status: int, within_s: float = 10.0) -> bool:
    """Whether the production webhook URL answers `status` within `within_s`: n8n 1.x
    (un)registers a webhook before (de)activate answers, 2.x about 0.2-0.5 s after."""
    deadline = time.monotonic() + within_s
    while True:
        if httpx.post(hook, json={"order": 1}).status_code == status:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def test_a_workflow_without_a_trigger_cannot_be_activated(dev_client: N8nClient) -> None:
    body = {"name": "no trigger", "nodes": [], "connections": {}, "settings": {}}
    workflow_id = dev_client.create_workflow(body)["id"]
    with pytest.raises(N8nRejected, match=f"could not activate workflow {workflow_id}"):
        dev_client.activate_workflow(workflow_id)


def test_tags_are_created_listed_and_set(
    dev_client: N8nClient, workflow_factory: MakeWorkflow
) -> None:
    tags = [dev_client.create_tag(f"team-{i}") for i in range(3)]
    assert sorted(t["name"] for t in dev_client.list_tags(limit=2)) == [
        "team-0",
        "team-1",
        "team-2",
    ]
    with pytest.raises(N8nRejected, match="HTTP 409"):
        dev_client.create_tag("team-0")

    workflow_id = dev_client.create_workflow(workflow_factory("tagged"))["id"]
    set_ = dev_client.set_workflow_tags(workflow_id, [tags[0]["id"], tags[2]["id"]])
    assert sorted(t["name"] for t in set_) == ["team-0", "team-2"]
    fetched = dev_client.get_workflow(workflow_id)
    assert sorted(t["name"] for t in fetched["tags"]) == ["team-0", "team-2"]

    assert dev_client.set_workflow_tags(workflow_id, []) == []
    with pytest.raises(N8nNotFound, match="Some tags not found"):
        dev_client.set_workflow_tags(workflow_id, ["noSuchTag"])


def test_environments_are_independent(
    dev_client: N8nClient, clean_n8n_prod: N8nInstance, workflow_factory: MakeWorkflow
) -> None:
    dev_client.create_workflow(workflow_factory("dev only"))
    with N8nClient(clean_n8n_prod.base_url, clean_n8n_prod.api_key) as prod:
        assert prod.list_workflows() == []
        with pytest.raises(N8nNotFound):
            prod.get_workflow(dev_client.list_workflows()[0]["id"])
