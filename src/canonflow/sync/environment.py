"""Sync one environment: list n8n page by page, upsert mappings in batches, apply DESIGN §3.

This is a job flow: it commits per batch, so a crash keeps the finished batches (true facts)
and a retry converges. Only a run that listed the whole environment marks anything missing.
One run at a time per environment (a lease that works across processes).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy.orm import Session, sessionmaker

from canonflow import gc_pause
from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.autolink import Candidate, plan_auto_links
from canonflow.core.enums import SyncKind
from canonflow.core.status import MappingStatus
from canonflow.crypto import SecretBox
from canonflow.db.engine import read_transaction, transaction
from canonflow.db.leases import HeldLease, LeaseLost
from canonflow.db.models import SyncRun
from canonflow.db.runs import Exclusive, run_recorded
from canonflow.db.types import utcnow
from canonflow.environments import service as environments
from canonflow.environments.service import EnvironmentAccess
from canonflow.n8n import N8nClient, N8nError
from canonflow.parallel import LazyProcessPool
from canonflow.sync import mappings
from canonflow.sync.agreement import record_agreement
from canonflow.sync.batch import BatchApplier, PreparedBatch, absent_state
from canonflow.sync.candidates import auto_link_candidates
from canonflow.sync.hashing import HashedSelection, hash_selection
from canonflow.sync.prefetch import Prefetcher
from canonflow.sync.result import SyncResult, record_run

log = structlog.get_logger(__name__)
LEASE_TTL = timedelta(minutes=5)
PAGE_SIZE = 250  # the largest page n8n 1.x accepts
HASH_WORKERS = 2
#: Pages listed ahead of the one being stored: the listing goes on while a write waits.
PREFETCH_PAGES = 3
#: Mappings read per keyset page when marking the unlisted ones missing.
MISSING_PAGE = 2000
_LINK_COLUMNS = (
    "canonical_id",
    "git_content_hash",
    "base_content_hash",
    "status",
    "status_changed_at",
    "updated_at",
)

ProgressCallback = Callable[[int, int | None], None]
ClientFactory = Callable[[EnvironmentAccess], N8nClient]


def sync_lease_name(environment_id: uuid.UUID) -> str:
    """The lease of an environment's workflows: held by its sync, and by an apply writing
    to it (a sync listing meanwhile would store what n8n held before the writes)."""
    return f"environment-sync:{environment_id}"


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
    auto_link: bool = True,
    on_page: Callable[[list[dict[str, Any]]], None] | None = None,
    hasher: LazyProcessPool | None = None,
    on_documents: Callable[[dict[str, tuple[str, bytes]]], None] | None = None,
) -> SyncResult:
    """Run one environment sync and record it in `sync_runs`. Raises on failure.

    `auto_link=False` leaves linking to the caller (onboarding links with reasons);
    `on_page` sees every listed page's workflows (read-only); `hasher`: a worker pool
    shared by syncs that run at once (default: one of its own); `on_documents` receives,
    as they are stored, the hashed workflows that reference no other one: n8n id →
    (content hash, Git document as compact JSON)."""
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
    run_recorded(
        sessions,
        exclusive=Exclusive(
            name=sync_lease_name(environment_id),
            tenant_id=tenant_id,
            ttl=LEASE_TTL,
            busy_message=f"a sync of environment {access.name!r} is already running",
        ),
        result=result,
        work=lambda lease: _Run(sessions, access, result, progress, lease, on_documents).execute(
            client_factory, auto_link=auto_link, on_page=on_page, hasher=hasher
        ),
        record=record_run,
        remote_errors=(N8nError,),
        remote=f"environment {access.name!r}",
    )
    return result


class _Run:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        access: EnvironmentAccess,
        result: SyncResult,
        progress: ProgressCallback | None,
        lease: HeldLease,
        on_documents: Callable[[dict[str, tuple[str, bytes]]], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.on_documents = on_documents
        self.access = access
        self.result = result
        self.progress = progress or (lambda _done, _total: None)
        self.lease = lease

    def execute(
        self,
        client_factory: ClientFactory,
        *,
        auto_link: bool,
        on_page: Callable[[list[dict[str, Any]]], None] | None,
        hasher: LazyProcessPool | None,
    ) -> None:
        # Page N+1 downloads (a thread) while page N is hashed (a worker process, once the
        # listing proves long) and page N-1 is written here. The first page is already on
        # its way while the mappings load.
        with (
            client_factory(self.access) as client,
            Prefetcher(client.iter_workflow_pages(limit=PAGE_SIZE), depth=PREFETCH_PAGES) as pages,
            _hashing_pool(hasher) as hashing,
            gc_pause.paused(),
        ):
            applier = self._applier()
            previous: list[HashedSelection] = []
            define = self.on_documents is not None
            try:
                for page in pages:
                    self.result.seen += len(page.workflows)
                    if self.result.n8n_major is None and any(
                        "nodeGroups" in workflow for workflow in page.workflows
                    ):
                        self.result.n8n_major = 2  # only n8n 2.x lists `nodeGroups`
                    if on_page is not None:
                        on_page(page.workflows)
                    selections = [
                        applier.select(chunk)
                        for chunk in _chunks(page.workflows, self.access.batch_size)
                    ]
                    if sum(len(s.to_hash) for s in selections) >= PAGE_SIZE // 2:
                        hashing.start()  # a long listing with much to hash: use a worker
                    hashed = [
                        hash_selection(hashing, s, applier.refs_for(s), define=define)
                        for s in selections
                    ]
                    self.lease.renew()  # LeaseLost: another run took over, store nothing more
                    self._store(applier, previous)
                    previous = hashed
                    gc_pause.collect()  # memory of a page, not of the environment
                    self.progress(self.result.seen, None)
            except LeaseLost:
                raise
            except Exception:
                self._store(applier, previous)  # keep the pages already listed, then fail
                raise
            self.lease.renew()
            self._store(applier, previous)
            # asked once the listing worked: a key n8n refuses fails the sync with the
            # listing's one error, not a warning about /discover before it
            # (a listing item with `nodeGroups` already proved 2.x: a 2.x older than
            # /discover would answer it 404, which reads as 1.x)
            self.result.n8n_major = self.result.n8n_major or n8n_major_of(client)
        self.result.archived = applier.archived
        self.result.complete = True
        self._mark_missing(applier)
        if auto_link:
            self._auto_link(applier)
        with transaction(self.sessions) as session:
            record_agreement(
                session, self.access.tenant_id, environment_id=self.access.environment_id
            )

    def _store(self, applier: BatchApplier, hashed: list[HashedSelection]) -> None:
        for selection in hashed:
            outcomes, documents = selection.outcomes()
            batch = applier.prepare(selection.selection, outcomes)
            applier.write(batch)
            if documents and self.on_documents is not None:
                self.on_documents(documents)
            self._count(batch)

    def _applier(self) -> BatchApplier:
        # A snapshot read: it waits for no writer (on SQLite, the write lock may be held
        # for a while by another environment's batch or an onboarding step).
        tenant, environment = self.access.tenant_id, self.access.environment_id
        with read_transaction(self.sessions) as session:
            fingerprint = mappings.reference_fingerprint(session, tenant, environment)
            previous = mappings.last_complete_run_details(session, tenant, environment)
        self.result.refs_fingerprint = fingerprint
        return BatchApplier(
            self.sessions,
            self.access.tenant_id,
            self.access.environment_id,
            # Workflow references resolve as they did last time, so a workflow whose
            # updatedAt did not move hashes as it did: it need not be hashed again.
            trust_timestamps=previous.get("refs_fingerprint") == fingerprint,
        )

    def _count(self, batch: PreparedBatch) -> None:
        self.result.created += len(batch.inserts)
        self.result.updated += batch.updated
        self.result.unchanged += batch.unchanged
        self.result.problems += batch.problems

    def _mark_missing(self, applier: BatchApplier) -> None:
        """Mappings the complete listing did not show: absent (an ignored one stays
        ignored, and keeps the fact that its workflow is gone). The environment's mappings
        are read a keyset page at a time in snapshot reads (no write lock while reading
        50,000 rows); a page with unseen ones writes them in a transaction that holds the
        lease (a retry after a crash between two pages marks the rest)."""
        now = utcnow()
        after: str | None = None
        while True:
            with read_transaction(self.sessions) as session:
                rows = mappings.presence_page(
                    session,
                    self.access.tenant_id,
                    self.access.environment_id,
                    after=after,
                    limit=MISSING_PAGE,
                )
            if not rows:
                return
            after = rows[-1].n8n_workflow_id
            unseen = [row for row in rows if row.n8n_workflow_id not in applier.seen_ids]
            if unseen:
                with transaction(self.sessions) as session:
                    self.lease.hold_in(session)  # marks missing only while no other run holds it
                    self.result.missing += self._mark_absent(session, applier, unseen, now)

    def _mark_absent(
        self,
        session: Session,
        applier: BatchApplier,
        rows: list[mappings.ExistingMapping],
        now: datetime,
    ) -> int:
        updates: list[dict[str, Any]] = []
        for row in rows:
            after = absent_state(row)
            if (after.status, after.facts.present) != (row.status, row.present):
                assert after.status is not None
                moved = after.status != row.status
                updates.append(
                    {
                        "id": row.id,
                        "canonical_id": row.canonical_id,
                        "expected_status": row.status,
                        "status": after.status,
                        "present": False,
                        "status_changed_at": now if moved else row.status_changed_at,
                        "updated_at": now,
                    }
                )
        if not updates:
            return 0
        skipped = mappings.update_if_status_unchanged(
            session, updates, ("status", "present", "status_changed_at", "updated_at")
        )
        events = [
            applier.event(u["id"], u["canonical_id"], u["expected_status"], u["status"], now)
            for u in updates
            if u["id"] not in skipped and u["status"] != u["expected_status"]
        ]
        mappings.insert_status_events(session, events)
        record_state_changes(
            session,
            self.access.tenant_id,
            StateCause.ENV_SYNC,
            mapping_ids=[u["id"] for u in updates],
            at=now,
        )
        return len(events)

    def _auto_link(self, applier: BatchApplier) -> None:
        now = utcnow()
        with transaction(self.sessions) as session:
            self.lease.hold_in(session)  # links only while no other run holds the lease
            untracked, canonicals = auto_link_candidates(
                session, self.access.tenant_id, self.access.environment_id
            )
            if not canonicals:
                return
            plan = plan_auto_links(
                [Candidate(str(i), name, digest) for i, name, digest in untracked],
                [Candidate(str(i), name, digest) for i, name, digest in canonicals],
            )
            git_hashes = {str(i): digest for i, _name, digest in canonicals}
            updates: list[dict[str, Any]] = []
            for link in plan.links:
                mapping_id, canonical_id = uuid.UUID(link.workflow_id), uuid.UUID(link.canonical_id)
                updates.append(
                    {
                        "id": mapping_id,
                        "expected_status": MappingStatus.UNTRACKED,
                        "canonical_id": canonical_id,
                        "git_content_hash": git_hashes[link.canonical_id],
                        "base_content_hash": git_hashes[link.canonical_id],  # a link: the base
                        "status": MappingStatus.LINKED,
                        "status_changed_at": now,
                        "updated_at": now,
                    }
                )
            # A recreated workflow takes the place of a missing (or deleted) one, which lets go.
            released = mappings.release_replaced(
                session,
                self.access.tenant_id,
                self.access.environment_id,
                [u["canonical_id"] for u in updates],
            )
            # Guarded: a mapping a user ignored or linked meanwhile keeps the user's choice.
            skipped = mappings.update_if_status_unchanged(session, updates, _LINK_COLUMNS)
            mappings.reclaim_released(
                session, released, [u["canonical_id"] for u in updates if u["id"] not in skipped]
            )
            events = [
                applier.event(u["id"], u["canonical_id"], u["expected_status"], u["status"], now)
                for u in updates
                if u["id"] not in skipped
            ]
            mappings.insert_status_events(session, events)
            record_state_changes(  # the linked ones and those that let go of their canonical
                session,
                self.access.tenant_id,
                StateCause.ENV_SYNC,
                environment_id=self.access.environment_id,
                mapping_ids=[u["id"] for u in updates] + list(released.values()),
                at=now,
            )
        self.result.auto_linked = len(events)


def n8n_major_of(client: N8nClient) -> int | None:
    """The server's major version from the client's flavour (one `GET /discover`, cached
    by the client), when the client can tell; None otherwise (the listing may tell)."""
    flavour = getattr(client, "flavour", None)
    if not callable(flavour):
        return None
    try:
        major = getattr(flavour(), "major", None)
    except N8nError as exc:
        log.warning("n8n flavour not detected; inferring it from the listing", error=str(exc))
        return None
    return major if isinstance(major, int) else None


def _hashing_pool(shared: LazyProcessPool | None) -> AbstractContextManager[LazyProcessPool]:
    """The caller's shared pool (left running), or one of this sync's own."""
    return nullcontext(shared) if shared is not None else LazyProcessPool(max_workers=HASH_WORKERS)


def refs_fingerprint(refs: dict[str, str]) -> str:
    return hashlib.sha256(orjson.dumps(sorted(refs.items()))).hexdigest()[:16]


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
