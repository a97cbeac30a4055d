"""Semantic diff of two n8n workflows, in the terms of the content hash.

Both sides are first reduced by `canonflow.core.normalize` (hash_version 1, each side with
its own `refs` map), so nothing the hash does not count (ids, positions, `webhookId`,
`versionId`, credential ids, resource-locator caches, `tags`, `active`, ...) ever shows up.
Equal content hashes give an empty diff; unequal ones give a non-empty diff: every
difference of the two normalized documents is reported somewhere.

1. Nodes are matched by name first. Of the rest, an old and a new node with the same `id`
   (a non-empty string, unique among the unmatched nodes of each side) are one node,
   renamed. Old nodes left unmatched are removed, new ones added.
2. A matched node (renamed or not) is compared field by field, with the fields the hash
   drops at their default written back in (`disabled: false`, `parameters: {}`,
   `credentials: {}`, ...): a change reads `false -> true`, not "added". Credentials
   compare as `{credential_type: credential_name}`.
3. Values compare recursively: objects key by key, lists index by index (a list that
   grows or shrinks has items added or removed at its end). Where the kinds differ (object,
   list, string, number, boolean, null; `1` is not `true`) the whole value changes. Each
   change is `added` (no old value), `removed` (no new value) or `changed`.
4. Paths join object keys with `.` and write list indices as `[i]`:
   `parameters.values.string[0].value`. A key that is not an identifier
   (`[A-Za-z_$][A-Za-z0-9_$]*`) is written JSON-quoted in brackets:
   `parameters.headers["Content-Type"]`.
5. `name` and `description` compare as whole values; `settings` (with n8n's save-time
   defaults filled in) by rule 3, paths relative to `settings`.
6. Connections are edges: source node, connection type, output index and the target
   (node, type, input index, and any other member the target object has). Edges are
   counted, not just collected. A renamed node's old edges compare under its new name, so a
   rename alone adds and removes no connection; each edge is reported in the names of its
   own side.
7. Where one output feeds several targets, their order counts (rule 8 of normalize: n8n
   runs parallel branches top to bottom): if the targets that both sides share are in
   another order, the output is reported as reordered, with both full target lists.
8. Everything is sorted: settings and node changes by path (object keys in code-point
   order, list indices by number), nodes by name (the new name where renamed), edges by
   source, type, output index and target.
"""

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from canonflow.core.diff_types import (
    ChangeKind,
    Connection,
    ConnectionOrderChange,
    ConnectionTarget,
    JsonValue,
    NodeChange,
    NodeRef,
    NodeRename,
    Path,
    ValueChange,
    WorkflowDiff,
    format_path,
)
from canonflow.core.normalize import normalize, with_node_defaults

__all__ = [
    "ChangeKind",
    "Connection",
    "ConnectionOrderChange",
    "ConnectionTarget",
    "JsonValue",
    "NodeChange",
    "NodeRef",
    "NodeRename",
    "ValueChange",
    "WorkflowDiff",
    "diff_values",
    "diff_workflows",
    "format_path",
]

_Slot = tuple[str, str, int]  # source node, connection type, output index


def diff_workflows(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    old_refs: Mapping[str, str] | None = None,
    new_refs: Mapping[str, str] | None = None,
) -> WorkflowDiff:
    """What changed from `old` to `new` (both as n8n exports them), by the module rules.

    `old_refs` / `new_refs` map each side's n8n workflow ids to canonical slugs, as for
    `normalize`. Raises InvalidWorkflow if either side is not an n8n workflow.
    """
    old_doc, new_doc = normalize(old, old_refs).document, normalize(new, new_refs).document
    old_nodes = {node["name"]: node for node in old_doc["nodes"]}
    new_nodes = {node["name"]: node for node in new_doc["nodes"]}
    renames = _match_by_id(old_nodes, new_nodes, _node_ids(old), _node_ids(new))
    matched = [(name, name) for name in old_nodes.keys() & new_nodes.keys()]
    connections = _ConnectionDiff(old_doc["connections"], new_doc["connections"], renames)
    return WorkflowDiff(
        name=_whole_value_change("name", old_doc, new_doc),
        description=_whole_value_change("description", old_doc, new_doc),
        settings=tuple(diff_values(old_doc["settings"], new_doc["settings"])),
        nodes_added=_node_refs(new_nodes, new_nodes.keys() - old_nodes.keys(), renames.values()),
        nodes_removed=_node_refs(old_nodes, old_nodes.keys() - new_nodes.keys(), renames.keys()),
        nodes_renamed=tuple(
            NodeRename(old_name, new_name)
            for new_name, old_name in sorted((new, old) for old, new in renames.items())
        ),
        nodes_changed=_node_changes(old_nodes, new_nodes, [*matched, *renames.items()]),
        connections_added=connections.added,
        connections_removed=connections.removed,
        connections_reordered=connections.reordered,
    )


