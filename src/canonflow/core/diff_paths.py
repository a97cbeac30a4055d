"""The changed node/parameter paths of a semantic diff, one readable string each, in the
diff's order: what a drift notification lists for a workflow.

`nodes["Set"].parameters.assignments.assignments[0].value`, `settings.timezone`, `name`,
`nodes["Wait"] (added)`, `nodes["Old"] -> nodes["New"] (renamed)`,
`connections["Set"].main[0] -> "Wait" (removed)`, `connections["If"].main[0] (reordered)`.
"""

from canonflow.core.diff_types import Connection, WorkflowDiff, format_path


def changed_paths(diff: WorkflowDiff) -> list[str]:
    paths: list[str] = []
    for field, change in (("name", diff.name), ("description", diff.description)):
        if change is not None:
            paths.append(field)
    paths += [format_path(("settings", *change.path)) for change in diff.settings]
    paths += [f"{_node(node.name)} (added)" for node in diff.nodes_added]
    paths += [f"{_node(node.name)} (removed)" for node in diff.nodes_removed]
    paths += [
        f"{_node(rename.old_name)} -> {_node(rename.new_name)} (renamed)"
        for rename in diff.nodes_renamed
    ]
    for node in diff.nodes_changed:
        paths += [format_path(("nodes", node.name, *change.path)) for change in node.changes]
    paths += [f"{_edge(edge)} (added)" for edge in diff.connections_added]
    paths += [f"{_edge(edge)} (removed)" for edge in diff.connections_removed]
    paths += [
        f"{format_path(('connections', order.source, order.type, order.output_index))} (reordered)"
        for order in diff.connections_reordered
    ]
    return paths


def capped(paths: list[str], limit: int) -> tuple[list[str], int]:
    """The first `limit` paths and how many more there are."""
    return paths[:limit], max(len(paths) - limit, 0)


def _node(name: str) -> str:
    return format_path(("nodes", name))


def _edge(edge: Connection) -> str:
    source = format_path(("connections", edge.source, edge.type, edge.output_index))
    return f'{source} -> "{edge.target.node}"'
