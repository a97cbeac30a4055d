"""Content hashes: `"v1:" + sha256(canonical_json(normalize(workflow, refs).document))`.

The rules themselves live in `canonflow.core.normalize`; this module only hashes.
"""

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from canonflow.core.canonical_json import canonical_json
from canonflow.core.normalize import (
    HASH_PREFIX,
    HASH_VERSION,
    InvalidWorkflow,
    Normalized,
    normalize,
    parse_workflow,
    validate_workflow,
)
from canonflow.core.workflow_shape import parse_json

__all__ = [
    "HASH_PREFIX",
    "HASH_VERSION",
    "InvalidWorkflow",
    "Normalized",
    "content_hash",
    "hash_documents",
    "hash_normalized",
    "hash_workflows",
    "normalize",
    "parse_workflow",
    "validate_workflow",
]


def hash_normalized(document: Mapping[str, Any]) -> str:
    """Hash an already normalized document: the version prefix and a SHA-256 hex digest."""
    return HASH_PREFIX + hashlib.sha256(canonical_json(document)).hexdigest()


def content_hash(workflow: Mapping[str, Any], refs: Mapping[str, str] | None = None) -> str:
    """The content hash of one workflow (see `canonflow.core.normalize` for the rules).

    Use `normalize` and `hash_normalized` instead when the unresolved references are needed.
    Raises InvalidWorkflow if `workflow` does not have the shape of an n8n workflow.
    """
    return hash_normalized(normalize(workflow, refs).document)


def hash_documents(
    raws: Sequence[bytes], refs: Mapping[str, str] | None = None
) -> list[tuple[str | None, str | None]]:
    """Hash serialized workflows: `(hash, None)` each, or `(None, reason)` for one that is
    not valid JSON or not a workflow. Plain data in and out, so it can run in a worker
    process."""
    results: list[tuple[str | None, str | None]] = []
    for raw in raws:
        try:
            workflow: Any = parse_json(raw)
        except InvalidWorkflow as exc:
            results.append((None, str(exc)))
            continue
        results += hash_workflows([workflow], refs)
    return results


def hash_workflows(
    workflows: Sequence[Mapping[str, Any]], refs: Mapping[str, str] | None = None
) -> list[tuple[str | None, str | None]]:
    """Like `hash_documents`, for workflows already parsed."""
    results: list[tuple[str | None, str | None]] = []
    for workflow in workflows:
        try:
            results.append((hash_normalized(normalize(workflow, refs).document), None))
        except (InvalidWorkflow, TypeError, ValueError) as exc:
            results.append((None, str(exc)))
    return results
