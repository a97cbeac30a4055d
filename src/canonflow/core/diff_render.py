"""A workflow diff as plain text lines, each tagged with its kind so a CLI can colour it.

One line per item, in this order: name, description, settings, nodes removed, added,
renamed, changed (one line per changed value), connections removed, added, reordered.
A line starts with `+` (added), `-` (removed) or `~` (changed):

    ~ name: "Order intake" -> "Order intake v2"
    ~ settings.timezone: "UTC" -> "Europe/Berlin"
    - node "Sticky Note" (n8n-nodes-base.stickyNote)
    + node "HTTP Request" (n8n-nodes-base.httpRequest)
    ~ node "Set" renamed to "Set fields"
    ~ node "Set fields": parameters.values.string[0].value: "a" -> "b"
    - connection "A" -> "B"
    + connection "Agent" -> "Tool" (ai_tool output 0 -> ai_tool input 0)
    ~ connection order "If" (main output 0): "B", "C" -> "C", "B"

Names are JSON-quoted (so a newline in a name stays on its line); values are compact JSON
cut to `max_value_length` characters, ending in "…" where cut.
"""

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from canonflow.core.diff_types import (
    ChangeKind,
    Connection,
    ConnectionOrderChange,
    ConnectionTarget,
    JsonValue,
    ValueChange,
    WorkflowDiff,
    format_path,
)

__all__ = ["DEFAULT_MAX_VALUE_LENGTH", "DiffLine", "render_diff"]

DEFAULT_MAX_VALUE_LENGTH = 60
_SIGNS = {ChangeKind.ADDED: "+", ChangeKind.REMOVED: "-", ChangeKind.CHANGED: "~"}
_MAIN = "main"


@dataclass(frozen=True)
class DiffLine:
    """One rendered line; `text` starts with the sign of its `kind`."""

    kind: ChangeKind
    text: str


def render_diff(
    diff: WorkflowDiff, *, max_value_length: int = DEFAULT_MAX_VALUE_LENGTH
) -> list[DiffLine]:
    """The diff as lines (none for an empty diff)."""
    return list(_lines(diff, max(max_value_length, 1)))


def _lines(diff: WorkflowDiff, limit: int) -> Iterator[DiffLine]:
    for change in (diff.name, diff.description):
        if change is not None:
            yield _value_line(change, format_path(change.path), limit)
    for change in diff.settings:
        yield _value_line(change, format_path(("settings", *change.path)), limit)
    for node in diff.nodes_removed:
        yield _line(ChangeKind.REMOVED, f"node {_quote(node.name)} ({node.type})")
    for node in diff.nodes_added:
        yield _line(ChangeKind.ADDED, f"node {_quote(node.name)} ({node.type})")
    for rename in diff.nodes_renamed:
        text = f"node {_quote(rename.old_name)} renamed to {_quote(rename.new_name)}"
        yield _line(ChangeKind.CHANGED, text)
    for node_change in diff.nodes_changed:
        for change in node_change.changes:
            where = f"node {_quote(node_change.name)}: {format_path(change.path)}"
            yield _value_line(change, where, limit)
    for edge in diff.connections_removed:
        yield _line(ChangeKind.REMOVED, _connection_text(edge, limit))
    for edge in diff.connections_added:
        yield _line(ChangeKind.ADDED, _connection_text(edge, limit))
    for order in diff.connections_reordered:
        yield _line(ChangeKind.CHANGED, _order_text(order, limit))


def _line(kind: ChangeKind, text: str) -> DiffLine:
    return DiffLine(kind, f"{_SIGNS[kind]} {text}")


def _value_line(change: ValueChange, where: str, limit: int) -> DiffLine:
    if change.kind is ChangeKind.ADDED:
        shown = _show(change.new, limit)
    elif change.kind is ChangeKind.REMOVED:
        shown = _show(change.old, limit)
    else:
        shown = f"{_show(change.old, limit)} -> {_show(change.new, limit)}"
    return _line(change.kind, f"{where}: {shown}")


def _connection_text(edge: Connection, limit: int) -> str:
    """`connection "A" -> "B"`, with types and indices unless main output 0 -> main input 0."""
    target = edge.target
    text = f"connection {_quote(edge.source)} -> {_quote(target.node)}"
    if not (edge.type == target.type == _MAIN and edge.output_index == 0 and _is_zero(target)):
        text += (
            f" ({edge.type} output {edge.output_index} -> "
            f"{_plain(target.type, limit)} input {_plain(target.index, limit)})"
        )
    if target.extra:
        text += f" {_show(dict(target.extra), limit)}"
    return text


def _order_text(order: ConnectionOrderChange, limit: int) -> str:
    """`connection order "If" (main output 0): "B", "C" -> "C", "B"`; a target's type is
    shown where it is not the output's, its input index where it is not 0."""
    where = f"{_quote(order.source)} ({order.type} output {order.output_index})"
    old = _targets_text(order.old, order.type, limit)
    new = _targets_text(order.new, order.type, limit)
    return f"connection order {where}: {old} -> {new}"


def _targets_text(targets: Sequence[ConnectionTarget], connection_type: str, limit: int) -> str:
    shown = []
    for target in targets:
        text = _quote(target.node)
        if target.type != connection_type:
            text += f" [{_plain(target.type, limit)}]"
        if not _is_zero(target):
            text += f" input {_plain(target.index, limit)}"
        if target.extra:
            text += f" {_show(dict(target.extra), limit)}"
        shown.append(text)
    return ", ".join(shown)


def _is_zero(target: ConnectionTarget) -> bool:
    return type(target.index) is int and target.index == 0


def _quote(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


def _plain(value: JsonValue, limit: int) -> str:
    """A connection type or index as n8n writes it: bare if a string or integer."""
    if type(value) is str or type(value) is int:
        return _cut(str(value), limit)
    return _show(value, limit)


def _show(value: JsonValue, limit: int) -> str:
    return _cut(json.dumps(value, ensure_ascii=False, sort_keys=True), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
