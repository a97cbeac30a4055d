"""Semantic workflow diff (numbers refer to the rules in canonflow/core/diff.py).

Golden pair: `order_intake.dev.json` -> `order_intake.v2.json` (an edit of the dev export
that also changes volatile fields) diffs to `order_intake.dev-to-v2.diff.json`.
"""

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonflow.core.diff import (
    ChangeKind,
    Connection,
    ConnectionOrderChange,
    ConnectionTarget,
    NodeChange,
    NodeRef,
    NodeRename,
    ValueChange,
    WorkflowDiff,
    diff_values,
    diff_workflows,
    format_path,
)
from canonflow.core.diff_render import render_diff
from canonflow.core.hashing import content_hash, parse_workflow
from canonflow.core.normalize import InvalidWorkflow, with_node_defaults

FIXTURES = Path(__file__).parent / "fixtures"
DEV_REFS = {"Fu1fDevWf0000001": "fulfilment", "Er7DevFlow000001": "error-alerts"}
PROD_REFS = {"Fu1fPrdWf0000009": "fulfilment", "Er7PrdFlow000009": "error-alerts"}
EXECUTE_WORKFLOW = "n8n-nodes-base.executeWorkflow"
SET = "n8n-nodes-base.set"
ADDED, REMOVED, CHANGED = ChangeKind.ADDED, ChangeKind.REMOVED, ChangeKind.CHANGED
PROPERTIES = settings(max_examples=250, deadline=None, database=None)


def load(name: str) -> dict[str, Any]:
    return parse_workflow((FIXTURES / name).read_bytes())


DEV, PROD, V2 = (load(f"order_intake.{name}.json") for name in ("dev", "prod", "v2"))
IF, SHEET, SLACK, SMALL, START, RESPOND = (
    "Is big order?",
    "Append to orders sheet",
    "Notify sales on Slack",
    "Mark small order",
    "Start fulfilment",
    "Respond to webhook",
)


def node(name: str = "A", type_: str = SET, **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **fields}


def workflow(*nodes: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"nodes": list(nodes) or [node()], "connections": {}, **fields}


def link(target: str, index: int = 0, type_: str = "main") -> dict[str, Any]:
    return {"node": target, "type": type_, "index": index}


def target(name: str, index: int = 0, type_: str = "main") -> ConnectionTarget:
    return ConnectionTarget(name, type_, index)


def lines(old: dict[str, Any], new: dict[str, Any], **refs: Any) -> list[str]:
    return [line.text for line in render_diff(diff_workflows(old, new, **refs))]


def mirrored(diff: WorkflowDiff) -> WorkflowDiff:
    """What diff(new, old) must be, built from diff(old, new)."""

    def flip(change: ValueChange) -> ValueChange:
        kind = {ADDED: REMOVED, REMOVED: ADDED, CHANGED: CHANGED}[change.kind]
        return ValueChange(change.path, kind, old=change.new, new=change.old)

    return WorkflowDiff(
        name=flip(diff.name) if diff.name else None,
        description=flip(diff.description) if diff.description else None,
        settings=tuple(flip(change) for change in diff.settings),
        nodes_added=diff.nodes_removed,
        nodes_removed=diff.nodes_added,
        nodes_renamed=tuple(
            sorted(
                (NodeRename(r.new_name, r.old_name) for r in diff.nodes_renamed),
                key=lambda r: r.new_name,
            )
        ),
        nodes_changed=tuple(
            sorted(
                (
                    NodeChange(c.old_name, c.name, tuple(map(flip, c.changes)))
                    for c in diff.nodes_changed
                ),
                key=lambda c: c.name,
            )
        ),
        connections_added=diff.connections_removed,
        connections_removed=diff.connections_added,
        connections_reordered=tuple(
            sorted(
                (
                    ConnectionOrderChange(o.old_source, o.source, o.type, o.output_index,
                                          old=o.new, new=o.old)
                    for o in diff.connections_reordered
                ),
                key=lambda o: (o.source, o.type, o.output_index),
            )
        ),
    )  # fmt: skip


# --- golden pair and the fixtures ---------------------------------------------------------


def test_golden_pair() -> None:
    golden = json.loads((FIXTURES / "order_intake.dev-to-v2.diff.json").read_text())
    assert diff_workflows(DEV, V2).to_dict() == golden


def test_golden_pair_rendered() -> None:
    assert lines(DEV, V2) == [
        '+ description: "Takes shop orders in; big ones go to sales."',
        "- settings.saveManualExecutions: true",
        '+ settings.timezone: "Europe/Berlin"',
        '- node "Sticky Note" (n8n-nodes-base.stickyNote)',
        '+ node "Log order" (n8n-nodes-base.httpRequest)',
        '~ node "Mark small order" renamed to "Tag small order"',
        '~ node "Append to orders sheet": maxTries: 2 -> 3',
        '~ node "Is big order?": parameters.conditions.conditions[0].rightValue: 100 -> 250',
        '~ node "Notify sales on Slack": credentials.slackApi: '
        '"Sales Slack bot" -> "Ops Slack bot"',
        '~ node "Notify sales on Slack": parameters.text: '
        '"=Big order {{ $json.body.orderId }}: {{ $json.body.total }… -> '
        '"=Big order {{ $json.body.orderId }}"',
        '~ node "Tag small order": disabled: false -> true',
        '~ node "Tag small order": parameters.assignments.assignments[0].value: '
        '"small" -> "small-order"',
        '- connection "Start fulfilment" -> "Respond to webhook"',
        '+ connection "Log order" -> "Respond to webhook"',
        '+ connection "Start fulfilment" -> "Log order"',
        '~ connection order "Is big order?" (main output 0): '
        '"Append to orders sheet", "Notify sales on Slack" -> '
        '"Notify sales on Slack", "Append to orders sheet"',
    ]  # fmt: skip


