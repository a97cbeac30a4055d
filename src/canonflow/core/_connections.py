"""Rule 8 of `canonflow.core.normalize`: connections.

An output that is null or `[]` has no connections; trailing empty outputs, connection types
without outputs and source nodes without connection types are dropped. Where one output
feeds two or more targets, the targets are ordered by their node's canvas position, top to
bottom (y) then left to right (x), then by node name and by the connection's canonical
JSON; targets whose node has no `[x, y]` position come last, in the order given.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from canonflow.core._clean import clean_object
from canonflow.core.canonical_json import canonical_json

Position = tuple[float, float]


def normalize_connections(
    connections: Mapping[str, Any], nodes: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """Rule 8 on validated connections; the targets are cleaned (rules 2, 3 and 7)."""
    canvas = _Canvas(nodes)
    result: dict[str, Any] = {}
    for source, by_type in connections.items():
        kept = {}
        for connection_type, outputs in by_type.items():
            normalized = _normalize_outputs(outputs, canvas)
            if normalized:
                kept[connection_type] = normalized
        if kept:
            result[source] = kept
    return result


def _normalize_outputs(outputs: list[Any], canvas: "_Canvas") -> list[list[Any]]:
    result = [
        _order_targets([clean_object(t) for t in targets], canvas) if targets else []
        for targets in outputs
    ]
    while result and not result[-1]:
        result.pop()
    return result


def _order_targets(targets: list[dict[str, Any]], canvas: "_Canvas") -> list[dict[str, Any]]:
    if len(targets) < 2:
        return targets
    names = [target["node"] for target in targets]
    same_node_twice = len(set(names)) < len(names)  # only then can the connection decide

    def canvas_order(target: Mapping[str, Any]) -> tuple[Any, ...]:
        position = canvas.position(target["node"])
        if position is None:
            return (1,)  # unknown position: after the positioned ones, in the given order
        tiebreak = canonical_json(target) if same_node_twice else b""
        return (0, *position, target["node"], tiebreak)

    return sorted(targets, key=canvas_order)


class _Canvas:
    """Canvas positions (y, x) of nodes that have a valid `[x, y]`, read on demand: only
    an output that feeds two or more targets asks, and only for those targets."""

    def __init__(self, nodes: Iterable[Mapping[str, Any]]) -> None:
        self._nodes = nodes
        self._by_name: dict[str, Mapping[str, Any]] | None = None

    def position(self, name: str) -> Position | None:
        if self._by_name is None:
            self._by_name = {node["name"]: node for node in self._nodes}
        node = self._by_name.get(name)
        return None if node is None else _position(node)


def _position(node: Mapping[str, Any]) -> Position | None:
    position = node.get("position")
    if isinstance(position, list | tuple) and len(position) == 2:
        x, y = position
        if _is_real(x) and _is_real(y):
            return (float(y), float(x))
    return None


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value
