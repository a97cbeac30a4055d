"""The normalization rules one by one (numbers refer to the rules in normalize.py)."""

import copy
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonflow.core.canonical_json import canonical_json
from canonflow.core.normalize import (
    HASH_PREFIX,
    HASH_VERSION,
    REFERENCE_PREFIX,
    InvalidWorkflow,
    Normalized,
    normalize,
)

DEFAULT_SETTINGS = {
    "executionOrder": "v1",
    "callerPolicy": "workflowsFromSameOwner",
    "availableInMCP": False,
}
EXECUTE_WORKFLOW = "n8n-nodes-base.executeWorkflow"


def node(name: str = "A", type_: str = "n8n-nodes-base.set", **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **fields}


def workflow(*nodes: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"nodes": list(nodes) or [node()], "connections": {}, **fields}


def document(wf: dict[str, Any], refs: dict[str, str] | None = None) -> dict[str, Any]:
    return normalize(wf, refs).document


def only_node(wf: dict[str, Any], refs: dict[str, str] | None = None) -> dict[str, Any]:
    [normalized] = document(wf, refs)["nodes"]
    return normalized


def test_version_constants() -> None:
    assert HASH_VERSION == 1
    assert HASH_PREFIX == "v1:"
    assert REFERENCE_PREFIX == "slug:"


def test_rule_1_only_counted_top_level_fields_remain() -> None:
    wf = workflow(
        name="W", description="D", id="x", versionId="v", active=True, tags=[{"name": "t"}],
        meta={"instanceId": "i"}, pinData={"A": []}, staticData={"a": 1}, unknownField=1,
    )  # fmt: skip
    assert set(document(wf)) == {"name", "description", "nodes", "connections", "settings"}


def test_rule_1_minimal_document() -> None:
    assert document(workflow()) == {
        "nodes": [{"name": "A", "type": "n8n-nodes-base.set"}],
        "connections": {},
        "settings": DEFAULT_SETTINGS,
    }


def test_rule_2_null_members_are_dropped_at_any_depth_but_null_list_items_stay() -> None:
    parameters = {"a": None, "b": {"c": None, "d": [None, {"e": None, "f": 1}]}, "g": {}}
    wf = workflow(node(parameters=parameters, notes=None), name=None, description=None)
    assert document(wf)["nodes"][0] == {
        "name": "A",
        "type": "n8n-nodes-base.set",
        "parameters": {"b": {"d": [None, {"f": 1}]}, "g": {}},
    }
    assert "name" not in document(wf)
    assert "description" not in document(wf)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2.0, 2),
        (-0.0, 0),
        (2.5, 2.5),
        (float(2**53), 2**53),
        (float(2**54), float(2**54)),
        (2**53 + 1, 2**53),
        (2**60 + 1, float(2**60)),
        (-(2**60), float(-(2**60))),
        (10**400, 10**400),
        (True, True),
        (1e300, 1e300),
    ],
)
def test_rule_3_numbers_are_javascript_numbers(value: float, expected: float) -> None:
    normalized = only_node(workflow(node(typeVersion=value, parameters={"n": [value]})))
    assert normalized["typeVersion"] == expected
    assert type(normalized["typeVersion"]) is type(expected)
    assert normalized["parameters"] == {"n": [expected]}


def test_rule_4_settings_defaults_are_filled_in() -> None:
    assert document(workflow(settings=None))["settings"] == DEFAULT_SETTINGS
    assert document(workflow(settings={"executionOrder": None}))["settings"] == DEFAULT_SETTINGS
    custom = {"executionOrder": "v0", "callerPolicy": "none", "availableInMCP": True, "x": 1}
    assert document(workflow(settings=custom))["settings"] == custom


def test_rule_5_only_counted_node_fields_remain() -> None:
    counted = {
        "typeVersion": 2, "parameters": {"p": 1}, "disabled": True, "notes": "n",
        "onError": "continueErrorOutput", "continueOnFail": True, "retryOnFail": True,
        "maxTries": 5, "waitBetweenTries": 10, "alwaysOutputData": True, "executeOnce": True,
    }  # fmt: skip
    dropped = {"id": "i", "position": [1, 2], "webhookId": "w", "notesInFlow": True, "color": 3}
    normalized = only_node(workflow(node(**counted, **dropped)))
    assert normalized == {"name": "A", "type": "n8n-nodes-base.set", **counted}


