"""Content hashes: `"v1:" + sha256(canonical_json(normalize(workflow, refs).document))`.

The rules themselves live in `canonflow.core.normalize`; this module only hashes.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

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
    "DocumentDigest",
    "InvalidWorkflow",
    "Normalized",
    "body_hash",
    "body_hash_documents",
    "content_hash",
    "digest_documents",
    "hash_documents",
    "hash_normalized",
    "hash_workflows",
    "normalize",
    "parse_workflow",
    "validate_workflow",
    "version_of",
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


def body_hash(workflow: Mapping[str, Any], refs: Mapping[str, str] | None = None) -> str:
    """The content hash with the workflow's name left out: equal for a copy renamed in
    another environment. Auto-linking's last pass matches on it; it is never stored."""
    document = dict(normalize(workflow, refs).document)
    document.pop("name", None)
    return "body:" + hash_normalized(document)


def body_hash_documents(
    raws: Sequence[bytes], refs: Mapping[str, str] | None = None
) -> list[str | None]:
    """`body_hash` of each serialized workflow (None for one that cannot be read). Plain
    data in and out, so it can run in a worker process."""
    results: list[str | None] = []
    for raw in raws:
        try:
            workflow: Any = parse_json(raw)
            results.append(body_hash(workflow, refs))
        except (InvalidWorkflow, TypeError, ValueError):
            results.append(None)
    return results


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


@dataclass(frozen=True)
class DocumentDigest:
    """One workflow file, hashed: its content hash, its name, and its compact JSON (what a
    database stores), or why it could not be read."""

    content_hash: str | None
    problem: str | None = None
    name: str | None = None
    compact_json: str | None = None


def digest_documents(raws: Sequence[bytes]) -> list[DocumentDigest]:
    """Parse, validate, hash and compact each raw workflow file. Plain data in and out, so
    it can run in a worker process and spare the caller from parsing again."""
    digests: list[DocumentDigest] = []
    for raw in raws:
        try:
            workflow: Any = parse_json(raw)
            digest = hash_normalized(normalize(workflow).document)
        except (InvalidWorkflow, TypeError, ValueError) as exc:
            digests.append(DocumentDigest(content_hash=None, problem=str(exc)))
            continue
        name = workflow.get("name")
        digests.append(
            DocumentDigest(
                content_hash=digest,
                name=name if isinstance(name, str) else None,
                compact_json=orjson.dumps(workflow).decode(),
            )
        )
    return digests


def version_of(digest: str | None) -> int | None:
    """The rule version a content hash carries in its prefix ("v1:..." → 1); None for no
    hash or one without a readable prefix (hash it again)."""
    if digest is None or not digest.startswith("v"):
        return None
    version, separator, _rest = digest[1:].partition(":")
    return int(version) if separator and version.isdigit() else None