def test_golden_pair_backwards_is_the_mirror_image() -> None:
    forward = diff_workflows(DEV, V2)
    assert diff_workflows(V2, DEV) == mirrored(forward)
    assert mirrored(mirrored(forward)) == forward


def test_two_exports_of_one_workflow_have_no_diff_with_refs() -> None:
    assert diff_workflows(DEV, PROD, old_refs=DEV_REFS, new_refs=PROD_REFS).is_empty
    assert diff_workflows(DEV, DEV).is_empty


def test_without_refs_only_the_environment_specific_ids_differ() -> None:
    assert lines(DEV, PROD) == [
        '~ settings.errorWorkflow: "Er7DevFlow000001" -> "Er7PrdFlow000009"',
        '~ node "Start fulfilment": parameters.workflowId.value: '
        '"Fu1fDevWf0000001" -> "Fu1fPrdWf0000009"',
    ]


# --- what is not counted never shows ------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def find(wf: dict[str, Any], name: str) -> dict[str, Any]:
    return next(n for n in wf["nodes"] if n["name"] == name)


def on_node(name: str, mutate: Callable[[dict[str, Any]], Any]) -> Mutation:
    return lambda wf: mutate(find(wf, name))


def swap_positions(first: str, second: str) -> Mutation:
    def swap(wf: dict[str, Any]) -> None:
        a, b = find(wf, first), find(wf, second)
        a["position"], b["position"] = b["position"], a["position"]

    return swap


NOT_COUNTED: dict[str, Mutation] = {
    "top-level volatile fields": lambda wf: wf.update(
        id="x", versionId="v9", active=False, tags=[], meta={}, pinData={}, staticData={"a": 1},
        updatedAt="2031-01-01T00:00:00.000Z", isArchived=True, shared=[], parentFolderId="f",
    ),
    "node ids": lambda wf: [n.update(id=f"new-{i}") for i, n in enumerate(wf["nodes"])],
    "node ids removed": lambda wf: [n.pop("id") for n in wf["nodes"]],
    "positions (no parallel order change)": lambda wf: [
        n.update(position=[n["position"][0] + 999, n["position"][1] - 7]) for n in wf["nodes"]
    ],
    "webhookId": on_node("Order webhook", lambda n: n.update(webhookId="other")),
    "credential id": on_node(SLACK, lambda n: n["credentials"]["slackApi"].update(id="x")),
    "cachedResultName/Url": on_node(
        SHEET,
        lambda n: n["parameters"]["sheetName"].update(cachedResultName="X", cachedResultUrl=""),
    ),
    "node field at its default": on_node(SMALL, lambda n: n.update(disabled=False, notes="")),
    "null members": on_node(SMALL, lambda n: n["parameters"].update(extra=None)),
    "settings default written out": lambda wf: wf["settings"].update(availableInMCP=False),
    "node order": lambda wf: wf["nodes"].reverse(),
    "parallel targets listed in reverse": lambda wf: wf["connections"][IF]["main"][0].reverse(),
    "empty trailing output": lambda wf: wf["connections"][START]["main"].append([]),
    "integral float": on_node("Order webhook", lambda n: n.update(typeVersion=2.0)),
}  # fmt: skip


@pytest.mark.parametrize("mutate", NOT_COUNTED.values(), ids=NOT_COUNTED.keys())
def test_what_the_hash_does_not_count_never_shows(mutate: Mutation) -> None:
    wf = copy.deepcopy(DEV)
    mutate(wf)
    assert json.dumps(wf) != json.dumps(DEV)  # the mutation did change something
    assert content_hash(wf) == content_hash(DEV)
    assert diff_workflows(DEV, wf) == WorkflowDiff()


# --- every counted change shows, and how ----------------------------------------------------


def rename(old: str, new: str) -> Mutation:
    def apply(wf: dict[str, Any]) -> None:
        find(wf, old)["name"] = new
        wf["connections"][new] = wf["connections"].pop(old)
        for by_type in wf["connections"].values():
            for outputs in by_type.values():
                for t in (t for targets in outputs for t in targets or []):
                    if t["node"] == old:
                        t["node"] = new

    return apply


def both(first: Mutation, second: Mutation) -> Mutation:
    def apply(wf: dict[str, Any]) -> None:
        first(wf)
        second(wf)

    return apply


