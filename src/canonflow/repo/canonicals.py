"""Reading workflow files from Git and writing canonical workflows for the repo sync."""

from __future__ import annotations

import dataclasses
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.enums import WorkflowProvider
from canonflow.core.git_files import (
    CandidateFile,
    FilePlan,
    KnownCanonical,
    is_same_workflow,
    slug_for_path,
)
from canonflow.core.hashing import (
    HASH_VERSION,
    DocumentDigest,
    digest_documents,
    hash_normalized,
)
from canonflow.core.normalize import normalize
from canonflow.core.workflow_shape import InvalidWorkflow, parse_workflow
from canonflow.db.models import CanonicalWorkflow, WorkflowEnvMap
from canonflow.db.types import RawJSON, utcnow
from canonflow.git import GitRepository
from canonflow.parallel import cpu_pool

MAPPINGS: Table = WorkflowEnvMap.__table__  # type: ignore[assignment]
CANONICALS: Table = CanonicalWorkflow.__table__  # type: ignore[assignment]
READ_CHUNK = 500
WRITE_CHUNK = 1000
POOL_MIN_FILES = 2000  # below this, spawning workers costs more than it saves
POOL_AHEAD = 3  # chunks hashed ahead of the parsing

Planned = tuple[CandidateFile, str, uuid.UUID | None]


@dataclass(frozen=True)
class ParsedFile:
    file: CandidateFile
    slug: str
    canonical_id: uuid.UUID | None
    name: str | None
    definition: RawJSON  # compact JSON from the hashing step: not parsed again here
    content_hash: str


@dataclass
class ApplyOutcome:
    created: int = 0
    updated: int = 0
    renamed: int = 0
    deleted: int = 0


def known(session: Session, tenant_id: uuid.UUID) -> list[KnownCanonical]:
    rows = session.execute(
        select(
            CanonicalWorkflow.id,
            CanonicalWorkflow.canonical_slug.label("slug"),
            CanonicalWorkflow.git_file_path.label("path"),
            CanonicalWorkflow.git_blob_id.label("blob_id"),
            CanonicalWorkflow.is_deleted,
            CanonicalWorkflow.name,
            CanonicalWorkflow.content_hash,
            CanonicalWorkflow.hash_version,
        ).where(CanonicalWorkflow.tenant_id == tenant_id)
    )
    return [KnownCanonical(**row._mapping) for row in rows]


def with_renames(
    rows: Iterable[KnownCanonical], renames: dict[uuid.UUID, str]
) -> list[KnownCanonical]:
    return [
        dataclasses.replace(row, path=renames[row.id], slug=slug_for_path(renames[row.id]))
        if row.id in renames
        else row
        for row in rows
    ]


def read_files(
    git: GitRepository,
    plan: FilePlan,
    skipped: list[dict[str, str]],
    progress: Callable[[int, int | None], None],
    total: int,
) -> list[ParsedFile]:
    """Read, parse and hash the files to apply; a bad file joins `skipped` with its reason.

    Hashing is CPU-bound: for large sets it runs in worker processes, a few chunks ahead of
    the parsing here, so the second core works too."""
    chunks = [plan.apply[i : i + READ_CHUNK] for i in range(0, len(plan.apply), READ_CHUNK)]
    parsed: list[ParsedFile] = []
    done = len(plan.unchanged) + len(plan.skipped)
    pending: deque[tuple[list[Planned], list[bytes], Future[list[DocumentDigest]]]] = deque()
    with cpu_pool(jobs=len(plan.apply), min_jobs=POOL_MIN_FILES) as pool:
        for chunk in chunks:
            blobs = dict(git.read_blobs([candidate.blob_id for candidate, _s, _o in chunk]))
            raws = [blobs[candidate.blob_id] for candidate, _s, _o in chunk]
            pending.append((chunk, raws, pool.submit(digest_documents, raws)))
            if len(pending) > POOL_AHEAD:
                done += _collect(*pending.popleft(), parsed, skipped)
                progress(done, total)
        while pending:
            done += _collect(*pending.popleft(), parsed, skipped)
            progress(done, total)
    return parsed