@pytest.mark.parametrize(
    ("field", "default"),
    [
        ("disabled", False),
        ("continueOnFail", False),
        ("retryOnFail", False),
        ("alwaysOutputData", False),
        ("executeOnce", False),
        ("notes", ""),
        ("onError", "stopWorkflow"),
        ("parameters", {}),
        ("credentials", {}),
    ],
)
def test_rule_5_node_fields_at_their_default_count_as_absent(field: str, default: object) -> None:
    assert only_node(workflow(node(**{field: default}))) == only_node(workflow(node()))


def test_rule_5_a_default_must_match_in_type_too() -> None:
    assert only_node(workflow(node(disabled=0)))["disabled"] == 0


def test_rule_5_nodes_are_sorted_by_name() -> None:
    wf = workflow(node("b"), node("B"), node("a"), node("Ä"))
    assert [n["name"] for n in document(wf)["nodes"]] == ["B", "a", "b", "Ä"]


def test_rule_6_credentials_keep_type_and_name_only() -> None:
    credentials = {
        "slackApi": {"id": "1", "name": "Slack bot"},
        "oldStyle": "Named directly",
        "noName": {"id": "2"},
        "nullName": {"id": "3", "name": None},
        "notAName": 7,
    }
    normalized = only_node(workflow(node(credentials=credentials)))
    assert normalized["credentials"] == {"slackApi": "Slack bot", "oldStyle": "Named directly"}


def test_rule_7_resource_locators_lose_their_cache_at_any_depth() -> None:
    locator = {"__rl": True, "value": "v", "mode": "list", "cachedResultName": "N"}
    not_locator = {"__rl": "true", "value": "v", "cachedResultName": "N", "cachedResultUrl": "U"}
    parameters = {
        "top": {**locator, "cachedResultUrl": "U"},
        "deep": {"list": [{"inner": locator}]},
        "lookalike": not_locator,
    }
    assert only_node(workflow(node(parameters=parameters)))["parameters"] == {
        "top": {"__rl": True, "value": "v", "mode": "list"},
        "deep": {"list": [{"inner": {"__rl": True, "value": "v", "mode": "list"}}]},
        "lookalike": not_locator,
    }


def link(target: str, index: int = 0) -> dict[str, Any]:
    return {"node": target, "type": "main", "index": index}


def connections_of(wf: dict[str, Any]) -> dict[str, Any]:
    return document(wf)["connections"]


def test_rule_8_empty_outputs_are_trimmed_from_the_end_only() -> None:
    wf = workflow(
        node("A"), node("B"),
        connections={
            "A": {"main": [None, [link("B")], [], None], "ai_tool": [[], None]},
            "B": {"main": [[]]},
            "C": {},
        },
    )  # fmt: skip
    assert connections_of(wf) == {"A": {"main": [[], [link("B")]]}}


def fan_out(positions: dict[str, Any], order: list[str]) -> dict[str, Any]:
    nodes = [node("Source")]
    nodes += [node(name, position=position) for name, position in positions.items()]
    return workflow(*nodes, connections={"Source": {"main": [[link(name) for name in order]]}})


def targets(wf: dict[str, Any]) -> list[str]:
    return [target["node"] for target in connections_of(wf)["Source"]["main"][0]]


def test_rule_8_parallel_targets_run_top_to_bottom_then_left_to_right() -> None:
    positions = {"low": [0, 300], "high-right": [500, 100], "high-left": [-50, 100]}
    for order in (["low", "high-right", "high-left"], ["high-left", "low", "high-right"]):
        assert targets(fan_out(positions, order)) == ["high-left", "high-right", "low"]


def test_rule_8_same_position_is_ordered_by_name_then_connection() -> None:
    wf = fan_out({"b": [0, 0], "a": [0, 0]}, ["b", "a"])
    assert targets(wf) == ["a", "b"]
    merge = workflow(
        node("Source"), node("Merge", position=[1, 1]),
        connections={"Source": {"main": [[link("Merge", 1), link("Merge", 0)]]}},
    )  # fmt: skip
    assert connections_of(merge)["Source"]["main"][0] == [link("Merge", 0), link("Merge", 1)]


