"""A canonical definition made from an n8n workflow: the Git file's content (DESIGN §5).

n8n's workflow references (Execute Workflow nodes, `errorWorkflow`, `callerIds`) hold ids of
one environment; the definition holds `"slug:<canonical slug>"` instead, so it means the
same thing everywhere. A reference whose target has no canonical stays as it is and is
reported.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from canonflow.core._workflow_refs import WorkflowRefs, calls_workflows, mentions_workflows
from canonflow.core.git_layout import file_document
from canonflow.core.hashing import hash_normalized
from canonflow.core.normalize import normalize

__all__ = ["Definition", "canonical_definition", "mentions_workflows"]


@dataclass(frozen=True)
class Definition:
    document: dict[str, Any]
    content_hash: str
    unresolved_refs: frozenset[str]


def canonical_definition(
    workflow: Mapping[str, Any], refs: Mapping[str, str], *, known_hash: str | None = None
) -> Definition:
    """The file document of `workflow` with its references resolved by `refs` (n8n id →
    slug), and its content hash (the hash the repo sync computes from the file).

    `known_hash`: the workflow's content hash if the caller has it (an environment sync
    made it); a workflow that references no other one hashes the same as its file, so it
    is not normalized again. The document shares the parameters of nodes that call no
    workflow with `workflow`: treat both as read-only."""
    document = file_document(workflow)
    if known_hash is not None and not mentions_workflows(document):
        return Definition(document, known_hash, frozenset())
    resolver = WorkflowRefs(refs)
    nodes = []
    for node in document["nodes"]:
        parameters = node.get("parameters")
        if calls_workflows(node.get("type")) and isinstance(parameters, dict):
            node = {**node, "parameters": copy.deepcopy(parameters)}  # resolved in place
            resolver.resolve_node(node["type"], node["parameters"])
        nodes.append(node)
    document["nodes"] = nodes
    if isinstance(document.get("settings"), dict):
        document["settings"] = dict(document["settings"])  # top-level keys are resolved
        resolver.resolve_settings(document["settings"])
    digest = hash_normalized(normalize(document).document)
    return Definition(document, digest, frozenset(resolver.unresolved))
