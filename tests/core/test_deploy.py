"""The deploy body: a canonical definition written into one n8n environment (core/deploy.py)."""

from __future__ import annotations

import copy
import itertools
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from canonflow.core.definitions import canonical_definition
from canonflow.core.deploy import (
    Blocker,
    BlockerKind,
    CredentialIndex,
    DeployBlocked,
    DeployBody,
    build_deploy_body,
    credential_index,
    needs_webhook_id,
)

EXECUTE_WORKFLOW = "n8n-nodes-base.executeWorkflow"
TOOL_WORKFLOW = "@n8n/n8n-nodes-langchain.toolWorkflow"
SLACK = ("slackApi", "Sales Slack bot")


def counter(prefix: str = "new") -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"{prefix}-{next(numbers)}"


def node(name: str, type_: str = "n8n-nodes-base.set", **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "typeVersion": 1, "position": [0, 0], **fields}


def definition(*nodes: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": "W", "nodes": list(nodes), "connections": {}, "settings": {}, **fields}


def calling(value: Any, type_: str = EXECUTE_WORKFLOW, **parameters: Any) -> dict[str, Any]:
    return node("Call", type_, parameters={"workflowId": value, **parameters})


def with_slack(name: str = "Slack", credential_name: str = SLACK[1]) -> dict[str, Any]:
    credentials = {SLACK[0]: {"name": credential_name}}
    return node(name, "n8n-nodes-base.slack", credentials=credentials)


def index(*bindings: tuple[str, str, str]) -> CredentialIndex:
    return credential_index([], bindings)


def deploy(
    document: dict[str, Any],
    *,
    target: dict[str, Any] | None = None,
    credentials: CredentialIndex | None = None,
    workflow_ids: dict[str, str] | None = None,
    new_id: Callable[[], str] | None = None,
) -> DeployBody:
    return build_deploy_body(
        document,
        target=target,
        credentials=credentials or index((*SLACK, "cred-prod")),
        workflow_ids=workflow_ids or {},
        new_id=new_id or counter(),
    )


def blockers_of(document: dict[str, Any], **kwargs: Any) -> tuple[Blocker, ...]:
    with pytest.raises(DeployBlocked) as raised:
        deploy(document, **kwargs)
    return raised.value.blockers


def by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in body["nodes"]}


# -- top level and staticData ----------------------------------------------------------------------


def test_only_writable_top_level_fields_are_sent() -> None:
    document = definition(
        node("A"), id="x", active=True, tags=[{"name": "t"}], versionId="v", pinData={"A": []},
        meta={"instanceId": "i"}, isArchived=False, staticData={"mine": 1}, triggerCount=1,
    )  # fmt: skip
    body = deploy(document).body
    assert set(body) == {"name", "nodes", "connections", "settings"}  # new: no staticData
    target = {"id": "T1", "nodes": [], "staticData": {"global": {"cursor": 7}}}
    assert deploy(document, target=target).body["staticData"] == {"global": {"cursor": 7}}


def test_a_target_without_static_data_gets_none_sent() -> None:
    assert "staticData" not in deploy(definition(node("A")), target={"staticData": None}).body


def test_description_cannot_be_written_and_is_reported() -> None:
    document = definition(node("A"), description="Takes orders in")
    deployed = deploy(document)
    assert "description" not in deployed.body
    assert deployed.left_out == ("description",)
    assert deployed.content_hash != canonical_definition(document, {}).content_hash
    assert (
        deployed.content_hash
        == canonical_definition({**document, "description": None}, {}).content_hash
    )


def test_node_fields_n8n_rejects_are_left_out_and_reported() -> None:
    document = definition(node("A", notesInFlow=True, rewireOutputLogTo="x", createdAt="t"))
    deployed = deploy(document)
    [written] = deployed.body["nodes"]
    assert written["notesInFlow"] is True
    assert "rewireOutputLogTo" not in written and "createdAt" not in written
    assert deployed.left_out == ("node 'A': rewireOutputLogTo", "node 'A': createdAt")


# -- node ids, webhook ids, positions --------------------------------------------------------------


def test_a_new_workflow_gets_fresh_distinct_uuids() -> None:
    document = definition(
        node("Hook", "n8n-nodes-base.webhook"),
        node("Form", "n8n-nodes-base.formTrigger"),
        node("Chat", "@n8n/n8n-nodes-langchain.chatTrigger"),
        node("Wait", "n8n-nodes-base.wait", parameters={"resume": "webhook"}),
        node("Set"),
    )
    body = build_deploy_body(document, target=None, credentials=index(), workflow_ids={}).body
    ids = [n["id"] for n in body["nodes"]] + [n["webhookId"] for n in body["nodes"][:4]]
    assert len(set(ids)) == len(ids) == 9
    assert all(uuid.UUID(value).version == 4 for value in ids)
    assert "webhookId" not in by_name(body)["Set"]


