"""The records of a workflow diff (`canonflow.core.diff` computes them).

All are frozen; `to_dict()` gives JSON-ready plain data (fresh copies, safe to modify).
Old and new values are JSON values as the normalized documents hold them.
"""

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

JsonValue: TypeAlias = Any  # None, bool, int, float, str, list of these, dict str -> these
Path: TypeAlias = tuple[str | int, ...]

_TARGET_FIELDS = ("node", "type", "index")
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def format_path(path: Path) -> str:
    """Rule 4 of `canonflow.core.diff`: object keys joined with `.`, list indices as `[i]`,
    a key that is not an identifier JSON-quoted in brackets:
    `("parameters", "values", 0, "a-b")` -> `parameters.values[0]["a-b"]`."""
    parts: list[str] = []
    for segment in path:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif _IDENTIFIER.fullmatch(segment):
            parts.append(f".{segment}" if parts else segment)
        else:
            parts.append(f"[{json.dumps(segment, ensure_ascii=False)}]")
    return "".join(parts)


class ChangeKind(StrEnum):
    """What happened to one item: it is only in the new side, only in the old, or in both."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class ValueChange:
    """One value that differs. `old` is None (meaningless) for ADDED, `new` for REMOVED:
    read `kind`, since a JSON null is a value too."""

    path: Path
    kind: ChangeKind
    old: JsonValue = None
    new: JsonValue = None

    @property
    def path_text(self) -> str:
        """The path in the notation of `canonflow.core.diff` rule 4."""
        return format_path(self.path)

    def to_dict(self) -> dict[str, JsonValue]:
        """`{"path", "kind", "old", "new"}`, without `old` when added, `new` when removed."""
        data: dict[str, JsonValue] = {"path": self.path_text, "kind": self.kind.value}
        if self.kind is not ChangeKind.ADDED:
            data["old"] = copy.deepcopy(self.old)
        if self.kind is not ChangeKind.REMOVED:
            data["new"] = copy.deepcopy(self.new)
        return data


@dataclass(frozen=True)
class NodeRef:
    """A node added or removed."""

    name: str
    type: str

    def to_dict(self) -> dict[str, JsonValue]:
        return {"name": self.name, "type": self.type}


@dataclass(frozen=True)
class NodeRename:
    """A node matched by id whose name changed (other changes are in a NodeChange)."""

    old_name: str
    new_name: str

    def to_dict(self) -> dict[str, JsonValue]:
        return {"old_name": self.old_name, "new_name": self.new_name}


@dataclass(frozen=True)
class NodeChange:
    """The counted fields that differ in one node. `name` is its name in the new workflow,
    `old_name` in the old one (the same unless it was renamed)."""

    name: str
    old_name: str
    changes: tuple[ValueChange, ...]

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "name": self.name,
            "old_name": self.old_name,
            "changes": [change.to_dict() for change in self.changes],
        }


@dataclass(frozen=True)
class ConnectionTarget:
    """Where a connection goes: n8n's `{"node", "type", "index"}` target object. `type` and
    `index` are normally a string and an integer (None where missing); `extra` holds any
    other member the object has, since those count for the hash too."""

    node: str
    type: JsonValue
    index: JsonValue
    extra: Mapping[str, JsonValue] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, target: Mapping[str, JsonValue]) -> "ConnectionTarget":
        extra = {key: value for key, value in target.items() if key not in _TARGET_FIELDS}
        return cls(target["node"], target.get("type"), target.get("index"), extra)

    def to_dict(self) -> dict[str, JsonValue]:
        data = {"node": self.node, "type": self.type, "index": self.index}
        if self.extra:
            data["extra"] = copy.deepcopy(dict(self.extra))
        return data


@dataclass(frozen=True)
class Connection:
    """One edge: output `output_index` of `source`'s connection type `type` feeds `target`."""

    source: str
    type: str
    output_index: int
    target: ConnectionTarget

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "source": self.source,
            "type": self.type,
            "output_index": self.output_index,
            "target": self.target.to_dict(),
        }


@dataclass(frozen=True)
class ConnectionOrderChange:
    """One output whose shared targets run in another order. `source` is the node's name
    in the new workflow, `old_source` in the old one; `old` and `new` are the output's full
    target lists, each in the names of its own side."""

    source: str
    old_source: str
    type: str
    output_index: int
    old: tuple[ConnectionTarget, ...]
    new: tuple[ConnectionTarget, ...]

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "source": self.source,
            "old_source": self.old_source,
            "type": self.type,
            "output_index": self.output_index,
            "old": [target.to_dict() for target in self.old],
            "new": [target.to_dict() for target in self.new],
        }


@dataclass(frozen=True)
class WorkflowDiff:
    """Everything that differs between two workflows (empty when their hashes are equal)."""

    name: ValueChange | None = None
    description: ValueChange | None = None
    settings: tuple[ValueChange, ...] = ()
    nodes_added: tuple[NodeRef, ...] = ()
    nodes_removed: tuple[NodeRef, ...] = ()
    nodes_renamed: tuple[NodeRename, ...] = ()
    nodes_changed: tuple[NodeChange, ...] = ()
    connections_added: tuple[Connection, ...] = ()
    connections_removed: tuple[Connection, ...] = ()
    connections_reordered: tuple[ConnectionOrderChange, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self == _EMPTY

    def to_dict(self) -> dict[str, JsonValue]:
        """JSON-ready: `is_empty`, then every field (`name` / `description` null when
        unchanged, lists of `to_dict()`s for the others)."""
        return {
            "is_empty": self.is_empty,
            "name": self.name.to_dict() if self.name else None,
            "description": self.description.to_dict() if self.description else None,
            "settings": [change.to_dict() for change in self.settings],
            "nodes_added": [node.to_dict() for node in self.nodes_added],
            "nodes_removed": [node.to_dict() for node in self.nodes_removed],
            "nodes_renamed": [rename.to_dict() for rename in self.nodes_renamed],
            "nodes_changed": [change.to_dict() for change in self.nodes_changed],
            "connections_added": [edge.to_dict() for edge in self.connections_added],
            "connections_removed": [edge.to_dict() for edge in self.connections_removed],
            "connections_reordered": [order.to_dict() for order in self.connections_reordered],
        }


_EMPTY = WorkflowDiff()
