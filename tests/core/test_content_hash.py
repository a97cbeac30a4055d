"""Content hash on golden fixtures: one workflow exported from two n8n instances.

`order_intake.dev.json` and `order_intake.prod.json` differ in everything that is not
counted (ids, versions, timestamps, credential ids, tags, active flag, node ids,
webhookIds, meta, pinData, shared, node order, positions, cache of resource locators, a
default written out, an empty output list) and in the ids of the workflows they reference.
`order_intake.normalized.json` is what both normalize to.
"""

import copy
import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonflow.core.canonical_json import canonical_json
from canonflow.core.hashing import (
    HASH_PREFIX,
    content_hash,
    hash_normalized,
    normalize,
    parse_workflow,
    version_of,
)

FIXTURES = Path(__file__).parent / "fixtures"
DEV_REFS = {"Fu1fDevWf0000001": "fulfilment", "Er7DevFlow000001": "error-alerts"}
PROD_REFS = {"Fu1fPrdWf0000009": "fulfilment", "Er7PrdFlow000009": "error-alerts"}
# Pinned: if this changes, a rule changed, and HASH_VERSION must be bumped.
GOLDEN_HASH = "v1:bba32927570c2589e1e70c6b800d6ab15b150270dd09661e5e4533eca981a524"
QUICK = settings(max_examples=60, deadline=None, database=None)


def load(name: str) -> dict[str, Any]:
    return parse_workflow((FIXTURES / name).read_bytes())


DEV = load("order_intake.dev.json")
PROD = load("order_intake.prod.json")


def dev_copy() -> dict[str, Any]:
    return copy.deepcopy(DEV)


def dev_hash(wf: dict[str, Any]) -> str:
    return content_hash(wf, DEV_REFS)


def test_two_exports_of_one_workflow_hash_equal() -> None:
    assert content_hash(DEV, DEV_REFS) == content_hash(PROD, PROD_REFS) == GOLDEN_HASH


def test_both_exports_normalize_to_the_golden_document() -> None:
    golden = json.loads((FIXTURES / "order_intake.normalized.json").read_text())
    assert normalize(DEV, DEV_REFS).document == golden
    assert normalize(PROD, PROD_REFS).document == golden


def test_the_hash_is_the_prefixed_sha256_of_the_canonical_document() -> None:
    document = normalize(DEV, DEV_REFS).document
    expected = HASH_PREFIX + hashlib.sha256(canonical_json(document)).hexdigest()
    assert hash_normalized(document) == expected == dev_hash(DEV)


def test_without_refs_the_environment_specific_ids_tell_the_copies_apart() -> None:
    assert content_hash(DEV) != content_hash(PROD)
    assert normalize(DEV).unresolved_refs == ()


def test_references_that_cannot_be_resolved_are_reported() -> None:
    partial = normalize(PROD, {"Fu1fPrdWf0000009": "fulfilment"})
    assert partial.unresolved_refs == ("Er7PrdFlow000009",)
    assert normalize(PROD, {}).unresolved_refs == ("Er7PrdFlow000009", "Fu1fPrdWf0000009")


def calling(workflow_id: str) -> dict[str, Any]:
    call = {"name": "Call", "type": "n8n-nodes-base.executeWorkflow", "parameters": {}}
    call["parameters"]["workflowId"] = {"__rl": True, "value": workflow_id, "mode": "list"}
    return {"nodes": [call], "connections": {}}


def test_a_reference_hashes_equal_when_both_ids_map_to_one_slug() -> None:
    in_dev, in_prod = calling("abc"), calling("Zx9prodId")
    assert content_hash(in_dev, {"abc": "billing"}) == content_hash(
        in_prod, {"Zx9prodId": "billing"}
    )
    assert content_hash(in_dev, {"abc": "billing"}) != content_hash(in_prod, {"Zx9prodId": "other"})
    assert normalize(in_prod, {"abc": "billing"}).unresolved_refs == ("Zx9prodId",)


def test_refs_pointing_at_different_workflows_hash_differently() -> None:
    elsewhere = {**DEV_REFS, "Fu1fDevWf0000001": "shipping"}
    assert content_hash(DEV, elsewhere) != GOLDEN_HASH