COUNTED: dict[str, tuple[Mutation, list[str]]] = {
    "workflow name": (lambda wf: wf.update(name="Orders"), ['~ name: "Order intake" -> "Orders"']),
    "description added": (lambda wf: wf.update(description="D"), ['+ description: "D"']),
    "setting changed": (
        lambda wf: wf["settings"].update(saveManualExecutions=False),
        ["~ settings.saveManualExecutions: true -> false"],
    ),
    "setting default changed": (
        lambda wf: wf["settings"].update(executionOrder="v0"),
        ['~ settings.executionOrder: "v1" -> "v0"'],
    ),
    "setting removed": (
        lambda wf: wf["settings"].pop("errorWorkflow"),
        ['- settings.errorWorkflow: "slug:error-alerts"'],
    ),
    "caller ids (tidied)": (
        lambda wf: wf["settings"].update(callerIds=" b, a,b"),
        ['+ settings.callerIds: "a,b"'],
    ),
    "node type": (
        on_node(SMALL, lambda n: n.update(type="n8n-nodes-base.code")),
        ['~ node "Mark small order": type: "n8n-nodes-base.set" -> "n8n-nodes-base.code"'],
    ),
    "typeVersion": (
        on_node(IF, lambda n: n.update(typeVersion=2.3)),
        ['~ node "Is big order?": typeVersion: 2.2 -> 2.3'],
    ),
    "disabled": (
        on_node(SLACK, lambda n: n.update(disabled=True)),
        ['~ node "Notify sales on Slack": disabled: false -> true'],
    ),
    "notes removed (default written out)": (
        on_node(SHEET, lambda n: n.pop("notes")),
        ['~ node "Append to orders sheet": notes: "Owned by sales ops" -> ""'],
    ),
    "onError": (
        on_node(SLACK, lambda n: n.pop("onError")),
        ['~ node "Notify sales on Slack": onError: "continueRegularOutput" -> "stopWorkflow"'],
    ),
    "retryOnFail": (
        on_node(SHEET, lambda n: n.update(retryOnFail=False)),
        ['~ node "Append to orders sheet": retryOnFail: true -> false'],
    ),
    "maxTries removed (no default)": (
        on_node(SHEET, lambda n: n.pop("maxTries")),
        ['- node "Append to orders sheet": maxTries: 2'],
    ),
    "continueOnFail, alwaysOutputData, executeOnce": (
        on_node(SMALL, lambda n: n.update(continueOnFail=True, alwaysOutputData=True,
                                          executeOnce=True)),
        ['~ node "Mark small order": alwaysOutputData: false -> true',
         '~ node "Mark small order": continueOnFail: false -> true',
         '~ node "Mark small order": executeOnce: false -> true'],
    ),
    "credential name": (
        on_node(SLACK, lambda n: n["credentials"]["slackApi"].update(name="Ops")),
        ['~ node "Notify sales on Slack": credentials.slackApi: "Sales Slack bot" -> "Ops"'],
    ),
    "credential type": (
        on_node(SLACK, lambda n: n.update(credentials={"slackOAuth2Api": {"name": "O"}})),
        ['- node "Notify sales on Slack": credentials.slackApi: "Sales Slack bot"',
         '+ node "Notify sales on Slack": credentials.slackOAuth2Api: "O"'],
    ),
    "credentials added to a node without": (
        on_node(SMALL, lambda n: n.update(credentials={"httpBasicAuth": {"id": "1", "name": "B"}})),
        ['+ node "Mark small order": credentials.httpBasicAuth: "B"'],
    ),
    "parameter in a list": (
        on_node(IF, lambda n: n["parameters"]["conditions"]["conditions"][0]["operator"]
                .update(operation="gte")),
        ['~ node "Is big order?": parameters.conditions.conditions[0].operator.operation: '
         '"gt" -> "gte"'],
    ),
    "parameter added to an empty object": (
        on_node(SMALL, lambda n: n["parameters"]["options"].update(dotNotation=False)),
        ['+ node "Mark small order": parameters.options.dotNotation: false'],
    ),
    "list item appended": (
        on_node(SHEET, lambda n: n["parameters"]["columns"]["matchingColumns"].append("id")),
        ['+ node "Append to orders sheet": parameters.columns.matchingColumns[0]: "id"'],
    ),
    "resource locator value": (
        on_node(SHEET, lambda n: n["parameters"]["sheetName"].update(value="gid=7")),
        ['~ node "Append to orders sheet": parameters.sheetName.value: "gid=0" -> "gid=7"'],
    ),
    "sticky note removed": (
        lambda wf: wf["nodes"].remove(find(wf, "Sticky Note")),
        ['- node "Sticky Note" (n8n-nodes-base.stickyNote)'],
    ),
    "node renamed with its connections": (
        rename(SMALL, "Tag"),
        ['~ node "Mark small order" renamed to "Tag"'],
    ),
    "node renamed without an id: removed and added": (
        both(on_node(SMALL, lambda n: n.pop("id")), rename(SMALL, "Tag")),
        ['- node "Mark small order" (n8n-nodes-base.set)',
         '+ node "Tag" (n8n-nodes-base.set)',
         '- connection "Is big order?" -> "Mark small order" (main output 1 -> main input 0)',
         '- connection "Mark small order" -> "Respond to webhook"',
         '+ connection "Is big order?" -> "Tag" (main output 1 -> main input 0)',
         '+ connection "Tag" -> "Respond to webhook"'],
    ),
    "connection retargeted": (
        lambda wf: wf["connections"][SMALL]["main"][0][0].update(node=SLACK),
        ['- connection "Mark small order" -> "Respond to webhook"',
         '+ connection "Mark small order" -> "Notify sales on Slack"'],
    ),
    "connection input index": (
        lambda wf: wf["connections"][START]["main"][0][0].update(index=1),
        ['- connection "Start fulfilment" -> "Respond to webhook"',
         '+ connection "Start fulfilment" -> "Respond to webhook" (main output 0 -> main input 1)'],
    ),
    "IF outputs swapped": (
        lambda wf: wf["connections"][IF]["main"].reverse(),
        ['- connection "Is big order?" -> "Append to orders sheet"',
         '- connection "Is big order?" -> "Notify sales on Slack"',
         '- connection "Is big order?" -> "Mark small order" (main output 1 -> main input 0)',
         '+ connection "Is big order?" -> "Mark small order"',
         '+ connection "Is big order?" -> "Append to orders sheet" (main output 1 -> main input 0)',
         '+ connection "Is big order?" -> "Notify sales on Slack" (main output 1 -> main input 0)'],
    ),
    "parallel branches swapped on the canvas": (
        swap_positions(SHEET, SLACK),
        ['~ connection order "Is big order?" (main output 0): '
         '"Append to orders sheet", "Notify sales on Slack" -> '
         '"Notify sales on Slack", "Append to orders sheet"'],
    ),
    "called workflow": (
        on_node(START, lambda n: n["parameters"]["workflowId"].update(value="Other")),
        ['~ node "Start fulfilment": parameters.workflowId.value: "slug:fulfilment" -> "Other"'],
    ),
}  # fmt: skip


