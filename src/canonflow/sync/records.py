"""Turn one n8n workflow into the values a mapping row holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from canonflow.core.publication import active_version_id
from canonflow.db.types import RawJSON

#: Not stored with a mapping: execution data pinned in the editor, not workflow content.
_NOT_STORED = ("pinData",)


@dataclass(frozen=True)
class SeenWorkflow:
    n8n_id: str
    name: str | None
    content_hash: str | None
    updated_at: datetime | None
    data: dict[str, Any] | RawJSON
    problem: str | None = None
    draft_hash: str | None = None  # n8n 2.x: the pending draft's hash, when it differs
    active: bool = False
    active_version_id: str | None = None


def stored_form(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """What a mapping keeps of a listed workflow (the content hash does not read the rest)."""
    return {key: value for key, value in workflow.items() if key not in _NOT_STORED}


def seen_workflow(
    workflow: Mapping[str, Any],
    content_hash: str | None,
    problem: str | None,
    stored: RawJSON | None = None,
    *,
    draft_hash: str | None = None,
) -> SeenWorkflow:
    """The record of one listed workflow, given its hash (or why it has none) and its
    pending draft's; `stored`: its stored form already serialized (`stored_form`), to keep
    as it is."""
    name = workflow.get("name")
    return SeenWorkflow(
        n8n_id=str(workflow["id"]),
        name=name if isinstance(name, str) else None,
        content_hash=content_hash,
        updated_at=parse_timestamp(workflow.get("updatedAt")),
        data=stored if stored is not None else stored_form(workflow),
        problem=problem,
        draft_hash=draft_hash,
        active=workflow.get("active") is True,
        active_version_id=active_version_id(workflow),
    )


def parse_timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