def named(nodes: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(node for node in nodes if node["name"] == name)


def find_node(wf: dict[str, Any], name: str) -> dict[str, Any]:
    return named(wf["nodes"], name)


def walk(wf: dict[str, Any], path: tuple[Any, ...]) -> Any:
    here: Any = wf
    for key in path:
        here = named(here, key) if isinstance(key, str) and isinstance(here, list) else here[key]
    return here


Mutation = Callable[[dict[str, Any]], None]


def set_(*path_and_value: Any) -> Mutation:
    *path, value = path_and_value
    return lambda wf: walk(wf, tuple(path[:-1])).__setitem__(path[-1], value)


def delete(*path: Any) -> Mutation:
    return lambda wf: walk(wf, path[:-1]).pop(path[-1])


def rename_node(wf: dict[str, Any]) -> None:
    old, new = "Mark small order", "Tag small order"
    find_node(wf, old)["name"] = new
    wf["connections"][new] = wf["connections"].pop(old)
    for by_type in wf["connections"].values():
        for outputs in by_type.values():
            for target in (t for targets in outputs for t in targets or []):
                if target["node"] == old:
                    target["node"] = new


def swap_parallel_branches(wf: dict[str, Any]) -> None:
    upper, lower = find_node(wf, "Append to orders sheet"), find_node(wf, "Notify sales on Slack")
    upper["position"], lower["position"] = lower["position"], upper["position"]


def add_node(wf: dict[str, Any]) -> None:
    wf["nodes"].append({"name": "Note 2", "type": "n8n-nodes-base.stickyNote", "parameters": {}})


IF, SHEET, SLACK, SMALL = (
    "Is big order?",
    "Append to orders sheet",
    "Notify sales on Slack",
    "Mark small order",
)
IF_CONDITION = ("nodes", IF, "parameters", "conditions", "conditions", 0)
CHANGES: dict[str, Mutation] = {
    "node parameter": set_(*IF_CONDITION, "rightValue", 200),
    "expression": set_("nodes", SLACK, "parameters", "text", "=Order {{ $json.id }}"),
    "node type": set_("nodes", SMALL, "type", "n8n-nodes-base.code"),
    "node name (connections renamed)": rename_node,
    "connection retargeted": set_("connections", SMALL, "main", 0, 0, "node", SLACK),
    "connection removed": delete("connections", SMALL),
    "connection input index": set_("connections", "Start fulfilment", "main", 0, 0, "index", 1),
    "IF outputs swapped": lambda wf: wf["connections"][IF]["main"].reverse(),
    "credential name": set_("nodes", SLACK, "credentials", "slackApi", "name", "Ops Slack bot"),
    "credential type": set_("nodes", SLACK, "credentials", {"slackOAuth2Api": {"name": "x"}}),
    "settings value": set_("settings", "saveManualExecutions", False),
    "settings execution order": set_("settings", "executionOrder", "v0"),
    "settings new key": set_("settings", "timezone", "Europe/Berlin"),
    "workflow name": set_("name", "Order intake v2"),
    "description": set_("description", "Takes orders in"),
    "typeVersion": set_("nodes", IF, "typeVersion", 2.1),
    "disabled": set_("nodes", SLACK, "disabled", True),
    "notes": set_("nodes", SHEET, "notes", "Owned by finance"),
    "onError": set_("nodes", SLACK, "onError", "continueErrorOutput"),
    "continueOnFail": set_("nodes", SMALL, "continueOnFail", True),
    "retryOnFail": set_("nodes", SHEET, "retryOnFail", False),
    "maxTries": set_("nodes", SHEET, "maxTries", 3),
    "waitBetweenTries": set_("nodes", SHEET, "waitBetweenTries", 1000),
    "alwaysOutputData": set_("nodes", SMALL, "alwaysOutputData", True),
    "executeOnce": set_("nodes", SMALL, "executeOnce", True),
    "resource locator value": set_("nodes", SHEET, "parameters", "sheetName", "value", "gid=7"),
    "resource locator mode": set_("nodes", SHEET, "parameters", "sheetName", "mode", "id"),
    "sticky note text": set_("nodes", "Sticky Note", "parameters", "content", "## Orders"),
    "sticky note removed": lambda wf: wf["nodes"].remove(find_node(wf, "Sticky Note")),
    "node added": add_node,
    "called workflow": set_("nodes", "Start fulfilment", "parameters", "workflowId", "value", "x"),
    "error workflow": set_("settings", "errorWorkflow", "Kx0Other00000001"),
    "parallel branches swapped vertically": swap_parallel_branches,
    "empty string instead of null": set_("nodes", SMALL, "parameters", "options", "x", ""),
    "false instead of missing parameter": set_("nodes", SMALL, "parameters", "options", "x", False),
}


@pytest.mark.parametrize("mutate", CHANGES.values(), ids=CHANGES.keys())
def test_a_real_change_changes_the_hash(mutate: Mutation) -> None:
    wf = dev_copy()
    mutate(wf)
    assert dev_hash(wf) != GOLDEN_HASH


VOLATILE_TOP_LEVEL = {
    "id": "Other0000000001", "versionId": "v-2", "activeVersionId": "v-2", "versionCounter": 9,
    "createdAt": "2030-01-01T00:00:00.000Z", "updatedAt": "2030-01-01T00:00:00.000Z",
    "triggerCount": 4, "shared": [], "homeProject": {"id": "p"}, "scopes": ["workflow:read"],
    "usedCredentials": [{"id": "c"}], "owner": {"email": "a@example.com"}, "active": False,
    "isArchived": True, "parentFolderId": "folder", "tags": [{"name": "new"}],
    "meta": {"instanceId": "other"}, "pinData": {}, "staticData": {"global": {"n": 1}},
}  # fmt: skip
NO_CHANGES: dict[str, Mutation] = {
    **{f"top-level {key}": set_(key, value) for key, value in VOLATILE_TOP_LEVEL.items()},
    **{f"top-level {key} removed": delete(key) for key in ("id", "tags", "meta", "pinData")},
    "node id": set_("nodes", SMALL, "id", "00000000-0000-4000-8000-000000000000"),
    "node id removed": delete("nodes", SMALL, "id"),
    "node position": set_("nodes", SMALL, "position", [9000, -9000]),
    "parallel branches moved, same order": set_("nodes", SLACK, "position", [-3000, 421]),
    "webhookId": set_(
        "nodes", "Order webhook", "webhookId", "1f1f1f1f-0000-4000-8000-000000000000"
    ),
    "credential id": set_("nodes", SLACK, "credentials", "slackApi", "id", "Other"),
    "cachedResultName": set_("nodes", SHEET, "parameters", "documentId", "cachedResultName", "X"),
    "cachedResultUrl removed": delete("nodes", SHEET, "parameters", "sheetName", "cachedResultUrl"),
    "notesInFlow": set_("nodes", SHEET, "notesInFlow", False),
    "description null vs missing": delete("description"),
    "null node field": set_("nodes", SMALL, "notes", None),
    "null parameter": set_("nodes", SMALL, "parameters", "options", "x", None),
    "null setting": set_("settings", "timezone", None),
    "settings default written out": set_("settings", "callerPolicy", "workflowsFromSameOwner"),
    "settings default missing": delete("settings", "executionOrder"),
    "node default written out": set_("nodes", SMALL, "disabled", False),
    "integral float": set_("nodes", "Order webhook", "typeVersion", 2.0),
    "empty output list": set_("connections", SLACK, "main", [[], []]),
    "connections of a node without any": delete("connections", SLACK),
    "node order": lambda wf: wf["nodes"].reverse(),
    "parallel targets listed in reverse": lambda wf: wf["connections"][IF]["main"][0].reverse(),
}


@pytest.mark.parametrize("mutate", NO_CHANGES.values(), ids=NO_CHANGES.keys())
def test_what_is_not_counted_keeps_the_hash(mutate: Mutation) -> None:
    wf = dev_copy()
    mutate(wf)
    assert json.dumps(wf) != json.dumps(DEV)  # the mutation did change something
    assert dev_hash(wf) == GOLDEN_HASH


def shuffled(value: Any, rnd: random.Random) -> Any:
    """The same JSON value with every object's keys in a random order."""
    if isinstance(value, dict):
        items = [(key, shuffled(item, rnd)) for key, item in value.items()]
        rnd.shuffle(items)
        return dict(items)
    if isinstance(value, list):
        return [shuffled(item, rnd) for item in value]
    return value


@QUICK
@given(st.randoms(use_true_random=False))
def test_key_order_does_not_matter(rnd: random.Random) -> None:
    assert dev_hash(shuffled(DEV, rnd)) == GOLDEN_HASH


@QUICK
@given(st.permutations(DEV["nodes"]))
def test_node_order_does_not_matter(nodes: list[dict[str, Any]]) -> None:
    assert dev_hash({**DEV, "nodes": nodes}) == GOLDEN_HASH


@QUICK
@given(st.permutations(DEV["connections"]["Is big order?"]["main"][0]), st.randoms())
def test_listed_order_of_positioned_parallel_targets_does_not_matter(
    parallel: list[dict[str, Any]], rnd: random.Random
) -> None:
    wf = dev_copy()
    wf["connections"]["Is big order?"]["main"][0] = parallel
    wf["connections"] = shuffled(wf["connections"], rnd)
    assert dev_hash(wf) == GOLDEN_HASH


def test_a_normalized_document_hashes_like_its_source_without_refs() -> None:
    # Normalizing is idempotent, so a stored normalized document can be re-hashed as is.
    normalized = normalize(DEV, DEV_REFS).document
    assert content_hash(normalized) == GOLDEN_HASH


@pytest.mark.parametrize(
    ("digest", "version"),
    [("v1:" + "0" * 64, 1), ("v12:abc", 12), ("v:abc", None), ("x1:abc", None), ("v1", None),
     (None, None)],
)  # fmt: skip
def test_version_of_reads_the_prefix(digest: str | None, version: int | None) -> None:
    assert version_of(digest) == version