@pytest.mark.parametrize(("mutate", "expected"), COUNTED.values(), ids=COUNTED.keys())
def test_every_counted_change_shows(mutate: Mutation, expected: list[str]) -> None:
    wf = copy.deepcopy(DEV)
    mutate(wf)
    assert content_hash(wf, DEV_REFS) != content_hash(DEV, DEV_REFS)
    assert lines(DEV, wf, old_refs=DEV_REFS, new_refs=DEV_REFS) == expected
    backwards = diff_workflows(wf, DEV, old_refs=DEV_REFS, new_refs=DEV_REFS)
    assert backwards == mirrored(diff_workflows(DEV, wf, old_refs=DEV_REFS, new_refs=DEV_REFS))


# --- rule 1: matching nodes -------------------------------------------------------------------


def test_rule_1_a_renamed_node_can_be_changed_too() -> None:
    old = workflow(node("A", id="n1", parameters={"x": 1}), node("B", id="n2"))
    new = workflow(node("A2", id="n1", parameters={"x": 2}), node("B", id="n2"))
    diff = diff_workflows(old, new)
    assert diff.nodes_renamed == (NodeRename("A", "A2"),)
    assert diff.nodes_changed == (
        NodeChange("A2", "A", (ValueChange(("parameters", "x"), CHANGED, old=1, new=2),)),
    )
    assert (diff.nodes_added, diff.nodes_removed) == ((), ())


def test_rule_1_names_match_before_ids() -> None:
    old = workflow(node("A", id="n1"), node("B", id="n2"))
    new = workflow(node("A", id="n2"), node("B", id="n1"))  # ids swapped: not a rename
    assert diff_workflows(old, new).is_empty
    swapped = workflow(node("B", id="n1", type_="t"), node("C", id="n3"))
    diff = diff_workflows(workflow(node("A", id="n1"), node("B", id="n2")), swapped)
    assert diff.nodes_renamed == ()
    assert diff.nodes_added == (NodeRef("C", SET),)
    assert diff.nodes_removed == (NodeRef("A", SET),)
    assert [c.name for c in diff.nodes_changed] == ["B"]


def test_rule_1_ambiguous_or_missing_ids_do_not_match() -> None:
    old = workflow(node("A", id="same"), node("B", id="same"), node("C"), node("D", id=""))
    new = workflow(node("E", id="same"), node("F"), node("G", id=""))
    diff = diff_workflows(old, new)
    assert diff.nodes_renamed == ()
    assert [n.name for n in diff.nodes_removed] == ["A", "B", "C", "D"]
    assert [n.name for n in diff.nodes_added] == ["E", "F", "G"]


def test_rule_1_several_renames_are_sorted_by_new_name() -> None:
    old = workflow(node("x", id="1"), node("y", id="2"), node("z", id="3"))
    new = workflow(node("c", id="1"), node("b", id="2"), node("a", id="3"))
    assert diff_workflows(old, new).nodes_renamed == (
        NodeRename("z", "a"),
        NodeRename("y", "b"),
        NodeRename("x", "c"),
    )


def test_rule_1_names_match_first_even_when_every_name_shifts() -> None:
    old = workflow(
        node("A", id="1"), node("B", id="2"), node("C", id="3"),
        connections={"A": {"main": [[link("B")]]}, "B": {"main": [[link("C")]]}},
    )  # fmt: skip
    new = workflow(
        node("B", id="1"), node("C", id="2"), node("D", id="3"),  # every name moves along
        connections={"B": {"main": [[link("C")]]}, "C": {"main": [[link("D")]]}},
    )  # fmt: skip
    # B and C match by name (with other connections); A and D have other ids: no rename.
    assert diff_workflows(old, new) == WorkflowDiff(
        nodes_added=(NodeRef("D", SET),),
        nodes_removed=(NodeRef("A", SET),),
        connections_added=(Connection("C", "main", 0, target("D")),),
        connections_removed=(Connection("A", "main", 0, target("B")),),
    )


def test_rule_1_a_rename_alone_adds_no_connection() -> None:
    old = workflow(
        node("A", id="1"), node("B", id="2"),
        connections={"A": {"main": [[link("B")]]}, "B": {"ai_tool": [[link("A", 0, "ai_tool")]]}},
    )  # fmt: skip
    new = workflow(
        node("A2", id="1"), node("B2", id="2"),
        connections={"A2": {"main": [[link("B2")]]},
                     "B2": {"ai_tool": [[link("A2", 0, "ai_tool")]]}},
    )  # fmt: skip
    diff = diff_workflows(old, new)
    assert diff == WorkflowDiff(nodes_renamed=(NodeRename("A", "A2"), NodeRename("B", "B2")))