def test_the_target_keeps_its_ids_by_node_name() -> None:
    document = definition(
        node("Hook", "n8n-nodes-base.webhook"),
        node("Set"),
        node("New hook", "n8n-nodes-base.webhook"),
    )
    target = {
        "nodes": [
            node("Set", id="t-set"),
            node("Hook", "n8n-nodes-base.webhook", id="t-hook", webhookId="t-wh"),
            node("Gone", id="t-gone", webhookId="t-gone-wh"),
        ]
    }
    nodes = by_name(deploy(document, target=target, new_id=counter()).body)
    assert (nodes["Hook"]["id"], nodes["Hook"]["webhookId"]) == ("t-hook", "t-wh")
    assert nodes["Set"]["id"] == "t-set" and "webhookId" not in nodes["Set"]
    assert (nodes["New hook"]["id"], nodes["New hook"]["webhookId"]) == ("new-1", "new-2")


def test_a_target_webhook_id_is_kept_whatever_the_type() -> None:
    target = {"nodes": [node("Ask", "community.askAndWait", id="t1", webhookId="t-wh")]}
    [written] = deploy(definition(node("Ask", "community.askAndWait")), target=target).body["nodes"]
    assert written["webhookId"] == "t-wh"


def test_a_target_node_without_ids_gets_new_ones() -> None:
    target = {"nodes": [node("Hook", "n8n-nodes-base.webhook", id=None, webhookId="")]}
    document = definition(node("Hook", "n8n-nodes-base.webhook"))
    [written] = deploy(document, target=target).body["nodes"]
    assert (written["id"], written["webhookId"]) == ("new-1", "new-2")


def test_the_definitions_own_ids_are_never_used() -> None:
    document = definition(node("Hook", "n8n-nodes-base.webhook", id="dev-id", webhookId="dev-wh"))
    [written] = deploy(document).body["nodes"]
    assert (written["id"], written["webhookId"]) == ("new-1", "new-2")


@pytest.mark.parametrize(
    ("node_type", "needs"),
    [
        ("n8n-nodes-base.webhook", True),
        ("n8n-nodes-base.formTrigger", True),
        ("n8n-nodes-base.form", True),
        ("n8n-nodes-base.wait", True),
        ("@n8n/n8n-nodes-langchain.chatTrigger", True),
        ("@n8n/n8n-nodes-langchain.mcpTrigger", True),
        ("n8n-nodes-base.githubTrigger", True),
        ("n8n-nodes-base.slack", True),  # send and wait
        ("community.someServiceTrigger", True),
        ("n8n-nodes-base.manualTrigger", False),
        ("n8n-nodes-base.scheduleTrigger", False),
        ("n8n-nodes-base.executeWorkflowTrigger", False),
        ("n8n-nodes-base.googleSheetsTrigger", False),
        ("@n8n/n8n-nodes-langchain.manualChatTrigger", False),
        ("n8n-nodes-base.set", False),
        ("n8n-nodes-base.respondToWebhook", False),
        (None, False),
    ],
)
def test_which_node_types_need_a_webhook_id(node_type: str | None, needs: bool) -> None:
    assert needs_webhook_id(node_type) is needs


def test_position_from_the_definition_else_the_target_else_origin() -> None:
    document = definition(
        node("Own", position=[10, 20]),
        {"name": "From target", "type": "n8n-nodes-base.set"},
        {"name": "Nowhere", "type": "n8n-nodes-base.set", "position": ["x", 1]},
    )
    target = {"nodes": [node("From target", position=[300, 400]), node("Own", position=[1, 1])]}
    nodes = by_name(deploy(document, target=target).body)
    assert nodes["Own"]["position"] == [10, 20]
    assert nodes["From target"]["position"] == [300, 400]
    assert nodes["Nowhere"]["position"] == [0, 0]


# -- credentials -----------------------------------------------------------------------------------


def test_credentials_are_bound_by_type_and_name() -> None:
    env = [{"nodes": [node("S", credentials={SLACK[0]: {"id": "c-prod", "name": SLACK[1]}})]}]
    document = definition(with_slack(), node("Plain"))
    nodes = by_name(deploy(document, credentials=credential_index(env)).body)
    assert nodes["Slack"]["credentials"] == {SLACK[0]: {"id": "c-prod", "name": SLACK[1]}}
    assert "credentials" not in nodes["Plain"]


def test_a_definition_credential_id_is_replaced_and_a_nameless_one_left_out() -> None:
    credentials = {SLACK[0]: {"id": "dev-id", "name": SLACK[1]}, "httpBasicAuth": {"id": "x"}}
    [written] = deploy(definition(node("S", credentials=credentials))).body["nodes"]
    assert written["credentials"] == {SLACK[0]: {"id": "cred-prod", "name": SLACK[1]}}


