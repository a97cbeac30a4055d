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

from canonflow.core._workflow_refs import WorkflowRefs, mentions_workflows
from canonflow.core.git_layout import file_document
from canonflow.core.hashing import hash_normalized
from canonflow.core.normalize import normalize

__all__ = ["Definition", "canonical_definition", "mentions_workflows"]


@dataclass(frozen=True)
class Definition:
    document: dict[str, Any]
    content_hash: str
    unresolved_refs: frozenset[str]


def canonical_definition(workflow: Mapping[str, Any], refs: Mapping[str, str]) -> Definition:
    """The file document of `workflow` with its references resolved by `refs` (n8n id →
    slug), and its content hash (the hash the repo sync computes from the file)."""
    document = file_document(copy.deepcopy(dict(workflow)))
    resolver = WorkflowRefs(refs)
    for node in document["nodes"]:
        parameters = node.get("parameters")
        if isinstance(node.get("type"), str) and isinstance(parameters, dict):
            resolver.resolve_node(node["type"], parameters)
    if isinstance(document.get("settings"), dict):
        resolver.resolve_settings(document["settings"])
    digest = hash_normalized(normalize(document).document)
    return Definition(document, digest, frozenset(resolver.unresolved))