def test_rule_1_edges_are_reported_in_the_names_of_their_side() -> None:
    old = workflow(node("A", id="1"), node("B"), connections={"A": {"main": [[link("B")]]}})
    new = workflow(node("A2", id="1"), node("B"), connections={"A2": {"main": [[link("B", 1)]]}})
    diff = diff_workflows(old, new)
    assert diff.connections_removed == (Connection("A", "main", 0, target("B")),)
    assert diff.connections_added == (Connection("A2", "main", 0, target("B", 1)),)


# --- rules 2 to 4: values and paths -------------------------------------------------------


def test_rule_2_defaults_are_written_back_for_the_comparison_only() -> None:
    assert with_node_defaults({"name": "A", "type": SET, "disabled": True}) == {
        "name": "A", "type": SET, "disabled": True, "parameters": {}, "credentials": {},
        "notes": "", "onError": "stopWorkflow", "continueOnFail": False, "retryOnFail": False,
        "alwaysOutputData": False, "executeOnce": False,
    }  # fmt: skip
    first, second = with_node_defaults({}), with_node_defaults({})
    first["parameters"]["x"] = 1
    assert second["parameters"] == {}


def test_rule_2_a_default_of_another_type_is_a_change() -> None:
    diff = diff_workflows(workflow(node()), workflow(node(disabled=0)))
    assert diff.nodes_changed[0].changes == (ValueChange(("disabled",), CHANGED, old=False, new=0),)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"a": 1}, {"a": 1}, []),
        ({"a": {"b": 1}}, {"a": {"b": 2}}, [(("a", "b"), CHANGED, 1, 2)]),
        ({"a": 1}, {"b": 1}, [(("a",), REMOVED, 1, None), (("b",), ADDED, None, 1)]),
        ({"a": [1, 2, 3]}, {"a": [1, 5]},
         [(("a", 1), CHANGED, 2, 5), (("a", 2), REMOVED, 3, None)]),
        ([None], [None, None], [((1,), ADDED, None, None)]),
        ([None], [], [((0,), REMOVED, None, None)]),
        (1, True, [((), CHANGED, 1, True)]),
        (0, False, [((), CHANGED, 0, False)]),
        ([1], [True], [((0,), CHANGED, 1, True)]),
        (1, 1.5, [((), CHANGED, 1, 1.5)]),
        ({"a": {}}, {"a": []}, [(("a",), CHANGED, {}, [])]),
        ({"a": [1]}, {"a": "1"}, [(("a",), CHANGED, [1], "1")]),
        (float("nan"), float("nan"), []),
        ({"z": 1, "a": 1, "m": [0, 0]}, {"z": 2, "a": 2, "m": [1, 0]},
         [(("a",), CHANGED, 1, 2), (("m", 0), CHANGED, 0, 1), (("z",), CHANGED, 1, 2)]),
    ],
)  # fmt: skip
def test_rule_3_values_compare_strictly_key_by_key_and_index_by_index(
    old: Any, new: Any, expected: list[tuple[Any, ...]]
) -> None:
    assert diff_values(old, new) == [
        ValueChange(path, kind, old=old_value, new=new_value)
        for path, kind, old_value, new_value in expected
    ]


