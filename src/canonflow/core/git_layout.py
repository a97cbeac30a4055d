"""The Git layout of DESIGN section 5: `<workflows_dir>/<slug>.json`, one file per workflow.

A file is the workflow as n8n exports it minus what differs between copies of it (ids,
versions, timestamps, sharing, activation, execution data, node ids and webhook ids),
pretty-printed with sorted keys and a trailing newline so diffs stay small and reviewable.
Credentials appear as `{"<type>": {"name": "<name>"}}`: no ids, never secrets. The file is
importable into n8n as it stands.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from canonflow.core.publication import running_form

FILE_SUFFIX = ".json"

#: Top-level fields kept in the file; everything else is volatile or environment-specific.
_KEPT_TOP_LEVEL = ("name", "description", "nodes", "connections", "settings")
#: Node fields that differ between copies of a workflow.
_DROPPED_NODE_FIELDS = frozenset({"id", "webhookId"})


def workflow_file_path(workflows_dir: str, slug: str) -> str:
    """The file of a canonical workflow, relative to the repository root (POSIX)."""
    directory = workflows_dir.strip("/")
    return f"{directory}/{slug}{FILE_SUFFIX}" if directory else f"{slug}{FILE_SUFFIX}"


def slug_of_path(path: str) -> str:
    """The file stem: `workflows/billing.json` → `billing`."""
    name = path.rsplit("/", 1)[-1]
    return name[: -len(FILE_SUFFIX)] if name.endswith(FILE_SUFFIX) else name


def file_document(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow as it is stored in Git (of an n8n 2.x workflow with a pending draft,
    the published version it runs: `canonflow.core.publication.running_form`)."""
    workflow = running_form(workflow)
    document = {key: workflow[key] for key in _KEPT_TOP_LEVEL if workflow.get(key) is not None}
    document["nodes"] = [_file_node(node) for node in workflow.get("nodes") or []]
    document.setdefault("connections", {})
    document.setdefault("settings", {})
    return document


def render_workflow_file(workflow: Mapping[str, Any]) -> bytes:
    """Stable pretty JSON: sorted keys, two-space indent, UTF-8, trailing newline."""
    text = json.dumps(file_document(workflow), indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode()


def _file_node(node: Mapping[str, Any]) -> dict[str, Any]:
    result = {key: value for key, value in node.items() if key not in _DROPPED_NODE_FIELDS}
    credentials = node.get("credentials")
    if isinstance(credentials, Mapping):
        result["credentials"] = {
            credential_type: {"name": _credential_name(credential)}
            for credential_type, credential in credentials.items()
            if _credential_name(credential) is not None
        }
    return result


def _credential_name(credential: object) -> str | None:
    if isinstance(credential, Mapping):
        name = credential.get("name")
        return name if isinstance(name, str) else None
    return credential if isinstance(credential, str) else None
