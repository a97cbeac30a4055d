"""The bulk writes of linking: new canonical workflows from mappings, and links.

Both the inventory (thousands at once) and a single link go through here, so a link made
by hand and one made by onboarding leave the same rows: the canonical's definition is the
workflow's Git file (references as slugs), its hash is the environment's hash, and the
link records that both sides agree (`base_content_hash`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, null, select
from sqlalchemy.orm import Session

from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.definitions import canonical_definition
from canonflow.core.enums import WorkflowProvider
from canonflow.core.git_layout import workflow_file_path
from canonflow.core.hashing import HASH_VERSION, InvalidWorkflow, version_of
from canonflow.core.status import MappingEvent, MappingFacts, MappingStatus, transition
from canonflow.db.models import CanonicalWorkflow, StatusEvent, WorkflowEnvMap
from canonflow.db.types import RawJSON, utcnow
from canonflow.sync import mappings

CANONICALS: Table = CanonicalWorkflow.__table__  # type: ignore[assignment]
STATUS_EVENTS: Table = StatusEvent.__table__  # type: ignore[assignment]
_LINK_COLUMNS = (
    "canonical_id",
    "git_content_hash",
    "base_content_hash",
    "env_content_hash",
    "env_hash_version",
    "status",
    "status_changed_at",
    "updated_at",
)


@dataclass(frozen=True)
class MappingRow:
    id: uuid.UUID
    environment_id: uuid.UUID
    n8n_workflow_id: str
    status: MappingStatus
    workflow_name: str | None
    workflow_data: dict[str, Any] | None
    env_content_hash: str | None
    present: bool = True  # whether the last complete sync listed the workflow
    n8n_draft_hash: str | None = None  # n8n 2.x: a pending draft's hash (what runs differs)


@dataclass
class CreatedCanonicals:
    links: list[NewLink]
    unresolved: dict[str, list[str]]  # slug → references that name no canonical
    invalid: dict[uuid.UUID, str]  # mapping id → why its workflow cannot be canonical


@dataclass(frozen=True)
class NewLink:
    mapping: MappingRow
    canonical_id: uuid.UUID
    git_hash: str | None
    env_hash: str | None  # recomputed with the references now known; None keeps the stored


def mapping_rows(session: Session, *conditions: Any, with_data: bool = True) -> list[MappingRow]:
    """The mappings matching `conditions`; `with_data=False` skips their workflow JSON (the
    heavy part) when only the link fields are needed."""
    data = WorkflowEnvMap.workflow_data if with_data else null()
    rows = session.execute(
        select(
            WorkflowEnvMap.id,
            WorkflowEnvMap.environment_id,
            WorkflowEnvMap.n8n_workflow_id,
            WorkflowEnvMap.status,
            WorkflowEnvMap.workflow_name,
            data,
            WorkflowEnvMap.env_content_hash,
            WorkflowEnvMap.present,
            WorkflowEnvMap.n8n_draft_hash,
        ).where(*conditions)
    )
    return [MappingRow(*row) for row in rows]


def create_canonicals(
    session: Session,
    tenant_id: uuid.UUID,
    slugs: Mapping[uuid.UUID, str],
    rows: Iterable[MappingRow],
    *,
    refs: Mapping[str, str],
    workflows_dir: str | None,
    now: datetime,
    documents: Mapping[str, tuple[str, bytes]] | None = None,
) -> CreatedCanonicals:
    """One canonical workflow per mapping (slug from `slugs`), and the links to make.

    `documents`: n8n id → (content hash, Git document as compact JSON) of workflows that
    reference no other one, made while the environment was hashed; a row whose stored
    hash is that hash takes its document as it is (its JSON is not needed)."""
    inserts: list[dict[str, Any]] = []
    created = CreatedCanonicals([], {}, {})
    for row in rows:
        slug = slugs[row.id]
        prepared = (documents or {}).get(row.n8n_workflow_id)
        document: dict[str, Any] | RawJSON
        if prepared is not None and prepared[0] == row.env_content_hash:
            digest, document = prepared[0], RawJSON(prepared[1].decode())
        elif row.workflow_data is None:
            created.invalid[row.id] = "its workflow was not listed: sync the environment again"
            continue
        else:
            try:
                definition = canonical_definition(
                    row.workflow_data, refs, known_hash=row.env_content_hash
                )
            except (InvalidWorkflow, TypeError, ValueError) as exc:
                created.invalid[row.id] = str(exc)
                continue
            digest, document = definition.content_hash, definition.document
            if definition.unresolved_refs:
                created.unresolved[slug] = sorted(definition.unresolved_refs)
        canonical_id = uuid.uuid4()
        inserts.append(
            {
                "id": canonical_id,
                "tenant_id": tenant_id,
                "canonical_slug": slug,
                "name": row.workflow_name or slug,
                "content_hash": digest,
                "hash_version": HASH_VERSION,
                "workflow_definition": document,
                "git_file_path": workflow_file_path(workflows_dir, slug)
                if workflows_dir is not None
                else None,
                "git_commit": None,
                "git_blob_id": None,
                "provider": WorkflowProvider.N8N,
                "is_deleted": False,
                "created_at": now,
                "updated_at": now,
            }
        )
        # Both sides are this one workflow: the environment's hash is the canonical's.
        created.links.append(NewLink(row, canonical_id, digest, digest))
    for start in range(0, len(inserts), 1000):
        session.execute(insert(CANONICALS), inserts[start : start + 1000])
    return created


def apply_links(
    session: Session,
    tenant_id: uuid.UUID,
    links: list[NewLink],
    *,
    cause: StateCause | None = StateCause.LINK,
) -> set[uuid.UUID]:
    """Link each mapping, guarded: one whose status changed since it was read (a user, a
    sync) is left alone. The link records agreement: base = the Git side. A missing or
    deleted mapping holding the canonical in that environment lets go of it (DESIGN
    section 3). Returns the mapping ids linked. The state changes are recorded with `cause`
    (None: the caller records them once its flow is done)."""
    now = utcnow()
    updates: list[dict[str, Any]] = []
    for link in links:
        row = link.mapping
        facts = MappingFacts(has_canonical=True, present=row.present)
        updates.append(
            {
                "id": row.id,
                "environment_id": row.environment_id,
                "expected_status": row.status,
                "canonical_id": link.canonical_id,
                "git_content_hash": link.git_hash,
                "base_content_hash": link.git_hash,
                "env_content_hash": link.env_hash or row.env_content_hash,
                "env_hash_version": version_of(link.env_hash or row.env_content_hash),
                "status": transition(row.status, MappingEvent.USER_LINKED, facts),
                "status_changed_at": now,
                "updated_at": now,
            }
        )
    released: dict[uuid.UUID, uuid.UUID] = {}
    for environment_id in {u["environment_id"] for u in updates}:
        targets = [u["canonical_id"] for u in updates if u["environment_id"] == environment_id]
        released |= mappings.release_replaced(session, tenant_id, environment_id, targets)
    skipped = mappings.update_if_status_unchanged(session, updates, _LINK_COLUMNS)
    done = [u for u in updates if u["id"] not in skipped]
    mappings.reclaim_released(session, released, [u["canonical_id"] for u in done])
    events = [
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "mapping_id": u["id"],
            "canonical_id": u["canonical_id"],
            "environment_id": u["environment_id"],
            "from_status": u["expected_status"],
            "to_status": u["status"],
            "at": now,
        }
        for u in done
        if u["status"] != u["expected_status"]
    ]
    if events:
        session.execute(insert(STATUS_EVENTS), events)
    if cause is not None:
        ids = [u["id"] for u in done]
        record_state_changes(session, tenant_id, cause, mapping_ids=ids, at=now)
    return {u["id"] for u in done}
