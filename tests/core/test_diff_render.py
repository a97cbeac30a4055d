"""Rendering a workflow diff as text lines (golden lines of real diffs are in test_diff.py)."""

import pytest

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
)
from canonflow.core.diff_render import DEFAULT_MAX_VALUE_LENGTH, DiffLine, render_diff

ADDED, REMOVED, CHANGED = ChangeKind.ADDED, ChangeKind.REMOVED, ChangeKind.CHANGED


def texts(diff: WorkflowDiff, **options: int) -> list[str]:
    return [line.text for line in render_diff(diff, **options)]


def test_an_empty_diff_renders_nothing() -> None:
    assert render_diff(WorkflowDiff()) == []


def test_every_part_in_order_with_its_kind() -> None:
    diff = WorkflowDiff(
        name=ValueChange(("name",), CHANGED, old="A", new="B"),
        description=ValueChange(("description",), REMOVED, old="D"),
        settings=(ValueChange(("timezone",), ADDED, new="UTC"),),
        nodes_added=(NodeRef("HTTP Request", "n8n-nodes-base.httpRequest"),),
        nodes_removed=(NodeRef("Old", "n8n-nodes-base.set"),),
        nodes_renamed=(NodeRename("Set", "Set fields"),),
        nodes_changed=(
            NodeChange(
                "Set fields",
                "Set",
                (ValueChange(("parameters", "values", "string", 0, "value"), CHANGED, "a", "b"),),
            ),
        ),
        connections_added=(Connection("A", "main", 0, ConnectionTarget("B", "main", 0)),),
        connections_removed=(Connection("A", "main", 0, ConnectionTarget("C", "main", 0)),),
        connections_reordered=(
            ConnectionOrderChange(
                "If",
                "If",
                "main",
                0,
                old=(ConnectionTarget("B", "main", 0), ConnectionTarget("C", "main", 0)),
                new=(ConnectionTarget("C", "main", 0), ConnectionTarget("B", "main", 0)),
            ),
        ),
    )
    assert render_diff(diff) == [
        DiffLine(CHANGED, '~ name: "A" -> "B"'),
        DiffLine(REMOVED, '- description: "D"'),
        DiffLine(ADDED, '+ settings.timezone: "UTC"'),
        DiffLine(REMOVED, '- node "Old" (n8n-nodes-base.set)'),
        DiffLine(ADDED, '+ node "HTTP Request" (n8n-nodes-base.httpRequest)'),
        DiffLine(CHANGED, '~ node "Set" renamed to "Set fields"'),
        DiffLine(CHANGED, '~ node "Set fields": parameters.values.string[0].value: "a" -> "b"'),
        DiffLine(REMOVED, '- connection "A" -> "C"'),
        DiffLine(ADDED, '+ connection "A" -> "B"'),
        DiffLine(CHANGED, '~ connection order "If" (main output 0): "B", "C" -> "C", "B"'),
    ]


def test_values_are_compact_json_cut_to_the_limit() -> None:
    long = {"text": "x" * 200, "a": [1, None, True]}
    diff = WorkflowDiff(settings=(ValueChange(("s",), CHANGED, old=long, new=None),))
    [line] = texts(diff, max_value_length=20)
    assert line == '~ settings.s: {"a": [1, null, tru… -> null'
    assert len(texts(diff)[0]) < 2 * DEFAULT_MAX_VALUE_LENGTH + 20
    assert texts(diff, max_value_length=0) == ["~ settings.s: … -> …"]


def test_names_and_keys_are_quoted_so_each_line_stays_one_line() -> None:
    diff = WorkflowDiff(
        settings=(ValueChange(("odd key",), ADDED, new="a\nb"),),
        nodes_added=(NodeRef('Say "hi"\nthere', "t"),),
    )
    assert texts(diff) == [
        '+ settings["odd key"]: "a\\nb"',
        '+ node "Say \\"hi\\"\\nthere" (t)',
    ]


def test_added_and_removed_values_show_one_side() -> None:
    change = NodeChange(
        "N",
        "N",
        (
            ValueChange(("maxTries",), REMOVED, old=2),
            ValueChange(("parameters", "list", 3), ADDED, new=None),
        ),
    )
    assert texts(WorkflowDiff(nodes_changed=(change,))) == [
        '- node "N": maxTries: 2',
        '+ node "N": parameters.list[3]: null',
    ]


@pytest.mark.parametrize(
    ("edge", "text"),
    [
        (Connection("A", "main", 0, ConnectionTarget("B", "main", 0)), '"A" -> "B"'),
        (
            Connection("If", "main", 1, ConnectionTarget("B", "main", 0)),
            '"If" -> "B" (main output 1 -> main input 0)',
        ),
        (
            Connection("A", "main", 0, ConnectionTarget("Merge", "main", 1)),
            '"A" -> "Merge" (main output 0 -> main input 1)',
        ),
        (
            Connection("Tool", "ai_tool", 0, ConnectionTarget("Agent", "ai_tool", 0)),
            '"Tool" -> "Agent" (ai_tool output 0 -> ai_tool input 0)',
        ),
        (
            Connection("A", "main", 0, ConnectionTarget("B", None, None)),
            '"A" -> "B" (main output 0 -> null input null)',
        ),
        (
            Connection("A", "main", 0, ConnectionTarget("B", "main", False)),
            '"A" -> "B" (main output 0 -> main input false)',
        ),
        (
            Connection("A", "main", 0, ConnectionTarget("B", "main", 0, {"x": 1})),
            '"A" -> "B" {"x": 1}',
        ),
    ],
)
def test_connections_show_types_and_indices_unless_plain(edge: Connection, text: str) -> None:
    assert texts(WorkflowDiff(connections_added=(edge,))) == [f"+ connection {text}"]


def test_reordered_targets_show_their_input_and_other_type() -> None:
    order = ConnectionOrderChange(
        "S",
        "Old S",
        "ai_tool",
        2,
        old=(ConnectionTarget("M", "ai_tool", 1), ConnectionTarget("M", "main", 0)),
        new=(ConnectionTarget("M", "main", 0), ConnectionTarget("M", "ai_tool", 1)),
    )
    assert texts(WorkflowDiff(connections_reordered=(order,))) == [
        '~ connection order "S" (ai_tool output 2): '
        '"M" input 1, "M" [main] -> "M" [main], "M" input 1'
    ]
