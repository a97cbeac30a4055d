"""Rule 9 of `canonflow.core.normalize`: workflow references become canonical slugs.

n8n workflow ids differ per environment, so where a workflow names another one (Execute
Workflow and Call-Workflow-Tool nodes, `settings.errorWorkflow`, `settings.callerIds`) the
id is replaced by `"slug:<canonical slug>"` from a map the caller passes in.
"""

import re
from collections.abc import Mapping
from typing import Any

REFERENCE_PREFIX = "slug:"

_WORKFLOW_CALLING_NODE_TYPES = frozenset(
    {"n8n-nodes-base.executeWorkflow", "@n8n/n8n-nodes-langchain.toolWorkflow"}
)
_WORKFLOW_URL_ID = re.compile(r"/workflow/([0-9A-Za-z]+)")


class WorkflowRefs:
    """Resolves the references of one workflow, collecting the ids `refs` does not know.

    Works on normalized copies: the `resolve_*` methods modify what they are given.
    """

    def __init__(self, refs: Mapping[str, str] | None) -> None:
        self._refs = refs
        self.unresolved: set[str] = set()

    def resolve_node(self, node_type: str, parameters: dict[str, Any]) -> None:
        """Replace the called workflow of a workflow-calling node whose source is the database."""
        if node_type not in _WORKFLOW_CALLING_NODE_TYPES:
            return
        if parameters.get("source", "database") != "database":
            return
        target = parameters.get("workflowId")
        if isinstance(target, str):
            parameters["workflowId"] = self._resolve(target)
        elif isinstance(target, dict) and isinstance(target.get("value"), str):
            target["value"] = self._resolve_locator(target["value"], target.get("mode"))

    def resolve_settings(self, settings: dict[str, Any]) -> None:
        """Replace `errorWorkflow`; trim, de-duplicate, resolve and sort `callerIds`."""
        error_workflow = settings.get("errorWorkflow")
        if isinstance(error_workflow, str):
            settings["errorWorkflow"] = self._resolve(error_workflow)
        caller_ids = settings.get("callerIds")
        if isinstance(caller_ids, str):
            ids = {part.strip() for part in caller_ids.split(",")} - {""}
            settings["callerIds"] = ",".join(sorted(self._resolve(id_) for id_ in ids))

    def _resolve(self, workflow_id: str) -> str:
        if self._refs is None or not workflow_id or workflow_id.startswith("="):
            return workflow_id
        slug = self._refs.get(workflow_id)
        if slug is None:
            self.unresolved.add(workflow_id)
            return workflow_id
        return REFERENCE_PREFIX + slug

    def _resolve_locator(self, value: str, mode: object) -> str:
        if mode != "url":
            return self._resolve(value)
        found = _WORKFLOW_URL_ID.search(value)
        if found is None or self._refs is None or value.startswith("="):
            return value
        workflow_id = found.group(1)
        resolved = self._resolve(workflow_id)
        return value if resolved == workflow_id else resolved


def calls_workflows(node_type: object) -> bool:
    """Whether a node of this type names another workflow to run."""
    return node_type in _WORKFLOW_CALLING_NODE_TYPES


def mentions_workflows(workflow: Mapping[str, Any]) -> bool:
    """Whether the workflow may reference another one (so its hash depends on the map)."""
    settings = workflow.get("settings")
    if isinstance(settings, Mapping) and (
        settings.get("errorWorkflow") or settings.get("callerIds")
    ):
        return True
    nodes = workflow.get("nodes")
    return isinstance(nodes, list) and any(
        isinstance(node, Mapping) and calls_workflows(node.get("type")) for node in nodes
    )
