"""What an n8n environment runs: the published version of a workflow, or its one body.

n8n 2.x keeps a draft and a published version of a workflow: an active workflow runs its
published version (`activeVersion` in a listing item), and an edit saved without publishing
(`PUT ...?publishIfActive=false`, or the editor's save) changes only the draft, the
top-level `nodes`/`connections`. canonflow's drift is about what an environment RUNS
(docs/drift-on-n8n-2x.md): while a draft is pending, the environment's content is the
published body, and the draft is kept beside it.

    draft pending  ⇔  active  and  activeVersionId  and  activeVersionId != versionId
                      and activeVersion carries nodes and connections

The published body takes the top-level fields (name, settings, description: n8n versions
only nodes and connections, and publishing keeps the top-level ones) with `activeVersion`'s
`nodes` and `connections`. An inactive workflow and every n8n 1.x workflow (whose PUT
publishes at once, so the two never differ) are their top-level body. An archived workflow
(`isArchived: true`, 2.x's delete) is not present at all.

`canonflow.core.normalize.normalize` and `canonflow.core.git_layout.file_document` read
a workflow through `running_form`, so every hash, definition and diff of an n8n workflow is
of what it runs; `draft_form` gives the draft to hash or diff on purpose.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "DRAFT_NOTE",
    "active_version_id",
    "draft_form",
    "draft_pending",
    "is_archived",
    "published_form",
    "running_form",
]

#: What a cell's detail and a diff say while a draft is pending.
DRAFT_NOTE = "A draft edited in n8n is not published: the environment runs the published version."


def is_archived(workflow: Mapping[str, Any]) -> bool:
    """Whether n8n archived the workflow (it counts as absent: DESIGN §3 `missing`)."""
    return workflow.get("isArchived") is True


def active_version_id(workflow: Mapping[str, Any]) -> str | None:
    """The version the workflow runs (n8n's `activeVersionId`), as a mapping keeps it."""
    value = workflow.get("activeVersionId")
    return value if isinstance(value, str) else None


def draft_pending(workflow: Mapping[str, Any]) -> bool:
    """Whether the workflow runs a published version other than its draft (n8n 2.x)."""
    active_version_id = workflow.get("activeVersionId")
    published = workflow.get("activeVersion")
    return (
        workflow.get("active") is True
        and isinstance(active_version_id, str)
        and bool(active_version_id)
        and active_version_id != workflow.get("versionId")
        and isinstance(published, Mapping)
        and isinstance(published.get("nodes"), list)
        and isinstance(published.get("connections"), Mapping)
    )


def published_form(workflow: Mapping[str, Any]) -> dict[str, Any] | None:
    """The body the environment runs while a draft is pending (None when none is): the
    top-level fields with the published version's nodes and connections."""
    if not draft_pending(workflow):
        return None
    published = workflow["activeVersion"]
    body = {key: value for key, value in workflow.items() if key != "activeVersion"}
    body["nodes"] = published["nodes"]
    body["connections"] = published["connections"]
    body["versionId"] = workflow["activeVersionId"]
    return body


def draft_form(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """The draft: the workflow as listed without its published version."""
    return {key: value for key, value in workflow.items() if key != "activeVersion"}


def running_form(workflow: Mapping[str, Any]) -> Mapping[str, Any]:
    """What the environment runs: the published body while a draft is pending, else the
    workflow as listed."""
    published = published_form(workflow)
    return workflow if published is None else published
