"""Content hashes: `"v1:" + sha256(canonical_json(normalize(workflow, refs).document))`.

The rules themselves live in `canonflow.core.normalize`; this module only hashes.
"""

import hashlib
from collections.abc import Mapping
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

__all__ = [
    "HASH_PREFIX",
    "HASH_VERSION",
    "InvalidWorkflow",
    "Normalized",
    "content_hash",
    "hash_normalized",
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