def test_rule_3_list_indices_sort_by_number() -> None:
    paths = [c.path for c in diff_values(list(range(12)), [*range(1, 12), 99])]
    assert paths == [(i,) for i in range(12)]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), ""),
        (("parameters", "options", "timeout"), "parameters.options.timeout"),
        (("parameters", "values", "string", 0, "value"), "parameters.values.string[0].value"),
        (("a", 2, 3), "a[2][3]"),
        ((0, "a"), "[0].a"),
        (("headers", "Content-Type"), 'headers["Content-Type"]'),
        (("a.b", "c d", "", "1x", "_ok$"), '["a.b"]["c d"][""]["1x"]._ok$'),
        (("q", 'say "hi"\n'), 'q["say \\"hi\\"\\n"]'),
        (("ü",), '["ü"]'),
    ],
)
def test_rule_4_path_notation(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text
    assert ValueChange(path, ADDED, new=1).path_text == text


# --- rule 5: workflow fields --------------------------------------------------------------


def test_rule_5_name_and_description_compare_as_whole_values() -> None:
    old = workflow(name="W", description={"a": 1})
    new = workflow(name=None, description={"a": 2})
    diff = diff_workflows(old, new)
    assert diff.name == ValueChange(("name",), REMOVED, old="W")
    assert diff.description == ValueChange(("description",), CHANGED, old={"a": 1}, new={"a": 2})
    assert diff_workflows(workflow(description=""), workflow(description=None)).description == (
        ValueChange(("description",), REMOVED, old="")
    )


def test_rule_5_settings_with_defaults_filled_in() -> None:
    diff = diff_workflows(workflow(), workflow(settings={"callerPolicy": "any", "x": {"y": 1}}))
    assert diff.settings == (
        ValueChange(("callerPolicy",), CHANGED, old="workflowsFromSameOwner", new="any"),
        ValueChange(("x",), ADDED, new={"y": 1}),
    )


def test_rule_5_workflow_references_use_each_sides_refs() -> None:
    def calling(workflow_id: str) -> dict[str, Any]:
        locator = {"__rl": True, "value": workflow_id, "mode": "list", "cachedResultName": "C"}
        return workflow(
            node("Call", EXECUTE_WORKFLOW, parameters={"workflowId": locator}),
            settings={"errorWorkflow": workflow_id, "callerIds": workflow_id},
        )

    dev, prod = calling("dev1"), calling("prd9")
    assert diff_workflows(dev, prod, old_refs={"dev1": "s"}, new_refs={"prd9": "s"}).is_empty
    other = diff_workflows(dev, prod, old_refs={"dev1": "s"}, new_refs={"prd9": "t"})
    assert [(c.path, c.old, c.new) for c in other.settings] == [
        (("callerIds",), "slug:s", "slug:t"),
        (("errorWorkflow",), "slug:s", "slug:t"),
    ]
    [call] = other.nodes_changed
    assert call.changes == (
        ValueChange(("parameters", "workflowId", "value"), CHANGED, old="slug:s", new="slug:t"),
    )
    unresolved = diff_workflows(dev, prod, old_refs={"dev1": "s"}, new_refs={})
    assert unresolved.nodes_changed[0].changes[0].new == "prd9"


# --- rules 6 and 7: connections ------------------------------------------------------------


def fan(*targets: dict[str, Any], positions: dict[str, Any] | None = None) -> dict[str, Any]:
    positions = positions or {}
    names = sorted({"S", *(t["node"] for t in targets)})
    nodes = [node(name, position=positions.get(name)) for name in names]
    return workflow(*nodes, connections={"S": {"main": [list(targets)]}})


def test_rule_6_edges_carry_type_output_and_input() -> None:
    old = workflow(node("Agent"), node("Tool"), node("M"), connections={})
    new = workflow(
        node("Agent"), node("Tool"), node("M"),
        connections={
            "Tool": {"ai_tool": [[link("Agent", 0, "ai_tool")]]},
            "M": {"main": [None, [link("Agent", 2)]]},
        },
    )  # fmt: skip
    diff = diff_workflows(old, new)
    assert diff.connections_added == (
        Connection("M", "main", 1, target("Agent", 2)),
        Connection("Tool", "ai_tool", 0, target("Agent", 0, "ai_tool")),
    )
    assert diff_workflows(new, old).connections_removed == diff.connections_added


def test_rule_6_edges_are_counted() -> None:
    once, twice = fan(link("B")), fan(link("B"), link("B"))
    diff = diff_workflows(once, twice)
    assert diff.connections_added == (Connection("S", "main", 0, target("B")),)
    assert diff.connections_reordered == ()


def test_rule_6_edges_to_nodes_that_do_not_exist_still_count() -> None:
    diff = diff_workflows(workflow(node("S")), fan(link("Ghost")) | {"nodes": [node("S")]})
    assert diff.connections_added == (Connection("S", "main", 0, target("Ghost")),)


def test_rule_6_other_members_of_a_target_count() -> None:
    diff = diff_workflows(fan(link("B")), fan({**link("B"), "note": "x"}))
    assert diff.connections_removed == (Connection("S", "main", 0, target("B")),)
    assert diff.connections_added == (
        Connection("S", "main", 0, ConnectionTarget("B", "main", 0, {"note": "x"})),
    )
    assert diff.connections_added[0].to_dict()["target"] == {
        "node": "B", "type": "main", "index": 0, "extra": {"note": "x"},
    }  # fmt: skip


def test_rule_7_moving_a_parallel_branch_reorders() -> None:
    positions = {"B": [0, 0], "C": [0, 100]}
    old = fan(link("B"), link("C"), positions=positions)
    new = fan(link("B"), link("C"), positions={"B": [0, 200], "C": [0, 100]})
    diff = diff_workflows(old, new)
    assert diff == WorkflowDiff(
        connections_reordered=(
            ConnectionOrderChange(
                "S", "S", "main", 0, (target("B"), target("C")), (target("C"), target("B"))
            ),
        )
    )


def test_rule_7_order_of_shared_targets_is_checked_even_when_others_change() -> None:
    positions = {"B": [0, 0], "C": [0, 100], "D": [0, 300]}
    old = fan(link("B"), link("C"), positions=positions)
    new = fan(link("B"), link("C"), link("D"), positions={**positions, "B": [0, 200]})
    diff = diff_workflows(old, new)
    assert diff.connections_added == (Connection("S", "main", 0, target("D")),)
    [order] = diff.connections_reordered
    assert order.old == (target("B"), target("C"))
    assert order.new == (target("C"), target("B"), target("D"))


def test_rule_7_one_node_twice_reorders_by_input() -> None:
    old = fan(link("M", 1), link("M", 0))  # no position: the given order counts
    new = fan(link("M", 0), link("M", 1))
    [order] = diff_workflows(old, new).connections_reordered
    assert order.old == (target("M", 1), target("M", 0))


# --- result types ---------------------------------------------------------------------------


def test_an_empty_diff() -> None:
    diff = diff_workflows(workflow(), workflow())
    assert diff.is_empty
    assert diff == WorkflowDiff()
    assert diff.to_dict() == {
        "is_empty": True, "name": None, "description": None, "settings": [],
        "nodes_added": [], "nodes_removed": [], "nodes_renamed": [], "nodes_changed": [],
        "connections_added": [], "connections_removed": [], "connections_reordered": [],
    }  # fmt: skip


def test_to_dict_omits_the_missing_side_and_copies_values() -> None:
    assert ValueChange(("a",), ADDED, new=None).to_dict() == {
        "path": "a", "kind": "added", "new": None,
    }  # fmt: skip
    assert ValueChange(("a",), REMOVED, old=[1]).to_dict() == {
        "path": "a", "kind": "removed", "old": [1],
    }  # fmt: skip
    change = ValueChange(("a",), CHANGED, old={"x": [1]}, new={"x": [2]})
    data = change.to_dict()
    data["old"]["x"].append(9)
    assert change.old == {"x": [1]}


def test_records_are_frozen() -> None:
    diff = diff_workflows(DEV, V2)
    with pytest.raises(AttributeError):
        diff.name = None  # type: ignore[misc]
    with pytest.raises(AttributeError):
        diff.nodes_changed[0].name = "x"  # type: ignore[misc]


def test_diff_does_not_modify_its_inputs() -> None:
    old, new = copy.deepcopy(DEV), copy.deepcopy(V2)
    diff_workflows(old, new, old_refs=DEV_REFS, new_refs=DEV_REFS).to_dict()
    assert (old, new) == (DEV, V2)


def test_what_is_not_a_workflow_is_rejected() -> None:
    with pytest.raises(InvalidWorkflow):
        diff_workflows(DEV, {"nodes": "x"})
    with pytest.raises(InvalidWorkflow, match="duplicate node name"):
        diff_workflows({"nodes": [node(), node()], "connections": {}}, DEV)


# --- properties -----------------------------------------------------------------------------

NAMES = ["A", "B", "C", "D", "a.b", "Ü", "E 1"]
IDS = st.none() | st.sampled_from(["n1", "n2", "n3", "n4", ""])
REF_IDS = ["w1", "w2", "w3"]
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.5, 2.0, -0.0])
    | st.text(max_size=3)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["a", "b", "__rl", "cachedResultName", "value"]), children
        )
    ),
    max_leaves=8,
)
positions = st.none() | st.tuples(st.integers(0, 3), st.integers(0, 3)).map(list)
PARAMETER_KEYS = st.sampled_from(["workflowId", "p", "q"])
refs = st.none() | st.dictionaries(st.sampled_from(REF_IDS), st.sampled_from(["s1", "s2"]))


