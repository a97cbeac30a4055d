"""Apply batches of listed workflows to the environment's mappings.

The environment's mappings are read page by page, those of the listed page's ids (and the
references its workflows name), so memory does not grow with the environment: at 50,000
workflows only the ids seen in this run stay in memory (for the missing marking at the end,
~5 MB). `prepare` decides a batch outside
any transaction (hashing is the costly part, and a workflow whose `updatedAt`, name,
`active` and `activeVersionId` did not move is not hashed again: n8n moves no `updatedAt`
when it activates, deactivates or publishes); `write` stores it in one short transaction. An
update applies only if the mapping's status is still the one read: a user who ignored a
workflow meanwhile keeps their choice.

An archived workflow (`isArchived: true`, n8n 2.x's delete) is not seen: a complete sync
marks its mapping missing, and it is seen again once unarchived. While a draft is pending
(n8n 2.x), the environment's hash is the published version's and the draft's is kept
beside it (`canonflow.core.publication`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.definitions import referenced_ids
from canonflow.core.hashing import HASH_VERSION, version_of
from canonflow.core.publication import active_version_id, is_archived
from canonflow.core.status import (
    MappingEvent,
    MappingFacts,
    MappingState,
    MappingStatus,
    step,
    transition,
)
from canonflow.db.engine import read_transaction, transaction
from canonflow.db.types import RawJSON, utcnow
from canonflow.sync import mappings
from canonflow.sync.mappings import ExistingMapping
from canonflow.sync.records import SeenWorkflow, parse_timestamp, seen_workflow, stored_form

UPDATED_COLUMNS = (
    "env_content_hash",
    "env_hash_version",
    "n8n_draft_hash",
    "n8n_active",
    "n8n_active_version_id",
    "present",
    "workflow_name",
    "n8n_updated_at",
    "workflow_data",
    "status",
    "status_changed_at",
    "updated_at",
)


#: A workflow's content hash (of what it runs), why it has none, and its pending draft's hash.
HashOutcome = tuple[str | None, str | None, str | None]


@dataclass
class Selection:
    to_hash: list[tuple[Mapping[str, Any], ExistingMapping | None]] = field(default_factory=list)
    unchanged: int = 0
    serialized: list[bytes] | None = None  # set by `serialize`

    def serialize(self) -> list[bytes]:
        """The workflows to hash in their stored form as JSON bytes: cheap to hand to a
        worker process, and kept to be stored as they are (serialized once, not twice)."""
        self.serialized = [orjson.dumps(stored_form(workflow)) for workflow, _row in self.to_hash]
        return self.serialized


@dataclass
class PreparedBatch:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    updated: int = 0  # known once written
    problems: list[dict[str, str]] = field(default_factory=list)


@dataclass
class BatchApplier:
    sessions: sessionmaker[Session]
    tenant_id: uuid.UUID
    environment_id: uuid.UUID
    trust_timestamps: bool
    seen_ids: set[str] = field(default_factory=set)
    archived: int = 0  # listed items skipped as archived (they count as absent)

    def select(self, workflows: Sequence[Mapping[str, Any]]) -> Selection:
        """Which workflows of a page need hashing: not those already seen in this run, nor
        archived ones (absent), nor those whose `updatedAt`, name and publication did not move."""
        selection = Selection()
        fresh = self._first_sightings(workflows)
        with read_transaction(self.sessions) as session:
            existing = mappings.existing_for(session, self.tenant_id, self.environment_id, fresh)
        for n8n_id, workflow in fresh.items():
            row = existing.get(n8n_id)
            if row is not None and self._untouched(row, workflow):
                selection.unchanged += 1
            else:
                selection.to_hash.append((workflow, row))
        return selection

    def refs_for(self, selection: Selection) -> dict[str, str]:
        """n8n id → canonical slug for the workflows the selection's workflows reference
        (most reference none: no query then)."""
        wanted: set[str] = set()
        for workflow, _row in selection.to_hash:
            wanted |= referenced_ids(workflow)
            published = workflow.get("activeVersion")  # n8n 2.x: what it runs, if a draft
            if isinstance(published, Mapping):
                wanted |= referenced_ids(published)
        if not wanted:
            return {}
        with read_transaction(self.sessions) as session:
            return mappings.reference_slugs(
                session, self.tenant_id, self.environment_id, only=wanted
            )

    def prepare(self, selection: Selection, hashes: Sequence[HashOutcome]) -> PreparedBatch:
        """The rows to write for a selection, given the hashes of its workflows."""
        batch = PreparedBatch(unchanged=selection.unchanged)
        now = utcnow()
        stored: Sequence[bytes | None] = selection.serialized or [None] * len(selection.to_hash)
        for (workflow, row), (digest, problem, draft), text in zip(
            selection.to_hash, hashes, stored, strict=True
        ):
            raw = RawJSON(text.decode()) if text is not None else None
            seen = seen_workflow(workflow, digest, problem, raw, draft_hash=draft)
            if seen.problem:
                batch.problems.append({"n8n_workflow_id": seen.n8n_id, "problem": seen.problem})
            if row is None:
                batch.inserts.append(self._new_row(seen, now))
                new = batch.inserts[-1]
                batch.events.append(self.event(new["id"], None, None, new["status"], now))
                continue
            change = self._changed_row(row, seen, now)
            if change is None:
                batch.unchanged += 1
            else:
                batch.updates.append(change)
        return batch

    def write(self, batch: PreparedBatch) -> None:
        """Store a prepared batch in one transaction; sets `batch.updated`."""
        if not (batch.inserts or batch.updates or batch.events):
            return
        now = utcnow()
        with transaction(self.sessions) as session:
            mappings.insert_mappings(session, batch.inserts)
            skipped = mappings.update_if_status_unchanged(session, batch.updates, UPDATED_COLUMNS)
            events = batch.events + [
                self.event(u["id"], u["canonical_id"], u["expected_status"], u["status"], now)
                for u in batch.updates
                if u["status"] != u["expected_status"] and u["id"] not in skipped
            ]
            mappings.insert_status_events(session, events)
            record_state_changes(
                session,
                self.tenant_id,
                StateCause.ENV_SYNC,
                mapping_ids=[row["id"] for row in batch.inserts + batch.updates],
                at=now,
            )
        batch.updated = len(batch.updates) - len(skipped)

    def _first_sightings(
        self, workflows: Sequence[Mapping[str, Any]]
    ) -> dict[str, Mapping[str, Any]]:
        """n8n's offset cursor can repeat an item when the list shifts: keep the first.
        An archived workflow is not seen (so a complete sync marks it absent)."""
        fresh: dict[str, Mapping[str, Any]] = {}
        for workflow in workflows:
            n8n_id = workflow.get("id")
            if is_archived(workflow):
                self.archived += 1
                continue
            if isinstance(n8n_id, str) and n8n_id not in self.seen_ids:
                self.seen_ids.add(n8n_id)
                fresh[n8n_id] = workflow
        return fresh

    def _untouched(self, row: ExistingMapping, workflow: Mapping[str, Any]) -> bool:
        """Nothing to hash or store: listed as it was (name, `updatedAt`, and whether and
        which version it runs: publishing moves no `updatedAt`), hashed by the current
        rules, and already known to be present."""
        return (
            self.trust_timestamps
            and row.env_content_hash is not None
            and row.env_hash_version == HASH_VERSION
            and row.present
            and row.workflow_name == workflow.get("name")
            and row.n8n_updated_at == parse_timestamp(workflow.get("updatedAt"))
            and row.n8n_active is (workflow.get("active") is True)
            and row.n8n_active_version_id == active_version_id(workflow)
            and _seen_status(row) == row.status
        )

    def _new_row(self, seen: SeenWorkflow, now: datetime) -> dict[str, Any]:
        status = transition(
            None, MappingEvent.SYNC_SEEN, MappingFacts(has_canonical=False, present=True)
        )
        return {
            "id": uuid.uuid4(),
            "tenant_id": self.tenant_id,
            "environment_id": self.environment_id,
            "n8n_workflow_id": seen.n8n_id,
            "canonical_id": None,
            "status": status,
            "env_content_hash": seen.content_hash,
            "env_hash_version": version_of(seen.content_hash),
            "n8n_draft_hash": seen.draft_hash,
            "n8n_active": seen.active,
            "n8n_active_version_id": seen.active_version_id,
            "present": True,
            "released_canonical_id": None,
            "git_content_hash": None,
            "base_content_hash": None,
            "workflow_name": seen.name,
            "n8n_updated_at": seen.updated_at,
            "workflow_data": seen.data,
            "is_deleted": False,
            "status_changed_at": now,
            "created_at": now,
            "updated_at": now,
        }

    def _changed_row(
        self, row: ExistingMapping, seen: SeenWorkflow, now: datetime
    ) -> dict[str, Any] | None:
        status = _seen_status(row)
        version = version_of(seen.content_hash)
        now_seen = (status, seen.content_hash, version, seen.name, seen.updated_at, True)
        publication = (seen.draft_hash, seen.active, seen.active_version_id)
        if now_seen + publication == (
            row.status,
            row.env_content_hash,
            row.env_hash_version,
            row.workflow_name,
            row.n8n_updated_at,
            row.present,
            row.n8n_draft_hash,
            row.n8n_active,
            row.n8n_active_version_id,
        ):
            return None
        return {
            "id": row.id,
            "canonical_id": row.canonical_id,
            "expected_status": row.status,
            "status": status,
            "status_changed_at": now if status != row.status else row.status_changed_at,
            "env_content_hash": seen.content_hash,
            "env_hash_version": version,
            "n8n_draft_hash": seen.draft_hash,
            "n8n_active": seen.active,
            "n8n_active_version_id": seen.active_version_id,
            "present": True,
            "workflow_name": seen.name,
            "n8n_updated_at": seen.updated_at,
            "workflow_data": seen.data,
            "updated_at": now,
        }

    def event(
        self,
        mapping_id: uuid.UUID,
        canonical_id: uuid.UUID | None,
        old: MappingStatus | None,
        new: MappingStatus,
        now: datetime,
    ) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "tenant_id": self.tenant_id,
            "mapping_id": mapping_id,
            "canonical_id": canonical_id,
            "environment_id": self.environment_id,
            "from_status": old,
            "to_status": new,
            "at": now,
        }


def _seen_status(row: ExistingMapping) -> MappingStatus:
    facts = MappingFacts(has_canonical=row.canonical_id is not None, present=True)
    return transition(row.status, MappingEvent.SYNC_SEEN, facts)


def _after(row: ExistingMapping, event: MappingEvent) -> MappingState:
    facts = MappingFacts(has_canonical=row.canonical_id is not None, present=row.present)
    return step(MappingState(row.status, facts), event)


def absent_state(row: ExistingMapping) -> MappingState:
    """The mapping's state once a complete sync did not list it."""
    return _after(row, MappingEvent.SYNC_ABSENT)