def test_rule_8_targets_without_position_come_last_in_given_order() -> None:
    positions = {"placed": [0, 900], "no-position": None, "bad": ["x", 1], "short": [1]}
    order = ["short", "no-position", "placed", "bad", "dangling"]
    assert targets(fan_out(positions, order)) == [
        "placed",
        "short",
        "no-position",
        "bad",
        "dangling",
    ]


def test_rule_8_a_single_target_is_kept_and_positions_do_not_count() -> None:
    assert targets(fan_out({"x": [5, 5]}, ["x"])) == ["x"]
    moved = fan_out({"x": [900, -40], "y": [1000, 80]}, ["x", "y"])
    assert document(moved) == document(fan_out({"x": [0, 0], "y": [0, 1]}, ["y", "x"]))


def call(workflow_id: object, **parameters: Any) -> dict[str, Any]:
    return node("Call", EXECUTE_WORKFLOW, parameters={"workflowId": workflow_id, **parameters})


def locator(value: str, mode: str = "list") -> dict[str, Any]:
    return {"__rl": True, "value": value, "mode": mode, "cachedResultName": "Target"}


REFS = {"id1": "target", "id2": "other"}


@pytest.mark.parametrize(
    ("workflow_id", "expected"),
    [
        ("id1", "slug:target"),
        (locator("id1"), {"__rl": True, "value": "slug:target", "mode": "list"}),
        (locator("id1", "id"), {"__rl": True, "value": "slug:target", "mode": "id"}),
        (
            locator("https://n8n.example.com/workflow/id1", "url"),
            {"__rl": True, "value": "slug:target", "mode": "url"},
        ),
    ],
)
def test_rule_9_execute_workflow_references_become_slugs(workflow_id: Any, expected: Any) -> None:
    normalized = normalize(workflow(call(workflow_id)), REFS)
    assert normalized.document["nodes"][0]["parameters"]["workflowId"] == expected
    assert normalized.unresolved_refs == ()


def test_rule_9_the_call_workflow_tool_references_too() -> None:
    tool = node("Tool", "@n8n/n8n-nodes-langchain.toolWorkflow", parameters={"workflowId": "id2"})
    assert only_node(workflow(tool), REFS)["parameters"]["workflowId"] == "slug:other"


@pytest.mark.parametrize(
    "unresolved_node",
    [
        call("gone"),
        call(locator("gone")),
        call(locator("https://n8n.example.com/workflow/gone?x=1", "url")),
        call("gone", source="database"),
    ],
)
def test_rule_9_unresolved_references_are_kept_and_reported(unresolved_node: Any) -> None:
    wf = workflow(unresolved_node)
    normalized = normalize(wf, REFS)
    assert normalized.unresolved_refs == ("gone",)
    assert normalized.document == normalize(wf).document


@pytest.mark.parametrize(
    "ignored_node",
    [
        call("id1", source="localFile"),
        call("id1", source="parameter"),
        call("={{ $json.workflowId }}"),
        call(""),
        call(locator("={{ $json.id }}")),
        call(locator("https://n8n.example.com/no-id-here", "url")),
        call(42),
        call({"__rl": True, "value": None, "mode": "list"}),
        node("NotACall", "n8n-nodes-base.set", parameters={"workflowId": "id1"}),
    ],
)
def test_rule_9_what_is_not_a_database_reference_is_left_alone(ignored_node: Any) -> None:
    wf = workflow(ignored_node)
    normalized = normalize(wf, REFS)
    assert normalized.unresolved_refs == ()
    assert normalized.document == normalize(wf).document


def test_rule_9_settings_references() -> None:
    settings_ = {"errorWorkflow": "id1", "callerPolicy": "workflowsFromAList"}
    settings_["callerIds"] = " id2 ,gone, id1,,id2 "
    normalized = normalize(workflow(settings=settings_), REFS)
    assert normalized.document["settings"]["errorWorkflow"] == "slug:target"
    assert normalized.document["settings"]["callerIds"] == "gone,slug:other,slug:target"
    assert normalized.unresolved_refs == ("gone",)


