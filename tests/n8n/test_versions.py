"""The calls that differ between n8n 1.x and 2.x, against the real server the suite runs
(`make test` runs these on the pinned 2.x and, marked `compat`, on 1.123 too): each test
asks the server's flavour and checks what that major does (docs/n8n-versions.md)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from canonflow.n8n import (
    N8nArchived,
    N8nClient,
    N8nInvalidStructure,
    N8nSavedNotPublished,
    N8nUnsupported,
)
from tests.n8n.conftest import FAST_RETRIES
from tests.support.n8n import N8nInstance, is_v1, n8n_version
from tests.support.n8n_fixtures import admin_client
from tests.support.published import (
    answering_workflow,
    hook_url,
    limited_key,
    wait_for_answer,
)

pytestmark = pytest.mark.compat
MakeWorkflow = Callable[..., dict[str, Any]]
V1 = is_v1(n8n_version())


def test_the_flavour_is_the_servers_major_with_the_keys_scopes(dev_client: N8nClient) -> None:
    flavour = dev_client.flavour()
    assert flavour.major == (1 if V1 else 2)
    assert flavour.can_publish
    if V1:
        assert flavour.scopes is None and not flavour.can_list_credentials
    else:
        assert flavour.scopes is not None and "workflow:update" in flavour.scopes
        assert flavour.can_list_credentials


def test_publish_runs_the_latest_version_and_unpublish_stops_it(
    dev_client: N8nClient, clean_n8n_dev: N8nInstance
) -> None:
    body = answering_workflow("Versioned", "v1")
    url = hook_url(clean_n8n_dev, body)
    workflow_id = dev_client.create_workflow(body)["id"]
    assert wait_for_answer(url, None, timeout=0) is None  # created inactive

    published = dev_client.publish_workflow(workflow_id)
    assert published["active"] is True
    assert wait_for_answer(url, "v1") == "v1"

    v2 = answering_workflow("Versioned", "v2", path=body["nodes"][0]["parameters"]["path"])
    written = dev_client.update_workflow(workflow_id, v2)  # an active workflow: republished
    assert written["active"] is True
    if not V1:
        assert written["activeVersionId"] == written["versionId"]
    assert wait_for_answer(url, "v2") == "v2"

    assert dev_client.unpublish_workflow(workflow_id)["active"] is False
    assert wait_for_answer(url, None) is None


def test_a_draft_is_saved_without_publishing_on_2x_only(
    dev_client: N8nClient, clean_n8n_dev: N8nInstance
) -> None:
    body = answering_workflow("Drafted", "v1")
    url = hook_url(clean_n8n_dev, body)
    workflow_id = dev_client.create_workflow(body)["id"]
    dev_client.publish_workflow(workflow_id)
    v2 = answering_workflow("Drafted", "v2", path=body["nodes"][0]["parameters"]["path"])
    if V1:
        with pytest.raises(N8nUnsupported, match="save a draft without publishing"):
            dev_client.update_workflow(workflow_id, v2, publish_if_active=False)
        return
    draft = dev_client.update_workflow(workflow_id, v2, publish_if_active=False)
    assert draft["active"] is True and draft["activeVersionId"] != draft["versionId"]
    assert wait_for_answer(url, "v1") == "v1"  # the published version still runs
    dev_client.publish_workflow(workflow_id, draft["versionId"])
    assert wait_for_answer(url, "v2") == "v2"


def test_a_put_by_a_key_that_cannot_publish_saves_a_draft_only(
    clean_n8n_dev: N8nInstance,
) -> None:
    if V1:
        pytest.skip("1.x keys carry no scopes: every key that may update may activate")
    body = answering_workflow("No publish scope", "v1")
    url = hook_url(clean_n8n_dev, body)
    with N8nClient(clean_n8n_dev.base_url, clean_n8n_dev.api_key, **FAST_RETRIES) as admin:
        workflow_id = admin.create_workflow(body)["id"]
        admin.publish_workflow(workflow_id)
    assert wait_for_answer(url, "v1") == "v1"
    key = limited_key(clean_n8n_dev, ["workflow:read", "workflow:list", "workflow:update"])
    v2 = answering_workflow("No publish scope", "v2", path=body["nodes"][0]["parameters"]["path"])
    with N8nClient(clean_n8n_dev.base_url, key, **FAST_RETRIES) as limited:
        assert not limited.flavour().can_publish
        with pytest.raises(N8nSavedNotPublished) as caught:
            limited.update_workflow(workflow_id, v2)
        after = limited.get_workflow(workflow_id)
    assert caught.value.workflow_id == workflow_id
    assert after["active"] is True and after["activeVersionId"] != after["versionId"]
    assert after["nodes"][1]["parameters"]["assignments"]["assignments"][0]["value"] == "v2"
    assert wait_for_answer(url, "v1", timeout=1.0) == "v1"  # the old version still runs


def test_archiving_is_2x_only_and_an_archived_workflow_refuses_writes(
    dev_client: N8nClient, workflow_factory: MakeWorkflow
) -> None:
    body = workflow_factory("To archive", nodes=2)
    workflow_id = dev_client.create_workflow(body)["id"]
    if V1:
        with pytest.raises(N8nUnsupported, match="cannot archive workflow"):
            dev_client.archive_workflow(workflow_id)
        return
    assert dev_client.archive_workflow(workflow_id)["isArchived"] is True
    with pytest.raises(N8nArchived, match="the workflow is archived in n8n"):
        dev_client.update_workflow(workflow_id, body)
    with pytest.raises(N8nArchived):
        dev_client.publish_workflow(workflow_id)
    assert dev_client.unarchive_workflow(workflow_id)["isArchived"] is False
    assert dev_client.update_workflow(workflow_id, body)["isArchived"] is False


def test_an_active_workflow_is_deleted_on_both(
    dev_client: N8nClient, clean_n8n_dev: N8nInstance
) -> None:
    body = answering_workflow("Deleted while active", "v1")
    url = hook_url(clean_n8n_dev, body)
    workflow_id = dev_client.create_workflow(body)["id"]
    dev_client.publish_workflow(workflow_id)
    assert wait_for_answer(url, "v1") == "v1"
    dev_client.delete_workflow(workflow_id)  # 2.x: unpublished first, then deleted
    assert dev_client.list_workflows() == []
    assert wait_for_answer(url, None) is None


def test_a_structure_2x_refuses_is_a_readable_rejection(
    dev_client: N8nClient, workflow_factory: MakeWorkflow
) -> None:
    body = workflow_factory("Twins", nodes=3)
    body["nodes"][2]["name"] = body["nodes"][1]["name"]  # two nodes named "Set"
    if V1:
        assert dev_client.create_workflow(body)["id"]  # 1.x takes it as it is
        return
    with pytest.raises(N8nInvalidStructure) as caught:
        dev_client.create_workflow(body)
    assert "refuses the workflow's structure" in caught.value.message
    assert "duplicate_node_name" in caught.value.message


def test_credentials_are_listed_on_2x(dev_client: N8nClient, n8n_dev: N8nInstance) -> None:
    name = f"Listed {uuid.uuid4().hex[:8]}"
    with admin_client(n8n_dev) as http:
        created = http.post(
            "/credentials",
            json={"name": name, "type": "httpHeaderAuth", "data": {"name": "X-T", "value": "s"}},
        )
        created.raise_for_status()
    listed = dev_client.list_credentials()
    if V1:
        assert listed is None
        return
    assert listed is not None
    [mine] = [c for c in listed if c["name"] == name]
    assert mine["id"] == created.json()["id"] and mine["type"] == "httpHeaderAuth"
    assert "data" not in mine  # no secrets