@st.composite
def nodes(draw: st.DrawFn, name: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": name,
        "id": draw(IDS),
        "type": draw(st.sampled_from([SET, EXECUTE_WORKFLOW])),
        "typeVersion": draw(st.sampled_from([1, 1.0, 2.2, None])),
        "position": draw(positions),
        "parameters": draw(st.dictionaries(PARAMETER_KEYS, json_values | st.sampled_from(REF_IDS))),
        "disabled": draw(st.sampled_from([True, False, None])),
        "notes": draw(st.sampled_from(["", "n", None])),
    }  # fmt: skip
    if draw(st.booleans()):
        credential = {
            "id": draw(st.sampled_from(["c1", "c2"])),
            "name": draw(st.sampled_from(["x", "y"])),
        }
        result["credentials"] = {draw(st.sampled_from(["httpBasicAuth", "slackApi"])): credential}
    return result


@st.composite
def connections(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    ends = st.sampled_from([*names, "Ghost"])
    links = st.builds(link, ends, st.integers(0, 1), st.sampled_from(["main", "ai_tool"]))
    outputs = st.lists(st.none() | st.lists(links, max_size=3), max_size=3)
    by_type = st.dictionaries(st.sampled_from(["main", "ai_tool"]), outputs, max_size=2)
    return draw(st.dictionaries(ends, by_type, max_size=4))


@st.composite
def workflows(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    settings_ = st.fixed_dictionaries(
        {},
        optional={
            "errorWorkflow": st.sampled_from(REF_IDS),
            "timezone": st.sampled_from(["UTC", "X"]),
            "executionOrder": st.sampled_from(["v1", "v0"]),
            "callerIds": st.sampled_from(["w1,w2", "w2"]),
        },
    )
    return {
        "name": draw(st.sampled_from(["W", "V", None])),
        "description": draw(st.sampled_from(["", "d", None])),
        "nodes": [draw(nodes(name)) for name in names],
        "connections": draw(connections(names)),
        "settings": draw(st.none() | settings_),
        "active": draw(st.booleans()),
        "versionId": draw(st.sampled_from(["v1", "v2"])),
    }


def edit_node(draw: st.DrawFn, wf: dict[str, Any]) -> None:
    chosen = draw(st.sampled_from(wf["nodes"]))
    field = draw(
        st.sampled_from(["id", "position", "typeVersion", "disabled", "parameters", "name"])
    )
    if field == "name":
        free = [name for name in NAMES if name not in {n["name"] for n in wf["nodes"]}]
        if free:
            rename_everywhere(wf, chosen["name"], draw(st.sampled_from(free)), draw(st.booleans()))
    elif field == "parameters":
        chosen["parameters"][draw(st.sampled_from(["p", "q"]))] = draw(json_values)
    else:
        chosen[field] = draw({"id": IDS, "position": positions}.get(field, json_leaves))


def rename_everywhere(wf: dict[str, Any], old: str, new: str, in_connections: bool) -> None:
    find(wf, old)["name"] = new
    if not in_connections:
        return
    if old in wf["connections"]:
        wf["connections"][new] = wf["connections"].pop(old)
    for by_type in wf["connections"].values():
        for outputs in by_type.values():
            for t in (t for targets in outputs for t in targets or []):
                if t["node"] == old:
                    t["node"] = new


def edit_workflow(draw: st.DrawFn, wf: dict[str, Any]) -> None:
    choice = draw(st.integers(0, 6))
    if choice == 0:
        wf["connections"] = draw(connections([n["name"] for n in wf["nodes"]]))
    elif choice == 1:
        for by_type in wf["connections"].values():
            for outputs in by_type.values():
                reverse_outputs_or_targets(outputs, draw(st.booleans()))
    elif choice == 2 and len(wf["nodes"]) > 1:
        wf["nodes"].remove(draw(st.sampled_from(wf["nodes"])))
    elif choice == 3:
        free = [name for name in NAMES if name not in {n["name"] for n in wf["nodes"]}]
        if free:
            wf["nodes"].append(draw(nodes(draw(st.sampled_from(free)))))
    elif choice == 4:
        wf["settings"] = {
            **(wf["settings"] or {}),
            "timezone": draw(st.sampled_from(["UTC", None])),
        }
    elif choice == 5:
        key = draw(st.sampled_from(["name", "description", "active", "tags"]))
        wf[key] = draw(st.sampled_from(["W", "X", None]) if key == "name" else json_leaves)
    else:
        wf["nodes"].reverse()


def reverse_outputs_or_targets(outputs: list[Any], whole: bool) -> None:
    if whole:
        outputs.reverse()
        return
    for targets in outputs:
        if targets:
            targets.reverse()


@st.composite
def pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A workflow and an edited copy: often equal by hash, often a little different."""
    old = draw(workflows())
    new = copy.deepcopy(old)
    for _ in range(draw(st.integers(0, 3))):
        (edit_node if draw(st.booleans()) else edit_workflow)(draw, new)
    return old, new


@PROPERTIES
@given(workflows(), refs)
def test_a_workflow_has_no_diff_with_itself(wf: dict[str, Any], refs_: Any) -> None:
    assert diff_workflows(wf, wf, old_refs=refs_, new_refs=refs_).is_empty
    assert diff_workflows(wf, copy.deepcopy(wf), old_refs=refs_, new_refs=refs_) == WorkflowDiff()


@PROPERTIES
@given(pairs(), refs, refs)
def test_the_diff_is_empty_exactly_when_the_hashes_are_equal(
    pair: tuple[dict[str, Any], dict[str, Any]], old_refs: Any, new_refs: Any
) -> None:
    old, new = pair
    diff = diff_workflows(old, new, old_refs=old_refs, new_refs=new_refs)
    assert diff.is_empty == (content_hash(old, old_refs) == content_hash(new, new_refs))
    assert (render_diff(diff) == []) == diff.is_empty


@PROPERTIES
@given(workflows(), workflows())
def test_the_diff_is_empty_exactly_when_the_hashes_are_equal_for_unrelated_workflows(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    assert diff_workflows(old, new).is_empty == (content_hash(old) == content_hash(new))


@PROPERTIES
@given(pairs(), refs, refs)
def test_backwards_is_the_mirror_image(
    pair: tuple[dict[str, Any], dict[str, Any]], old_refs: Any, new_refs: Any
) -> None:
    old, new = pair
    forward = diff_workflows(old, new, old_refs=old_refs, new_refs=new_refs)
    assert diff_workflows(new, old, old_refs=new_refs, new_refs=old_refs) == mirrored(forward)


@PROPERTIES
@given(workflows(), st.data())
def test_moving_nodes_or_changing_ids_alone_never_shows(
    wf: dict[str, Any], data: st.DataObject
) -> None:
    moved = copy.deepcopy(wf)
    for n in moved["nodes"]:
        n["id"] = data.draw(IDS)
        n["webhookId"] = data.draw(IDS)
        if n["position"] is not None:
            n["position"] = [n["position"][0] + 10, n["position"][1] + 10]  # same relative order
    assert diff_workflows(wf, moved).is_empty


@PROPERTIES
@given(workflows(), st.data())
def test_a_rename_by_id_is_one_rename(wf: dict[str, Any], data: st.DataObject) -> None:
    for index, n in enumerate(wf["nodes"]):
        n["id"] = f"id{index}"
    old_name = data.draw(st.sampled_from([n["name"] for n in wf["nodes"]]))
    free = [name for name in NAMES if name not in {n["name"] for n in wf["nodes"]}]
    new_name = data.draw(st.sampled_from(free)) if free else "Renamed"
    renamed = copy.deepcopy(wf)
    rename_everywhere(renamed, old_name, new_name, in_connections=True)
    diff = diff_workflows(wf, renamed)
    assert diff.nodes_renamed == (NodeRename(old_name, new_name),)
    assert (diff.nodes_added, diff.nodes_removed, diff.nodes_changed) == ((), (), ())
    assert (diff.connections_added, diff.connections_removed) == ((), ())
    # Only where two targets share a position can the name (the tie-break) reorder them.


@PROPERTIES
@given(pairs())
def test_results_are_json_ready_sorted_and_rendered_one_line_per_item(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    diff = diff_workflows(*pair)
    data = diff.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert [n.name for n in diff.nodes_added] == sorted(n.name for n in diff.nodes_added)
    assert [n.name for n in diff.nodes_removed] == sorted(n.name for n in diff.nodes_removed)
    assert [c.name for c in diff.nodes_changed] == sorted(c.name for c in diff.nodes_changed)
    items = (
        len(diff.settings) + (diff.name is not None) + (diff.description is not None)
        + len(diff.nodes_added) + len(diff.nodes_removed) + len(diff.nodes_renamed)
        + sum(len(c.changes) for c in diff.nodes_changed) + len(diff.connections_added)
        + len(diff.connections_removed) + len(diff.connections_reordered)
    )  # fmt: skip
    assert len(render_diff(diff)) == items
    assert diff_workflows(*pair) == diff  # deterministic
