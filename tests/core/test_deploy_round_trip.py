"""A deployed definition hashes like the canonical it came from (core/deploy.py).

The golden pair (`order_intake.dev.json`, `order_intake.prod.json`) and a property: a
generated workflow made canonical, written to another environment and read back as n8n
returns it, has the same content hash.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from canonflow.core.definitions import canonical_definition
from canonflow.core.deploy import build_deploy_body, credential_index, needs_webhook_id
from canonflow.core.hashing import content_hash, parse_workflow

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN_HASH = "v1:bba32927570c2589e1e70c6b800d6ab15b150270dd09661e5e4533eca981a524"
QUICK = settings(max_examples=80, deadline=None, database=None)
WRITABLE_TOP_LEVEL = {"name", "nodes", "connections", "settings", "staticData"}
EXECUTE_WORKFLOW = "n8n-nodes-base.executeWorkflow"
TOOL_WORKFLOW = "@n8n/n8n-nodes-langchain.toolWorkflow"
SLACK = ("slackApi", "Sales Slack bot")


def counter(prefix: str = "new") -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"{prefix}-{next(numbers)}"


def by_name(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in workflow["nodes"]}


# -- the golden pair: dev's definition written over prod's copy ------------------------------------


def test_dev_definition_over_prod_keeps_prods_identity_and_hashes_like_the_canonical() -> None:
    dev = parse_workflow((FIXTURES / "order_intake.dev.json").read_bytes())
    prod = parse_workflow((FIXTURES / "order_intake.prod.json").read_bytes())
    canonical = canonical_definition(
        dev, {"Fu1fDevWf0000001": "fulfilment", "Er7DevFlow000001": "error-alerts"}
    )
    prod_ids = {"fulfilment": "Fu1fPrdWf0000009", "error-alerts": "Er7PrdFlow000009"}
    deployed = build_deploy_body(
        canonical.document,
        target=prod,
        credentials=credential_index([prod]),
        workflow_ids=prod_ids,
        new_id=counter(),
    )
    body, prod_nodes = deployed.body, by_name(prod)
    assert set(body) == WRITABLE_TOP_LEVEL
    assert body["staticData"] == prod["staticData"]
    for written in body["nodes"]:
        assert written["id"] == prod_nodes[written["name"]]["id"]
        assert written.get("webhookId") == prod_nodes[written["name"]].get("webhookId")
        assert written.get("credentials") == prod_nodes[written["name"]].get("credentials")
    call = by_name(body)["Start fulfilment"]["parameters"]["workflowId"]
    assert call == {"__rl": True, "value": "Fu1fPrdWf0000009", "mode": "list"}
    assert body["settings"]["errorWorkflow"] == "Er7PrdFlow000009"
    assert deployed.content_hash == canonical.content_hash == GOLDEN_HASH
    assert content_hash(body, {v: k for k, v in prod_ids.items()}) == GOLDEN_HASH
    assert deployed.left_out == ()


# -- the round trip: definition -> body -> what n8n returns -> definition --------------------------

SLUGS = ("alpha", "beta", "gamma")
CREDENTIALS = (SLACK, ("httpBasicAuth", "Shared"), ("googleSheetsOAuth2Api", "Sales"))
PLAIN_TYPES = ("n8n-nodes-base.set", "n8n-nodes-base.webhook", "n8n-nodes-base.wait")


@st.composite
def reference(draw: st.DrawFn, dev_ids: dict[str, str]) -> Any:
    value = dev_ids[draw(st.sampled_from(SLUGS))]
    mode = draw(st.sampled_from(["plain", "list", "id", "url"]))
    if mode == "plain":
        return value
    if mode == "url":
        value = f"https://dev.example/workflow/{value}"
    return {"__rl": True, "value": value, "mode": mode, "cachedResultName": "shown"}


@st.composite
def dev_node(draw: st.DrawFn, name: str, dev_ids: dict[str, str]) -> dict[str, Any]:
    kind = draw(st.sampled_from([*PLAIN_TYPES, EXECUTE_WORKFLOW, TOOL_WORKFLOW]))
    position = draw(st.lists(st.integers(-500, 500), min_size=2, max_size=2))
    result = {
        "id": f"dev-{name}",
        "name": name,
        "type": kind,
        "typeVersion": 1,
        "position": position,
    }
    result["parameters"] = (
        {"workflowId": draw(reference(dev_ids))}
        if kind in (EXECUTE_WORKFLOW, TOOL_WORKFLOW)
        else {}
    )
    if kind == "n8n-nodes-base.webhook":
        result["webhookId"] = f"dev-wh-{name}"
    used = draw(st.lists(st.sampled_from(CREDENTIALS), max_size=2, unique_by=lambda c: c[0]))
    if used:
        result["credentials"] = {t: {"id": f"dev-{t}", "name": n} for t, n in used}
    return result


@st.composite
def dev_workflow(draw: st.DrawFn, dev_ids: dict[str, str]) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from("ABCDEFG"), min_size=1, max_size=6, unique=True))
    nodes = [draw(dev_node(name, dev_ids)) for name in names]
    connections: dict[str, Any] = {}
    for source in names:
        targets = draw(st.lists(st.sampled_from(names), max_size=3))
        if targets:
            connections[source] = {
                "main": [[{"node": t, "type": "main", "index": 0} for t in targets]]
            }
    settings_: dict[str, Any] = {"executionOrder": "v1"}
    if draw(st.booleans()):
        settings_["errorWorkflow"] = dev_ids[draw(st.sampled_from(SLUGS))]
    callers = draw(st.lists(st.sampled_from(SLUGS), max_size=3))
    if callers:
        settings_["callerIds"] = ", ".join(dev_ids[slug] for slug in callers)
    name = draw(st.text(min_size=1, max_size=20))
    return {
        "id": "DevWf",
        "name": name,
        "active": True,
        "nodes": nodes,
        "connections": connections,
        "settings": settings_,
    }


def as_n8n_returns(body: dict[str, Any], workflow_id: str) -> dict[str, Any]:
    """What n8n answers a write with: its own fields added, defaults filled in."""
    returned = copy.deepcopy(body)
    returned.update(id=workflow_id, active=False, versionId="v-new", tags=[], pinData={})
    returned["settings"] = {
        "callerPolicy": "workflowsFromSameOwner",
        "availableInMCP": False,
        **returned["settings"],
    }
    returned.setdefault("staticData", None)
    return returned


@QUICK
@given(data=st.data(), existing=st.booleans())
def test_a_deployed_definition_reads_back_with_the_same_hash(
    data: st.DataObject, existing: bool
) -> None:
    dev_ids = {slug: f"Dev{slug.title()}Id" for slug in SLUGS}
    prod_ids = {slug: f"Prd{slug.title()}Id" for slug in SLUGS}
    workflow = data.draw(dev_workflow(dev_ids))
    canonical = canonical_definition(workflow, {v: k for k, v in dev_ids.items()})
    before = copy.deepcopy(canonical.document)
    target = None
    if existing:
        target = as_n8n_returns(data.draw(dev_workflow(prod_ids)), "PrdWf")
        target["staticData"] = {"global": {"cursor": 1}}
    prod_credentials = credential_index([], [(t, n, f"prod-{t}") for t, n in CREDENTIALS])
    deployed = build_deploy_body(
        canonical.document, target=target, credentials=prod_credentials, workflow_ids=prod_ids
    )
    body = deployed.body
    assert canonical.document == before
    assert set(body) <= WRITABLE_TOP_LEVEL
    ids = [n["id"] for n in body["nodes"]] + [
        n["webhookId"] for n in body["nodes"] if "webhookId" in n
    ]
    assert len(set(ids)) == len(ids)
    assert all("webhookId" in n for n in body["nodes"] if needs_webhook_id(n["type"]))
    kept = by_name(target) if target else {}
    for written in body["nodes"]:
        if written["name"] in kept:
            assert written["id"] == kept[written["name"]]["id"]
    assert body.get("staticData") == (target and target["staticData"])
    back_refs = {v: k for k, v in prod_ids.items()}
    assert content_hash(body, back_refs) == deployed.content_hash == canonical.content_hash
    read_back = canonical_definition(as_n8n_returns(body, "PrdWf"), back_refs)
    assert read_back.content_hash == canonical.content_hash
    assert read_back.unresolved_refs == frozenset()
