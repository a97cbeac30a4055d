"""Sync one environment: list n8n page by page, upsert mappings in batches, apply DESIGN §3.

This is a job flow: it commits per batch, so a crash keeps the finished batches (true facts)
and a retry converges. Only a run that listed the whole environment marks anything missing.
One run at a time per environment (a lease that works across processes).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from canonflow.core.autolink import Candidate, plan_auto_links
from canonflow.core.enums import SyncKind
from canonflow.core.status import MappingEvent, MappingFacts, MappingStatus, transition
from canonflow.crypto import SecretBox
from canonflow.db import leases
from canonflow.db.engine import transaction
from canonflow.db.models import Environment, SyncRun
from canonflow.db.types import utcnow
from canonflow.environments import service as environments
from canonflow.environments.service import EnvironmentAccess
from canonflow.errors import Unavailable
from canonflow.n8n import N8nClient, N8nError
from canonflow.sync import mappings
from canonflow.sync.prefetch import Prefetcher
from canonflow.sync.records import SeenWorkflow, seen_workflow

log = structlog.get_logger(__name__)
LEASE_TTL = timedelta(minutes=5)
PAGE_SIZE = 250  # the largest page n8n 1.x accepts

ProgressCallback = Callable[[int, int | None], None]
ClientFactory = Callable[[EnvironmentAccess], N8nClient]


@dataclass
class SyncResult:
    run_id: uuid.UUID
    environment: str
    complete: bool = False
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    auto_linked: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)
    not_marked_missing_because: str | None = None
    error: str | None = None
    duration_ms: int = 0

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"run_id": str(self.run_id)}


def default_client(access: EnvironmentAccess) -> N8nClient:
    return N8nClient(access.base_url, access.api_key)


def sync_environment(
    sessions: sessionmaker[Session],
    secrets: SecretBox,
    *,
    tenant_id: uuid.UUID,
    environment_id: uuid.UUID,
    job_id: uuid.UUID | None = None,
    progress: ProgressCallback | None = None,
    client_factory: ClientFactory = default_client,
) -> SyncResult:
    """Run one environment sync and record it in `sync_runs`. Raises on failure."""
    with transaction(sessions) as session:
        environment = environments.get_or_raise(session, tenant_id, environment_id)
        access = environments.access(session, secrets, environment)
        run = SyncRun(
            tenant_id=tenant_id,
            kind=SyncKind.ENVIRONMENT,
            environment_id=environment_id,
            job_id=job_id,
        )
        session.add(run)
        session.flush()
        result = SyncResult(run_id=run.id, environment=access.name)
    started = time.monotonic()
    try:
        with leases.held(
            sessions,
            name=f"environment-sync:{environment_id}",
            tenant_id=tenant_id,
            ttl=LEASE_TTL,
            busy_message=f"a sync of environment {access.name!r} is already running",
        ) as lease:
            _Run(sessions, access, result, progress, lease.renew).execute(client_factory)
    except N8nError as exc:
        result.error = f"environment {access.name!r}: {exc.message}"
        raise Unavailable(result.error) from exc
    except Exception as exc:
        result.error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        raise
    finally:
        result.duration_ms = int((time.monotonic() - started) * 1000)
        _record_run(sessions, result)
    return result


class _Run:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        access: EnvironmentAccess,
        result: SyncResult,
        progress: ProgressCallback | None,
        keep_alive: Callable[[], None],
    ) -> None:
        self.sessions = sessions
        self.access = access
        self.result = result
        self.progress = progress or (lambda _done, _total: None)
        self.keep_alive = keep_alive
        self.seen_ids: set[str] = set()
        self.created_ids: list[uuid.UUID] = []

    def execute(self, client_factory: ClientFactory) -> None:
        with transaction(self.sessions) as session:
            refs = mappings.reference_slugs(session, self.access.environment_id)
        with (
            client_factory(self.access) as client,
            Prefetcher(client.iter_workflow_pages(limit=PAGE_SIZE)) as pages,
        ):
            for page in pages:
                for batch in _chunks(page.workflows, self.access.batch_size):
                    self._apply_batch([seen_workflow(wf, refs) for wf in batch if "id" in wf])
                self.keep_alive()
                self.progress(self.result.seen, None)
        self.result.complete = True
        self._mark_missing()
        self._auto_link()

    def _apply_batch(self, seen: list[SeenWorkflow]) -> None:
        self.result.seen += len(seen)
        self.result.problems += [
            {"n8n_workflow_id": wf.n8n_id, "problem": wf.problem} for wf in seen if wf.problem
        ]
        with transaction(self.sessions) as session:
            existing = mappings.existing_by_n8n_id(
                session, self.access.environment_id, [wf.n8n_id for wf in seen]
            )
            inserts, updates, events = [], [], []
            now = utcnow()
            for wf in seen:
                if wf.n8n_id in self.seen_ids:
                    continue  # n8n's offset cursor can repeat an item when the list shifts
                self.seen_ids.add(wf.n8n_id)
                row = existing.get(wf.n8n_id)
                if row is None:
                    inserts.append(self._new_row(wf, now))
                    events.append(
                        self._event(inserts[-1]["id"], None, None, MappingStatus.UNTRACKED, now)
                    )
                    continue
                change = self._changed_row(row, wf, now)
                if change is None:
                    self.result.unchanged += 1
                    continue
                updates.append(change)
                if change.get("status") is not None and change["status"] != row.status:
                    events.append(
                        self._event(row.id, row.canonical_id, row.status, change["status"], now)
                    )
            mappings.insert_mappings(session, inserts)
            mappings.update_mappings(session, updates)
            mappings.insert_status_events(session, events)
        self.result.created += len(inserts)
        self.result.updated += len(updates)
        self.created_ids += [row["id"] for row in inserts]

    def _new_row(self, wf: SeenWorkflow, now: Any) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "tenant_id": self.access.tenant_id,
            "environment_id": self.access.environment_id,
            "n8n_workflow_id": wf.n8n_id,
            "canonical_id": None,
            "status": transition(
                None, MappingEvent.SYNC_SEEN, MappingFacts(has_canonical=False, present=True)
            ),
            "env_content_hash": wf.content_hash,
            "workflow_name": wf.name,
            "n8n_updated_at": wf.updated_at,
            "workflow_data": wf.data,
            "is_deleted": False,
            "status_changed_at": now,
            "created_at": now,
            "updated_at": now,
        }

    def _changed_row(
        self, row: mappings.ExistingMapping, wf: SeenWorkflow, now: Any
    ) -> dict[str, Any] | None:
        status = transition(
            row.status,
            MappingEvent.SYNC_SEEN,
            MappingFacts(has_canonical=row.canonical_id is not None, present=True),
        )
        same = (
            status == row.status
            and wf.content_hash == row.env_content_hash
            and wf.name == row.workflow_name
            and wf.updated_at == row.n8n_updated_at
        )
        if same:
            return None
        change: dict[str, Any] = {
            "id": row.id,
            "env_content_hash": wf.content_hash,
            "workflow_name": wf.name,
            "n8n_updated_at": wf.updated_at,
            "workflow_data": wf.data,
            "updated_at": now,
        }
        if status != row.status:
            change |= {"status": status, "status_changed_at": now}
        return change

    def _event(
        self,
        mapping_id: uuid.UUID,
        canonical_id: uuid.UUID | None,
        old: MappingStatus | None,
        new: MappingStatus,
        now: Any,
    ) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "tenant_id": self.access.tenant_id,
            "mapping_id": mapping_id,
            "canonical_id": canonical_id,
            "environment_id": self.access.environment_id,
            "from_status": old,
            "to_status": new,
            "at": now,
        }

    def _mark_missing(self) -> None:
        now = utcnow()
        with transaction(self.sessions) as session:
            gone = [
                row
                for row in mappings.present_statuses(session, self.access.environment_id)
                if row[1] not in self.seen_ids
            ]
            updates, events = [], []
            for mapping_id, _n8n_id, canonical_id, status in gone:
                new = transition(
                    status,
                    MappingEvent.SYNC_ABSENT,
                    MappingFacts(has_canonical=canonical_id is not None, present=False),
                )
                updates.append(
                    {"id": mapping_id, "status": new, "status_changed_at": now, "updated_at": now}
                )
                events.append(self._event(mapping_id, canonical_id, status, new, now))
            mappings.update_mappings(session, updates)
            mappings.insert_status_events(session, events)
        self.result.missing = len(updates)

    def _auto_link(self) -> None:
        now = utcnow()
        with transaction(self.sessions) as session:
            untracked = mappings.untracked_in(session, self.access.environment_id)
            canonicals = mappings.unlinked_canonicals(
                session, self.access.tenant_id, self.access.environment_id
            )
            plan = plan_auto_links(
                [Candidate(str(i), name, h) for i, name, h in untracked],
                [Candidate(str(i), name, h) for i, name, h in canonicals],
            )
            git_hashes = {str(i): h for i, _name, h in canonicals}
            updates, events = [], []
            for link in plan.links:
                mapping_id, canonical_id = uuid.UUID(link.workflow_id), uuid.UUID(link.canonical_id)
                updates.append(
                    {
                        "id": mapping_id,
                        "canonical_id": canonical_id,
                        "git_content_hash": git_hashes[link.canonical_id],
                        "status": MappingStatus.LINKED,
                        "status_changed_at": now,
                        "updated_at": now,
                    }
                )
                events.append(
                    self._event(
                        mapping_id, canonical_id, MappingStatus.UNTRACKED, MappingStatus.LINKED, now
                    )
                )
            mappings.update_mappings(session, updates)
            mappings.insert_status_events(session, events)
        self.result.auto_linked = len(plan.links)


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _record_run(sessions: sessionmaker[Session], result: SyncResult) -> None:
    if not result.complete and result.not_marked_missing_because is None:
        result.not_marked_missing_because = (
            "the environment was not listed completely, so nothing was marked missing"
        )
    with transaction(sessions) as session:
        run = session.get(SyncRun, result.run_id)
        assert run is not None
        run.complete = result.complete
        run.seen, run.created, run.updated = result.seen, result.created, result.updated
        run.unchanged, run.missing = result.unchanged, result.missing
        run.duration_ms, run.error = result.duration_ms, result.error
        run.finished_at = utcnow()
        run.details = {
            "auto_linked": result.auto_linked,
            "problems": result.problems[:100],
            "not_marked_missing_because": result.not_marked_missing_because,
        }
        if result.complete:
            environment = session.get(Environment, run.environment_id)
            if environment is not None:
                environment.last_synced_at = run.finished_at