def diff_values(old: JsonValue, new: JsonValue, path: Path = ()) -> list[ValueChange]:
    """The changes from one JSON value to another by rule 3, paths starting at `path`."""
    if type(old) is dict and type(new) is dict:
        keys = sorted(old.keys() | new.keys())
        return [change for key in keys for change in _member_changes(old, new, key, path)]
    if type(old) is list and type(new) is list:
        return _list_changes(old, new, path)
    if _same(old, new):
        return []
    return [ValueChange(path, ChangeKind.CHANGED, old=old, new=new)]


def _list_changes(old: list[JsonValue], new: list[JsonValue], path: Path) -> list[ValueChange]:
    changes = [
        change
        for index, (old_item, new_item) in enumerate(zip(old, new, strict=False))
        for change in diff_values(old_item, new_item, (*path, index))
    ]
    changes += [
        ValueChange((*path, index), ChangeKind.REMOVED, old=old[index])
        for index in range(len(new), len(old))
    ]
    changes += [
        ValueChange((*path, index), ChangeKind.ADDED, new=new[index])
        for index in range(len(old), len(new))
    ]
    return changes


def _member_changes(
    old: Mapping[str, JsonValue], new: Mapping[str, JsonValue], key: str, parent: Path
) -> list[ValueChange]:
    path = (*parent, key)
    if key not in new:
        return [ValueChange(path, ChangeKind.REMOVED, old=old[key])]
    if key not in old:
        return [ValueChange(path, ChangeKind.ADDED, new=new[key])]
    return diff_values(old[key], new[key], path)


def _same(old: JsonValue, new: JsonValue) -> bool:
    """Strict JSON equality: `1` is not `true` (Python says it is); NaN equals NaN."""
    if type(old) is not type(new):
        return False
    if type(old) is dict:
        return old.keys() == new.keys() and all(_same(old[key], new[key]) for key in old)
    if type(old) is list:
        return len(old) == len(new) and all(map(_same, old, new))
    return bool(old == new or (old != old and new != new))


def _whole_value_change(
    key: str, old_doc: Mapping[str, JsonValue], new_doc: Mapping[str, JsonValue]
) -> ValueChange | None:
    if key not in old_doc and key not in new_doc:
        return None
    if key not in new_doc:
        return ValueChange((key,), ChangeKind.REMOVED, old=old_doc[key])
    if key not in old_doc:
        return ValueChange((key,), ChangeKind.ADDED, new=new_doc[key])
    if _same(old_doc[key], new_doc[key]):
        return None
    return ValueChange((key,), ChangeKind.CHANGED, old=old_doc[key], new=new_doc[key])


def _node_ids(workflow: Mapping[str, Any]) -> dict[str, str]:
    """Node name -> node id, for the nodes (of an already validated workflow) that have one."""
    return {
        node["name"]: node["id"]
        for node in workflow["nodes"]
        if isinstance(node.get("id"), str) and node["id"]
    }


def _match_by_id(
    old_nodes: Mapping[str, Any],
    new_nodes: Mapping[str, Any],
    old_ids: Mapping[str, str],
    new_ids: Mapping[str, str],
) -> dict[str, str]:
    """Rule 1, second pass: old name -> new name of the nodes renamed."""
    old_by_id = _unique_ids(old_ids, old_nodes.keys() - new_nodes.keys())
    new_by_id = _unique_ids(new_ids, new_nodes.keys() - old_nodes.keys())
    return {old_by_id[id_]: new_by_id[id_] for id_ in old_by_id.keys() & new_by_id.keys()}