def test_an_ambiguous_credential_blocks_until_a_binding_settles_it() -> None:
    env = [
        {"nodes": [node("A", credentials={SLACK[0]: {"id": "c1", "name": SLACK[1]}})]},
        {"nodes": [node("B", credentials={SLACK[0]: {"id": "c2", "name": SLACK[1]}})]},
    ]
    [blocker] = blockers_of(definition(with_slack()), credentials=credential_index(env))
    assert blocker.kind is BlockerKind.AMBIGUOUS_CREDENTIAL
    assert blocker.subject == SLACK and blocker.node == "Slack"
    assert "(c1, c2)" in blocker.detail and repr(SLACK[1]) in blocker.detail
    settled = credential_index(env, [(*SLACK, "c2")])
    [written] = deploy(definition(with_slack()), credentials=settled).body["nodes"]
    assert written["credentials"][SLACK[0]]["id"] == "c2"


def test_a_binding_overrides_what_was_learnt() -> None:
    env = [{"nodes": [node("A", credentials={SLACK[0]: {"id": "c1", "name": SLACK[1]}})]}]
    bound = credential_index(env, [(*SLACK, "c9")])
    [written] = deploy(definition(with_slack()), credentials=bound).body["nodes"]
    assert written["credentials"][SLACK[0]] == {"id": "c9", "name": SLACK[1]}


def test_a_missing_credential_names_its_type_and_name() -> None:
    [blocker] = blockers_of(definition(with_slack(credential_name="Other bot")))
    assert blocker.kind is BlockerKind.MISSING_CREDENTIAL
    assert blocker.subject == (SLACK[0], "Other bot")
    assert SLACK[0] in blocker.detail and "'Other bot'" in blocker.detail


# -- workflow references ---------------------------------------------------------------------------

TARGET_IDS = {"child": "Ch1ldPrd", "errors": "Err0rPrd", "a": "AaaPrd", "b": "BbbPrd"}


def written_call(call: dict[str, Any]) -> Any:
    [written] = deploy(definition(call), workflow_ids=TARGET_IDS).body["nodes"]
    return written["parameters"]["workflowId"]


def test_a_plain_reference_is_mapped() -> None:
    assert written_call(calling("slug:child")) == "Ch1ldPrd"
    assert written_call(calling("slug:child", TOOL_WORKFLOW)) == "Ch1ldPrd"


def test_a_resource_locator_is_mapped_and_loses_its_cache() -> None:
    locator = {
        "__rl": True, "value": "slug:child", "mode": "list",
        "cachedResultName": "Child (dev)", "cachedResultUrl": "/workflow/DevId",
    }  # fmt: skip
    assert written_call(calling(locator)) == {"__rl": True, "value": "Ch1ldPrd", "mode": "list"}
    by_id = {"__rl": True, "value": "slug:child", "mode": "id"}
    assert written_call(calling(by_id)) == {"__rl": True, "value": "Ch1ldPrd", "mode": "id"}


def test_a_url_mode_reference_becomes_the_targets_workflow_url() -> None:
    locator = {"__rl": True, "value": "slug:child", "mode": "url"}
    assert written_call(calling(locator))["value"] == "/workflow/Ch1ldPrd"


@pytest.mark.parametrize(
    "value",
    [
        "={{ $json.workflow }}",
        "PlainDevId",
        "",
        {"__rl": True, "value": "=x", "mode": "id", "cachedResultName": "kept"},
        {"__rl": True, "value": "https://dev.example/workflow/Abc", "mode": "url"},
    ],
)
def test_what_is_not_a_slug_reference_is_written_as_it_is(value: Any) -> None:
    assert written_call(calling(copy.deepcopy(value))) == value


def test_other_sources_and_node_types_are_not_references() -> None:
    assert written_call(calling("slug:nowhere", source="parameter")) == "slug:nowhere"
    assert written_call(calling("slug:nowhere", "n8n-nodes-base.set")) == "slug:nowhere"


def test_settings_references_are_mapped_and_the_rest_kept() -> None:
    settings_ = {
        "errorWorkflow": "slug:errors", "callerPolicy": "workflowsFromAList",
        "callerIds": "slug:b, slug:a,,PlainId", "timezone": "Europe/Berlin",
    }  # fmt: skip
    body = deploy(definition(node("A"), settings=settings_), workflow_ids=TARGET_IDS).body
    assert body["settings"] == {
        "errorWorkflow": "Err0rPrd", "callerPolicy": "workflowsFromAList",
        "callerIds": "AaaPrd,BbbPrd,PlainId", "timezone": "Europe/Berlin",
    }  # fmt: skip