def _collect(
    chunk: list[Planned],
    raws: list[bytes],
    hashed: Future[list[DocumentDigest]],
    parsed: list[ParsedFile],
    skipped: list[dict[str, str]],
) -> int:
    try:
        outcomes = hashed.result()
    except BrokenProcessPool:  # a worker process died: hash here instead
        outcomes = digest_documents(raws)
    for (candidate, slug, owner), digest in zip(chunk, outcomes, strict=True):
        if digest.content_hash is None or digest.compact_json is None:
            skipped.append({"path": candidate.path, "reason": digest.problem or "unreadable"})
            continue
        parsed.append(
            ParsedFile(
                candidate,
                slug,
                owner,
                digest.name,
                RawJSON(digest.compact_json),
                digest.content_hash,
            )
        )
    return len(chunk)


def apply(
    session: Session,
    tenant_id: uuid.UUID,
    parsed: list[ParsedFile],
    *,
    head: str,
    deleted: list[uuid.UUID],
    renames: dict[uuid.UUID, str],
) -> ApplyOutcome:
    outcome = ApplyOutcome()
    now = utcnow()
    existing = {
        row.id: row
        for row in session.scalars(
            select(CanonicalWorkflow).where(
                CanonicalWorkflow.tenant_id == tenant_id,
                CanonicalWorkflow.id.in_(
                    [p.canonical_id for p in parsed if p.canonical_id] + list(renames) + deleted
                ),
            )
        )
    }
    for canonical_id, path in renames.items():
        row = existing[canonical_id]
        row.git_file_path, row.canonical_slug, row.git_commit = path, slug_for_path(path), head
        outcome.renamed += 1
    for canonical_id in deleted:
        row = existing[canonical_id]
        row.is_deleted, row.git_commit, row.updated_at = True, head, now
        outcome.deleted += 1
    session.flush()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changed_hashes: list[dict[str, Any]] = []
    for item in parsed:
        values = _values(item, head, now)
        if item.canonical_id is None:
            inserts.append(values | {"id": uuid.uuid4(), "tenant_id": tenant_id, "created_at": now})
            continue
        if existing[item.canonical_id].content_hash != item.content_hash:
            changed_hashes.append({"key": item.canonical_id, "hash": item.content_hash})
        updates.append(values | {"id": item.canonical_id})
    for start in range(0, len(inserts), WRITE_CHUNK):  # bulk: no ORM bookkeeping per row
        session.execute(insert(CANONICALS), inserts[start : start + WRITE_CHUNK])
    if updates:
        session.execute(update(CanonicalWorkflow), updates)
    if changed_hashes:
        session.execute(
            update(MAPPINGS)
            .where(MAPPINGS.c.canonical_id == bindparam("key"))
            .values(git_content_hash=bindparam("hash")),
            changed_hashes,
        )
    outcome.created, outcome.updated = len(inserts), len(updates)
    # New canonical workflows have no mapping yet; changed and deleted ones may change state.
    touched = deleted + [u["id"] for u in updates]
    record_state_changes(session, tenant_id, StateCause.REPO_SYNC, canonical_ids=touched, at=now)
    return outcome


def _values(item: ParsedFile, head: str, now: datetime) -> dict[str, Any]:
    name = item.name
    return {
        "canonical_slug": item.slug,
        "name": name if isinstance(name, str) and name else item.slug,
        "content_hash": item.content_hash,
        "hash_version": HASH_VERSION,
        "workflow_definition": item.definition,
        "git_file_path": item.file.path,
        "git_blob_id": item.file.blob_id,
        "git_commit": head,
        "is_deleted": False,
        "provider": WorkflowProvider.N8N,
        "updated_at": now,
    }


def renamed_is_same(git: GitRepository, old: KnownCanonical, blob_id: str) -> bool:
    """Read a renamed file's new content and decide whether it is the same workflow."""
    if old.blob_id == blob_id:
        return True
    try:
        workflow = parse_workflow(git.read_blob(blob_id))
        digest: str | None = hash_normalized(normalize(workflow).document)
    except InvalidWorkflow:
        return False
    return is_same_workflow(old, blob_id=blob_id, name=workflow.get("name"), content_hash=digest)
