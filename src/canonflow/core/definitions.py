"""A canonical definition made from an n8n workflow: the Git file's content (DESIGN §5).

n8n's workflow references (Execute Workflow nodes, `errorWorkflow`, `callerIds`) hold ids of
one environment; the definition holds `"slug:<canonical slug>"` instead, so it means the
same thing everywhere. A reference whose target has no canonical stays as it is and is
reported.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from canonflow.core._workflow_refs import WorkflowRefs, calls_workflows, mentions_workflows
from canonflow.core.git_layout import file_document
from canonflow.core.hashing import hash_normalized, hash_workflows
from canonflow.core.normalize import InvalidWorkflow, normalize
from canonflow.core.publication import draft_form, draft_pending
from canonflow.core.workflow_shape import parse_json

__all__ = [
    "DefinedHash",
    "Definition",
    "ListedHash",
    "canonical_definition",
    "hash_and_define_documents",
    "hash_and_define_workflows",
    "hash_listed_documents",
    "hash_listed_workflows",
    "mentions_workflows",
    "referenced_ids",
]


def referenced_ids(workflow: Mapping[str, Any]) -> frozenset[str]:
    """The workflow ids (or slug references) a workflow names: what its diff needs looked
    up. Most workflows name none, and this reads nothing then."""
    if not mentions_workflows(workflow):
        return frozenset()
    references = WorkflowRefs({})  # nothing is known: every reference is reported
    settings = workflow.get("settings")
    if isinstance(settings, Mapping):
        references.resolve_settings(copy.deepcopy(dict(settings)))
    for node in workflow.get("nodes") or ():
        if isinstance(node, Mapping) and isinstance(node.get("parameters"), Mapping):
            node_type = str(node.get("type", ""))
            references.resolve_node(node_type, copy.deepcopy(dict(node["parameters"])))
    return frozenset(references.unresolved)


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


#: A content hash, why there is none, and the workflow's Git document as compact JSON when
#: it references no other workflow (see `hash_and_define_workflows`).
DefinedHash = tuple[str | None, str | None, bytes | None]


def hash_and_define_workflows(
    workflows: Sequence[Mapping[str, Any]],
    refs: Mapping[str, str] | None = None,
    *,
    define: bool = True,
) -> list[DefinedHash]:
    """`hash_workflows`, plus (`define`) each workflow's file document as compact JSON
    where it mentions no other workflow: that document does not depend on `refs`, and it
    is what `canonical_definition(workflow, refs, known_hash=hash)` makes. The onboarding
    inventory asks it of the anchor, whose workflows all become canonical."""
    results: list[DefinedHash] = []
    for workflow, (digest, problem) in zip(workflows, hash_workflows(workflows, refs), strict=True):
        document = None
        if define and digest is not None:
            made = file_document(workflow)
            if not mentions_workflows(made):
                document = orjson.dumps(made)
        results.append((digest, problem, document))
    return results


def hash_and_define_documents(
    raws: Sequence[bytes], refs: Mapping[str, str] | None = None, *, define: bool = True
) -> list[DefinedHash]:
    """`hash_and_define_workflows` of serialized workflows (as `hash_documents`): plain data
    in and out, so it can run in a worker process (which then imports only the core)."""
    results: list[DefinedHash] = []
    for raw in raws:
        try:
            workflow: Any = parse_json(raw)
        except InvalidWorkflow as exc:
            results.append((None, str(exc), None))
            continue
        results += hash_and_define_workflows([workflow], refs, define=define)
    return results


#: `DefinedHash` of what a listed workflow runs, plus its draft's content hash when n8n
#: holds a draft that differs from the published version (see `canonflow.core.publication`).
ListedHash = tuple[str | None, str | None, bytes | None, str | None]


def hash_listed_workflows(
    workflows: Sequence[Mapping[str, Any]],
    refs: Mapping[str, str] | None = None,
    *,
    define: bool = True,
) -> list[ListedHash]:
    """`hash_and_define_workflows` (of what each workflow runs: its published version
    while a draft is pending), with the draft's hash beside it when the draft differs
    (None otherwise, and for every workflow without a pending draft)."""
    results: list[ListedHash] = []
    for workflow, (digest, problem, document) in zip(
        workflows, hash_and_define_workflows(workflows, refs, define=define), strict=True
    ):
        draft = None
        if digest is not None and isinstance(workflow, Mapping) and draft_pending(workflow):
            [(draft, _problem)] = hash_workflows([draft_form(workflow)], refs)
        results.append((digest, problem, document, draft if draft != digest else None))
    return results


def hash_listed_documents(
    raws: Sequence[bytes], refs: Mapping[str, str] | None = None, *, define: bool = True
) -> list[ListedHash]:
    """`hash_listed_workflows` of serialized listing items: plain data in and out, so it
    can run in a worker process (which then imports only the core)."""
    results: list[ListedHash] = []
    for raw in raws:
        try:
            workflow: Any = parse_json(raw)
        except InvalidWorkflow as exc:
            results.append((None, str(exc), None, None))
            continue
        results += hash_listed_workflows([workflow], refs, define=define)
    return results