def test_rule_9_caller_ids_are_tidied_even_without_refs() -> None:
    normalized = normalize(workflow(settings={"callerIds": "b, a,,b"}))
    assert normalized.document["settings"]["callerIds"] == "a,b"


def test_rule_9_unresolved_references_are_sorted_and_unique() -> None:
    wf = workflow(call("z"), node("B", EXECUTE_WORKFLOW, parameters={"workflowId": "a"}),
                  settings={"errorWorkflow": "z", "callerIds": "m,a"})  # fmt: skip
    assert normalize(wf, {}).unresolved_refs == ("a", "m", "z")


def test_rule_9_without_refs_nothing_is_replaced_or_reported() -> None:
    wf = workflow(call(locator("id1")), settings={"errorWorkflow": "id1"})
    normalized = normalize(wf)
    assert normalized.unresolved_refs == ()
    assert normalized.document["settings"]["errorWorkflow"] == "id1"
    assert normalized.document["nodes"][0]["parameters"]["workflowId"]["value"] == "id1"


def test_normalize_does_not_modify_its_input() -> None:
    wf = workflow(
        call(locator("id1")), node("B", position=[0, 0], parameters={"x": None}),
        connections={"Call": {"main": [[link("B"), link("Call")], []]}},
        settings={"errorWorkflow": "id1", "callerIds": "b,a"},
    )  # fmt: skip
    before = copy.deepcopy(wf)
    normalize(wf, REFS)
    assert wf == before


def test_normalize_rejects_what_is_not_a_workflow() -> None:
    with pytest.raises(InvalidWorkflow, match="duplicate node name"):
        normalize(workflow(node("A"), node("A")))


def test_normalized_is_frozen() -> None:
    normalized = normalize(workflow())
    assert isinstance(normalized, Normalized)
    with pytest.raises(AttributeError):
        normalized.unresolved_refs = ("x",)  # type: ignore[misc]


json_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_leaves.filter(lambda v: v not in (float("inf"), float("-inf"))),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["a", "b", "__rl", "cachedResultName", "value"]), children
        )
    ),
    max_leaves=12,
)
positions = st.none() | st.tuples(st.integers(-500, 500), st.integers(-500, 500)).map(list)


@st.composite
def workflows(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=6, unique=True))
    nodes = [
        {
            "name": name,
            "type": draw(st.sampled_from(["n8n-nodes-base.set", EXECUTE_WORKFLOW])),
            "typeVersion": draw(st.sampled_from([1, 1.0, 2.2, None])),
            "position": draw(positions),
            "parameters": draw(st.dictionaries(st.sampled_from(["workflowId", "p"]), json_values)),
            "disabled": draw(st.sampled_from([True, False, None])),
        }
        for name in names
    ]
    links = st.lists(st.builds(link, st.sampled_from(names), st.integers(0, 1)), max_size=3)
    outputs = st.lists(st.none() | links, max_size=3)
    connections = draw(
        st.dictionaries(st.sampled_from(names), st.fixed_dictionaries({"main": outputs}))
    )
    return {"name": draw(st.text(max_size=5)), "nodes": nodes, "connections": connections}


@settings(max_examples=150, deadline=None, database=None)
@given(workflows())
def test_normalizing_a_normalized_document_changes_nothing(wf: dict[str, Any]) -> None:
    once = normalize(wf).document
    assert normalize(once).document == once


def with_keys_shuffled(value: Any, rnd: random.Random) -> Any:
    if isinstance(value, dict):
        items = [(key, with_keys_shuffled(item, rnd)) for key, item in value.items()]
        rnd.shuffle(items)
        return dict(items)
    if isinstance(value, list):
        return [with_keys_shuffled(item, rnd) for item in value]
    return value


@settings(max_examples=150, deadline=None, database=None)
@given(workflows(), st.randoms(use_true_random=False))
def test_node_order_and_key_order_never_matter(wf: dict[str, Any], rnd: random.Random) -> None:
    reordered = with_keys_shuffled(wf, rnd)
    rnd.shuffle(reordered["nodes"])
    assert canonical_json(normalize(reordered).document) == canonical_json(normalize(wf).document)
