"""The content-hash rules, hash_version 1: what of an n8n workflow counts, and in which form.

Two copies of one workflow (exported from different n8n instances, or read from Git)
normalize to the same document; a change that can alter behaviour changes the document.
Changing any rule below means a new HASH_VERSION, and every stored hash is recomputed.

1. Top level: only `name`, `description`, `connections`, `settings` and `nodes` count.
   Everything else (`id`, `versionId`, `active`, `tags`, `meta`, `pinData`, `staticData`,
   `createdAt`, `shared`, ...) is dropped.
2. Null: a member whose value is null is dropped, at any depth, so a missing field and
   the same field set to null are equal. Null items of a list are kept (position counts).
3. Numbers are taken as n8n (JavaScript) holds them: an integral float within +-2**53 is
   an integer (`2.0` == `2`); an integer beyond +-2**53 is the nearest double.
4. Settings: n8n's save-time defaults are filled in when absent: `executionOrder` "v1",
   `callerPolicy` "workflowsFromSameOwner", `availableInMCP` false.
5. Nodes: only `name`, `type`, `typeVersion`, `parameters`, `credentials`, `disabled`,
   `notes`, `onError`, `continueOnFail`, `retryOnFail`, `maxTries`, `waitBetweenTries`,
   `alwaysOutputData` and `executeOnce` count (`id`, `position`, `webhookId`,
   `notesInFlow`, ... are dropped). A field at n8n's default counts as absent: `false` for
   `disabled`, `continueOnFail`, `retryOnFail`, `alwaysOutputData`, `executeOnce`; "" for
   `notes`; "stopWorkflow" for `onError`; `{}` for `parameters` and `credentials`.
   Nodes are sorted by name. Sticky notes are nodes and count.
6. Credentials become `{credential_type: credential_name}`; ids are dropped, and a
   credential without a string name counts as absent.
7. Resource locators (objects with `"__rl": true`, at any depth) lose `cachedResultName`
   and `cachedResultUrl`.
8. Connections: an output that is null or `[]` has no connections; trailing empty outputs,
   connection types without outputs and source nodes without connection types are dropped.
   Where one output feeds two or more targets, the targets are ordered by their node's canvas
   position, top to bottom (y) then left to right (x), then by node name and by the
   connection's canonical JSON; targets whose node has no `[x, y]` position come last, in
   the order given. All other lists keep their order.
9. Workflow references, when a `refs` map (n8n workflow id -> canonical slug) is given:
   `parameters.workflowId` of Execute Workflow and Call-Workflow-Tool nodes whose `source`
   is "database" (the default; a plain id, a resource locator, or an n8n URL in "url"
   mode), `settings.errorWorkflow`, and each id in the comma-separated
   `settings.callerIds` become `"slug:<slug>"`. An id missing from `refs` is kept as it is
   and reported; expressions (values starting with "=") and empty values are neither
   replaced nor reported. `settings.callerIds` is always trimmed, de-duplicated and sorted.
   Without `refs` nothing is replaced or reported.
"""

import copy
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from canonflow.core._clean import clean
from canonflow.core._connections import normalize_connections
from canonflow.core._workflow_refs import REFERENCE_PREFIX, WorkflowRefs, calls_workflows
from canonflow.core.publication import running_form
from canonflow.core.workflow_shape import InvalidWorkflow, parse_workflow, validate_workflow

__all__ = [
    "HASH_PREFIX",
    "HASH_VERSION",
    "REFERENCE_PREFIX",
    "InvalidWorkflow",
    "Normalized",
    "normalize",
    "parse_workflow",
    "validate_workflow",
    "with_node_defaults",
]

HASH_VERSION: int = 1
HASH_PREFIX = "v1:"