# -- blockers --------------------------------------------------------------------------------------


def test_every_blocker_is_reported_together() -> None:
    ambiguous = credential_index(
        {"nodes": [node("X", credentials={"httpBasicAuth": {"id": i, "name": "Shared"}})]}
        for i in ("h1", "h2")
    )
    document = definition(
        with_slack("Slack"),
        node("Basic", credentials={"httpBasicAuth": {"name": "Shared"}}),
        calling({"__rl": True, "value": "slug:missing-child", "mode": "list"}),
        settings={"errorWorkflow": "slug:gone", "callerIds": "slug:z,slug:child,slug:y"},
    )
    blockers = blockers_of(document, credentials=ambiguous, workflow_ids=TARGET_IDS)
    assert [(b.kind, b.node, b.subject) for b in blockers] == [
        (BlockerKind.MISSING_CREDENTIAL, "Slack", SLACK),
        (BlockerKind.AMBIGUOUS_CREDENTIAL, "Basic", ("httpBasicAuth", "Shared")),
        (BlockerKind.UNRESOLVED_REFERENCE, "Call", ("missing-child",)),
        (BlockerKind.UNRESOLVED_REFERENCE, None, ("gone",)),
        (BlockerKind.UNRESOLVED_REFERENCE, None, ("y",)),
        (BlockerKind.UNRESOLVED_REFERENCE, None, ("z",)),
    ]
    assert (
        blockers[2].detail == "node 'Call': workflow 'missing-child' has no id in this environment"
    )
    message = str(DeployBlocked(list(blockers)))
    assert message.startswith("cannot deploy: ") and message.count(";") == 5


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"nodes": [], "connections": {}}, "no name"),
        (definition(node("A"), node("A")), "duplicate node name"),
        ({"name": "W", "nodes": "x", "connections": {}}, "not an n8n workflow"),
    ],
)
def test_a_definition_that_is_no_workflow_is_one_blocker(document: Any, reason: str) -> None:
    [blocker] = blockers_of(document)
    assert blocker.kind is BlockerKind.INVALID_DEFINITION and reason in blocker.detail


def test_each_dangling_connection_end_is_a_blocker_on_every_major() -> None:
    """n8n 2.x refuses a connection from or to a node the workflow lacks (1.x stores it):
    blocked before the write, once per missing source or target, after the nodes' own
    blockers."""
    link = {"type": "main", "index": 0}
    document = definition(
        with_slack("Slack"),
        node("A"),
        node("B"),
        connections={
            "A": {"main": [[{"node": "B", **link}, {"node": "Gone", **link}], None]},
            "B": {"main": [[{"node": "Gone", **link}], [{"node": "Also gone", **link}]]},
            "Ghost": {"main": [[{"node": "A", **link}]]},
        },
    )
    blockers = blockers_of(document, credentials=index())
    assert [(b.kind, b.node, b.subject) for b in blockers] == [
        (BlockerKind.MISSING_CREDENTIAL, "Slack", SLACK),
        (BlockerKind.INVALID_DEFINITION, "A", ("Gone",)),
        (BlockerKind.INVALID_DEFINITION, "B", ("Gone",)),
        (BlockerKind.INVALID_DEFINITION, "B", ("Also gone",)),
        (BlockerKind.INVALID_DEFINITION, None, ("Ghost",)),
    ]
    assert blockers[1].detail == (
        "the connection from 'A' leads to node 'Gone', which the workflow does not have "
        "(n8n 2.x refuses it; blocked on 1.x too)"
    )
    assert blockers[4].detail.startswith("connections start at node 'Ghost', which the")
    whole = definition(node("A"), node("B"), connections={"A": {"main": [[{"node": "B", **link}]]}})
    assert deploy(whole).body["connections"] == whole["connections"]


def test_the_definition_is_never_modified_nor_shared_with_the_body() -> None:
    document = definition(
        with_slack(),
        calling({"__rl": True, "value": "slug:child", "mode": "list", "cachedResultName": "C"}),
        node("Hook", "n8n-nodes-base.webhook", parameters={"path": "p", "options": {}}),
        settings={"errorWorkflow": "slug:errors", "callerIds": "slug:a"},
        connections={"Hook": {"main": [[{"node": "Call", "type": "main", "index": 0}]]}},
    )
    before = copy.deepcopy(document)
    body = deploy(document, workflow_ids=TARGET_IDS).body
    assert document == before
    for written in body["nodes"]:
        parameters = written.setdefault("parameters", {})
        for value in parameters.values():
            if isinstance(value, dict):
                value["changed"] = True
        parameters["changed"] = True
        for reference in written.get("credentials", {}).values():
            reference["name"] = "changed"
    body["connections"]["Hook"]["main"][0].clear()
    body["settings"]["timezone"] = "x"
    assert document == before