def _unique_ids(ids: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    names = [name for name in names if name in ids]
    counts = Counter(ids[name] for name in names)
    return {ids[name]: name for name in names if counts[ids[name]] == 1}


def _node_refs(
    nodes: Mapping[str, Mapping[str, Any]], unmatched: Iterable[str], renamed: Iterable[str]
) -> tuple[NodeRef, ...]:
    names = sorted(set(unmatched) - set(renamed))
    return tuple(NodeRef(name, nodes[name]["type"]) for name in names)


def _node_changes(
    old_nodes: Mapping[str, Mapping[str, Any]],
    new_nodes: Mapping[str, Mapping[str, Any]],
    matched: Sequence[tuple[str, str]],
) -> tuple[NodeChange, ...]:
    changes = []
    for old_name, new_name in matched:
        found = diff_values(_comparable(old_nodes[old_name]), _comparable(new_nodes[new_name]))
        if found:
            changes.append(NodeChange(new_name, old_name, tuple(found)))
    return tuple(sorted(changes, key=lambda change: (change.name, change.old_name)))


def _comparable(node: Mapping[str, Any]) -> dict[str, Any]:
    """Rule 2: the node's fields but its name, defaults written out."""
    fields = with_node_defaults(node)
    del fields["name"]
    return fields


class _ConnectionDiff:
    """Rules 6 and 7 over two normalized `connections` objects."""

    def __init__(
        self, old: Mapping[str, Any], new: Mapping[str, Any], renames: Mapping[str, str]
    ) -> None:
        # Renamed pairs swap names: an involution, so the same map also translates back.
        self._translate = {**renames, **{new: old for old, new in renames.items()}}
        self._added: list[Connection] = []
        self._removed: list[Connection] = []
        self._reordered: list[ConnectionOrderChange] = []
        old_slots, new_slots = self._slots(old, self._translate), self._slots(new, {})
        for slot in sorted(old_slots.keys() | new_slots.keys()):
            self._compare(slot, old_slots.get(slot, []), new_slots.get(slot, []))

    @property
    def added(self) -> tuple[Connection, ...]:
        return tuple(sorted(self._added, key=_connection_order))

    @property
    def removed(self) -> tuple[Connection, ...]:
        return tuple(sorted(self._removed, key=_connection_order))

    @property
    def reordered(self) -> tuple[ConnectionOrderChange, ...]:
        return tuple(self._reordered)

    @staticmethod
    def _slots(
        connections: Mapping[str, Any], translate: Mapping[str, str]
    ) -> dict[_Slot, list[dict[str, Any]]]:
        """Every non-empty output, keyed in the new side's names."""
        slots: dict[_Slot, list[dict[str, Any]]] = {}
        for source, by_type in connections.items():
            for connection_type, outputs in by_type.items():
                for index, targets in enumerate(outputs):
                    if targets:
                        slot = (translate.get(source, source), connection_type, index)
                        slots[slot] = [
                            {**target, "node": translate.get(target["node"], target["node"])}
                            for target in targets
                        ]
        return slots

    def _compare(self, slot: _Slot, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
        old_keys, new_keys = [_key(t) for t in old], [_key(t) for t in new]
        old_kept, removed = _split(old, old_keys, Counter(new_keys))
        new_kept, added = _split(new, new_keys, Counter(old_keys))
        source, connection_type, index = slot
        old_source = self._translate.get(source, source)
        for target in removed:
            self._removed.append(self._edge(old_source, slot, target, translate=True))
        for target in added:
            self._added.append(self._edge(source, slot, target, translate=False))
        if old_kept != new_kept:
            self._reordered.append(
                ConnectionOrderChange(
                    source=source,
                    old_source=old_source,
                    type=connection_type,
                    output_index=index,
                    old=tuple(self._target(t, translate=True) for t in old),
                    new=tuple(self._target(t, translate=False) for t in new),
                )
            )

    def _edge(
        self, source: str, slot: _Slot, target: Mapping[str, Any], *, translate: bool
    ) -> Connection:
        return Connection(source, slot[1], slot[2], self._target(target, translate=translate))

    def _target(self, target: Mapping[str, Any], *, translate: bool) -> ConnectionTarget:
        node = self._translate.get(target["node"], target["node"]) if translate else target["node"]
        return ConnectionTarget.from_dict({**target, "node": node})


def _key(value: JsonValue) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _split(
    targets: Sequence[dict[str, Any]], keys: Sequence[str], other: Counter[str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """The keys of the targets the other side has too (in order), and the targets it lacks."""
    available = Counter(other)
    kept: list[str] = []
    lacking: list[dict[str, Any]] = []
    for target, key in zip(targets, keys, strict=True):
        if available[key] > 0:
            available[key] -= 1
            kept.append(key)
        else:
            lacking.append(target)
    return kept, lacking


def _connection_order(edge: Connection) -> tuple[str | int, ...]:
    target = edge.target
    details = (_key(value) for value in (target.type, target.index, dict(target.extra)))
    return (edge.source, edge.type, edge.output_index, target.node, *details)