_TOP_LEVEL_SCALARS = ("name", "description")
_SETTINGS_DEFAULTS: Mapping[str, Any] = {
    "executionOrder": "v1",
    "callerPolicy": "workflowsFromSameOwner",
    "availableInMCP": False,
}
_NODE_FIELDS = frozenset({
    "name", "type", "typeVersion", "parameters", "disabled", "notes", "onError",
    "continueOnFail", "retryOnFail", "maxTries", "waitBetweenTries", "alwaysOutputData",
    "executeOnce",
})  # fmt: skip
_NODE_DEFAULTS: Mapping[str, object] = {
    "parameters": {},
    "disabled": False,
    "notes": "",
    "onError": "stopWorkflow",
    "continueOnFail": False,
    "retryOnFail": False,
    "alwaysOutputData": False,
    "executeOnce": False,
}

_DEFAULTED = frozenset(_NODE_DEFAULTS)
_NAME = operator.itemgetter("name")


@dataclass(frozen=True)
class Normalized:
    """A workflow reduced to what counts, and the workflow ids `refs` could not resolve."""

    document: dict[str, Any]
    unresolved_refs: tuple[str, ...]


def normalize(workflow: Mapping[str, Any], refs: Mapping[str, str] | None = None) -> Normalized:
    """Apply the hash_version 1 rules (module docstring) to one workflow.

    `refs` maps n8n workflow ids of the workflow's environment to canonical slugs.
    Raises InvalidWorkflow if `workflow` does not have the shape of an n8n workflow.
    An n8n 2.x workflow that runs a published version other than its draft is read as what
    it runs (`canonflow.core.publication.running_form`). The document is made of fresh
    containers: its caller may change it.
    """
    checked = validate_workflow(
        running_form(workflow) if isinstance(workflow, Mapping) else workflow
    )
    references = WorkflowRefs(refs)
    nodes = checked["nodes"]
    document: dict[str, Any] = {
        "connections": normalize_connections(checked["connections"], nodes),
        "nodes": sorted([_normalize_node(node, references) for node in nodes], key=_NAME),
        "settings": _normalize_settings(checked.get("settings"), references),
    }
    for key in _TOP_LEVEL_SCALARS:
        value = clean(checked.get(key))
        if value is not None:
            document[key] = value
    return Normalized(document=document, unresolved_refs=tuple(sorted(references.unresolved)))


def _normalize_node(node: Mapping[str, Any], refs: WorkflowRefs) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key not in _NODE_FIELDS or value is None:
            continue
        if type(value) is not str:
            value = clean(value)
        if key not in _DEFAULTED or not _is_default(key, value):
            result[key] = value
    credentials = node.get("credentials")
    if credentials:
        names = _credential_names(credentials)
        if names:
            result["credentials"] = names
    if "parameters" in result and calls_workflows(result["type"]):
        refs.resolve_node(result["type"], result["parameters"])
    return result


def with_node_defaults(node: Mapping[str, Any]) -> dict[str, Any]:
    """A normalized node with the fields rule 5 drops at their default written back in
    (and `credentials` as `{}`), so that a diff reads `disabled: false -> true`. For
    display only: the hash counts the node without them."""
    defaults = copy.deepcopy({**_NODE_DEFAULTS, "credentials": {}})
    return {**defaults, **node}


def _is_default(key: str, value: object) -> bool:
    default = _NODE_DEFAULTS.get(key)
    return default is not None and type(value) is type(default) and value == default


def _credential_names(credentials: Mapping[str, Any] | None) -> dict[str, str]:
    names: dict[str, str] = {}
    for credential_type, credential in (credentials or {}).items():
        is_object = type(credential) is dict or isinstance(credential, Mapping)
        name = credential.get("name") if is_object else credential
        if isinstance(name, str):
            names[credential_type] = name
    return names


def _normalize_settings(settings: Mapping[str, Any] | None, refs: WorkflowRefs) -> dict[str, Any]:
    result: dict[str, Any] = {**_SETTINGS_DEFAULTS, **clean(settings or {})}
    refs.resolve_settings(result)
    return result
