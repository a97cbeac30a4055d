"""Where a workflow names another one, and rule 9 of `canonflow.core.normalize`.

n8n workflow ids differ per environment. The places that hold one (Execute Workflow and
Call-Workflow-Tool nodes, `settings.errorWorkflow`, `settings.callerIds`) are walked here
once, by `rewrite_node` and `rewrite_settings`, for two directions:

- reading (`WorkflowRefs`): an id of one environment becomes `"slug:<canonical slug>"`
  from a map the caller passes in;
- writing (`canonflow.core.deploy`): a `"slug:<canonical slug>"` becomes the id of the
  workflow in the target environment.
"""

import re
from collections.abc import Mapping
from typing import Any, Protocol

REFERENCE_PREFIX = "slug:"

_WORKFLOW_CALLING_NODE_TYPES = frozenset(
    {"n8n-nodes-base.executeWorkflow", "@n8n/n8n-nodes-langchain.toolWorkflow"}
)
_WORKFLOW_URL_ID = re.compile(r"/workflow/([0-9A-Za-z]+)")


class ReferenceRewriter(Protocol):
    """Rewrites the references one walk finds; the walk decides where they are."""

    def rewrite(self, value: str) -> str:
        """The new value of a plain reference (a workflow id, or a slug reference)."""
        ...

    def rewrite_locator(self, locator: dict[str, Any]) -> None:
        """Rewrite a resource locator (`{"__rl": true, "value": str, "mode": ...}`) in place."""
        ...


def rewrite_node(
    node_type: object, parameters: dict[str, Any], rewriter: ReferenceRewriter
) -> None:
    """Rewrite, in place, the called workflow of a workflow-calling node whose source is the
    database (the default): `parameters.workflowId`, a plain string or a resource locator."""
    if not calls_workflows(node_type):
        return
    if parameters.get("source", "database") != "database":
        return
    target = parameters.get("workflowId")
    if isinstance(target, str):
        parameters["workflowId"] = rewriter.rewrite(target)
    elif isinstance(target, dict) and isinstance(target.get("value"), str):
        rewriter.rewrite_locator(target)


def rewrite_settings(settings: dict[str, Any], rewriter: ReferenceRewriter) -> None:
    """Rewrite, in place, `errorWorkflow` and each id of the comma-separated `callerIds`;
    `callerIds` is trimmed, de-duplicated and sorted."""
    error_workflow = settings.get("errorWorkflow")
    if isinstance(error_workflow, str):
        settings["errorWorkflow"] = rewriter.rewrite(error_workflow)
    caller_ids = settings.get("callerIds")
    if isinstance(caller_ids, str):
        ids = sorted({part.strip() for part in caller_ids.split(",")} - {""})
        settings["callerIds"] = ",".join(sorted(rewriter.rewrite(id_) for id_ in ids))


class WorkflowRefs:
    """Resolves the references of one workflow, collecting the ids `refs` does not know.

    Works on normalized copies: the `resolve_*` methods modify what they are given.
    """

    def __init__(self, refs: Mapping[str, str] | None) -> None:
        self._refs = refs
        self.unresolved: set[str] = set()

    def resolve_node(self, node_type: str, parameters: dict[str, Any]) -> None:
        """Replace the called workflow of a workflow-calling node whose source is the database."""
        rewrite_node(node_type, parameters, self)

    def resolve_settings(self, settings: dict[str, Any]) -> None:
        """Replace `errorWorkflow`; trim, de-duplicate, resolve and sort `callerIds`."""
        rewrite_settings(settings, self)

    def rewrite(self, value: str) -> str:
        if self._refs is None or not value or value.startswith("="):
            return value
        slug = self._refs.get(value)
        if slug is None:
            self.unresolved.add(value)
            return value
        return REFERENCE_PREFIX + slug

    def rewrite_locator(self, locator: dict[str, Any]) -> None:
        """An n8n URL in "url" mode becomes the bare slug reference when its id resolves."""
        value: str = locator["value"]
        if locator.get("mode") != "url":
            locator["value"] = self.rewrite(value)
            return
        found = _WORKFLOW_URL_ID.search(value)
        if found is None or self._refs is None or value.startswith("="):
            return
        workflow_id = found.group(1)
        resolved = self.rewrite(workflow_id)
        if resolved != workflow_id:
            locator["value"] = resolved


def workflow_url(workflow_id: str) -> str:
    """A "url" mode value for a workflow id: the path n8n itself writes in `cachedResultUrl`,
    which n8n's own pattern (`.*/workflow/<id>`) accepts."""
    return f"/workflow/{workflow_id}"


def calls_workflows(node_type: object) -> bool:
    """Whether a node of this type names another workflow to run."""
    return node_type in _WORKFLOW_CALLING_NODE_TYPES


def mentions_workflows(workflow: Mapping[str, Any]) -> bool:
    """Whether the workflow may reference another one (so its hash depends on the map):
    its own nodes, or (n8n 2.x, a draft pending) the published version's it runs."""
    published = workflow.get("activeVersion")
    if isinstance(published, Mapping) and _nodes_call_workflows(published.get("nodes")):
        return True
    settings = workflow.get("settings")
    if isinstance(settings, Mapping) and (
        settings.get("errorWorkflow") or settings.get("callerIds")
    ):
        return True
    return _nodes_call_workflows(workflow.get("nodes"))


def _nodes_call_workflows(nodes: object) -> bool:
    return isinstance(nodes, list) and any(
        isinstance(node, Mapping) and calls_workflows(node.get("type")) for node in nodes
    )
