"""Mark the changes of a diff that ignore rules leave out (docs/ignore-rules.md): they are
still shown, each with `ignored_by` (the rule's path), and the verdict says whether only
ignored differences remain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from canonflow.core.diff_types import WorkflowDiff
from canonflow.core.ignore_rules import IgnoreRule, rule_for, rule_for_node

IDENTICAL = "identical"
ONLY_IGNORED = "only_ignored_differences"
DIFFERS = "differs"


def annotate(
    diff: WorkflowDiff,
    data: dict[str, Any],
    rules: Sequence[IgnoreRule],
    node_types: Mapping[str, str],
) -> str:
    """Add `ignored_by` to every entry of `data` (`diff.to_dict()`) a rule leaves out;
    return the verdict: identical, only_ignored_differences or differs."""
    if diff.is_empty:
        return IDENTICAL
    marked = total = 0

    def mark(entry: dict[str, Any], rule: IgnoreRule | None) -> None:
        nonlocal marked, total
        total += 1
        if rule is not None:
            entry["ignored_by"] = rule.path
            marked += 1

    for key in ("name", "description"):
        if data[key] is not None:
            mark(data[key], None)
    for change, entry in zip(diff.settings, data["settings"], strict=True):
        mark(entry, rule_for(change, rules))
    for node, node_entry in zip(diff.nodes_changed, data["nodes_changed"], strict=True):
        node_type = node_types.get(node.name) or node_types.get(node.old_name)
        for change, entry in zip(node.changes, node_entry["changes"], strict=True):
            mark(entry, rule_for(change, rules, node_type=node_type, node_name=node.name))
    for key in ("nodes_added", "nodes_removed"):
        for entry in data[key]:
            mark(entry, rule_for_node(entry["name"], rules))
    for entry in data["nodes_renamed"]:
        mark(entry, _either(entry["old_name"], entry["new_name"], rules))
    for key in ("connections_added", "connections_removed"):
        for entry in data[key]:
            mark(entry, _either(entry["source"], entry["target"]["node"], rules))
    for entry in data["connections_reordered"]:
        mark(entry, rule_for_node(entry["source"], rules))
    return ONLY_IGNORED if marked == total else DIFFERS


def _either(first: str, second: str, rules: Sequence[IgnoreRule]) -> IgnoreRule | None:
    return rule_for_node(first, rules) or rule_for_node(second, rules)


def node_types(*workflows: Mapping[str, Any]) -> dict[str, str]:
    """Node name -> type over the workflows (later ones win)."""
    types: dict[str, str] = {}
    for workflow in workflows:
        for node in workflow.get("nodes") or ():
            if isinstance(node, Mapping) and isinstance(node.get("name"), str):
                types[node["name"]] = str(node.get("type"))
    return types
