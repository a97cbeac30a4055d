"""The deploys of an apply, in batches, `concurrency` writes in flight (n8n serves one
while the next is prepared); the first n8n failure lets the writes in flight finish,
records them, and starts none.

Reading each target again just before writing it is what makes a deploy safe (a target
that moved since the plan is skipped as stale), and `GET /workflows/{id}` costs n8n 1.x
~6 ms, half a write. So where a deploy touches a large share of an environment
(`LISTING_SHARE`), its targets are read from the listing instead, `LISTING_PAGE` at a time
(~0.4 ms each), each page's deploys made right after it was read (the next page is read
meanwhile): the re-check is then at most about two pages old instead of milliseconds.
Targets the listing did not show (created or deleted meanwhile) are read one by one.

Credentials. Where n8n lists them (2.x, a key with `credential:list`), the environment's
credential index is built from that listing, read once before its deploys; elsewhere from
the references of its stored workflows (`planning.target_facts`)."""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from canonflow.core.status import MappingStatus
from canonflow.crypto import SecretBox
from canonflow.db import leases
from canonflow.db.engine import transaction
from canonflow.db.models import WorkflowEnvMap
from canonflow.jobs.registry import JobContext
from canonflow.n8n import N8nArchived, N8nClient, N8nError, N8nNotFound, N8nRejected
from canonflow.reconcile import deploying, recording
from canonflow.reconcile.deploying import Actor, Prepared
from canonflow.reconcile.items import ApplyItem, Outcome, Result
from canonflow.reconcile.planning import TargetFacts, target_facts
from canonflow.reconcile.sources import definition_for
from canonflow.sync.environment import LEASE_TTL, sync_lease_name
from canonflow.sync.prefetch import Prefetcher

LISTING_SHARE = 0.25
LISTING_PAGE = 50
BATCH = 25  # items read, snapshotted and recorded per transaction when targets are read one by one
ClientFor = Callable[[uuid.UUID], N8nClient]


class DeployRunner:
    def __init__(
        self,
        context: JobContext,
        secrets: SecretBox,
        cache_root: Path,
        clients: ClientFor,
        actor: Actor,
        total: int,
    ) -> None:
        self.context, self.secrets, self.cache_root = context, secrets, cache_root
        self.clients, self.actor, self.total = clients, actor, total
        self.stop = threading.Event()
        self.failure: N8nError | None = None
        self.lock = threading.Lock()
        self.facts: dict[uuid.UUID, TargetFacts] = {}
        self.outcomes: list[Outcome] = []
        self.lease: leases.HeldLease | None = None  # the environment's sync lease
        self.keep_alive: Callable[[], None] = lambda: None  # the caller's own lease

    def run(self, items: list[ApplyItem], concurrency: int, outcomes: list[Outcome]) -> None:
        """Deploy `items`, appending an outcome each to `outcomes`; raises the first
        `N8nError` that stopped them."""
        self.outcomes = outcomes
        by_environment: dict[uuid.UUID, list[ApplyItem]] = defaultdict(list)
        for item in items:
            by_environment[item.environment_id].append(item)
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="deploy") as pool:
            for environment_id, batch in by_environment.items():
                if self.stop.is_set():
                    break
                with leases.held(
                    self.context.sessions,
                    name=sync_lease_name(environment_id),
                    tenant_id=self.context.tenant_id,
                    ttl=LEASE_TTL,
                    busy_message="a sync of the environment is running: apply again once it ends",
                ) as lease:
                    self._environment(pool, environment_id, batch, lease)
        if self.failure is not None:
            raise self.failure

    def _environment(
        self,
        pool: ThreadPoolExecutor,
        environment_id: uuid.UUID,
        batch: list[ApplyItem],
        lease: leases.HeldLease,
    ) -> None:
        """One environment's deploys, holding its sync lease (renewed after each batch, and
        checked in the transaction that commits the snapshots, before n8n is written)."""
        self.lease = lease
        try:  # before the transaction: none is held while n8n answers
            listed = self.clients(environment_id).list_credentials()
        except N8nError as exc:
            self._failed(exc)
            return
        with transaction(self.context.sessions) as session:
            self.facts[environment_id] = target_facts(
                session, self.context.tenant_id, environment_id, listed_credentials=listed
            )
            live = _live_targets(session, self.context.tenant_id, batch)
            count = _workflow_count(session, self.context.tenant_id, environment_id)
        if len(live) > 1 and len(live) / max(count, 1) >= LISTING_SHARE:
            batch = self._listed(pool, environment_id, batch, live)
        for start in range(0, len(batch), BATCH):
            self._batch(pool, batch[start : start + BATCH], {})

    def _listed(
        self,
        pool: ThreadPoolExecutor,
        environment_id: uuid.UUID,
        items: list[ApplyItem],
        live: dict[uuid.UUID, str],
    ) -> list[ApplyItem]:
        """Deploy the items whose target the listing shows; returns the others."""
        waiting = {live[i.mapping_id]: i for i in items if i.mapping_id in live}
        pages = self.clients(environment_id).iter_workflow_pages(limit=LISTING_PAGE)
        try:
            with Prefetcher(pages) as prefetched:
                for page in prefetched:
                    found = [
                        (waiting.pop(w["id"]), w) for w in page.workflows if w.get("id") in waiting
                    ]
                    self._batch(
                        pool, [i for i, _ in found], {n: w for n, (_, w) in enumerate(found)}
                    )
                    if self.stop.is_set() or not waiting:
                        break
        except N8nError as exc:
            self._failed(exc)
        left = {id(i) for i in waiting.values()}
        return [i for i in items if i.mapping_id not in live or id(i) in left]

    def _batch(
        self, pool: ThreadPoolExecutor, items: Sequence[ApplyItem], targets: dict[int, Any]
    ) -> None:
        if self.stop.is_set() or not items:
            return
        with transaction(self.context.sessions) as session:
            rows = deploying.load_rows(session, self.context.tenant_id, items)
        prepared: list[Prepared] = []
        for result in pool.map(
            lambda n: self._prepare(items[n], rows[n], targets.get(n)), range(len(items))
        ):
            if isinstance(result, Prepared):
                prepared.append(result)
            elif result is not None:
                self._done(result)
        if self.stop.is_set() or not prepared:
            return
        with transaction(self.context.sessions) as session:  # committed before n8n is written
            if self.lease is not None:
                self.lease.hold_in(session)  # LeaseLost: a sync took over, write nothing
            deploying.take_snapshots(session, prepared, self.actor)
        written = [w for w in pool.map(self._write, prepared) if w is not None]
        with transaction(self.context.sessions) as session:
            recorded = recording.record(session, written, self.actor)
        for outcome in recorded:  # after the commit: progress opens a transaction of its own
            self._done(outcome)
        if self.lease is not None:
            self.lease.renew()
        self.keep_alive()

    def _prepare(
        self, item: ApplyItem, row: deploying.Row, target: Any
    ) -> Prepared | Outcome | None:
        if self.stop.is_set():
            return None
        try:
            definition = None
            if item.source != "canonical":  # a rollback or a restore: its own version
                definition = definition_for(
                    self.context.sessions, self.secrets, item,
                    tenant_id=self.context.tenant_id, cache_root=self.cache_root,
                )  # fmt: skip
            client = self.clients(item.environment_id)
            facts = self.facts[item.environment_id]
            return deploying.prepare(item, row, client, facts, definition=definition, target=target)
        except N8nError as exc:
            self._failed(exc)
            return None

    def _write(self, ready: Prepared) -> tuple[Prepared, dict[str, Any], str] | None:
        if self.stop.is_set():
            return None
        item = ready.item
        try:
            answer, digest = deploying.write(
                ready, self.clients(item.environment_id), self.facts[item.environment_id]
            )
        except N8nNotFound:  # this workflow only: deleted in n8n since it was read
            self._done(Outcome(item, Result.STALE, "the workflow was deleted in n8n meanwhile"))
            return None
        except N8nArchived:  # this workflow only: archived in n8n (2.x) since it was read
            self._done(Outcome(item, Result.STALE, "the workflow was archived in n8n meanwhile"))
            return None
        except N8nRejected as exc:  # this workflow only: n8n refused its body
            self._done(Outcome(item, Result.FAILED, exc.message))
            return None
        except N8nError as exc:
            self._failed(exc)
            return None
        return ready, answer, digest

    def _done(self, outcome: Outcome) -> None:
        """Count an outcome (called with no transaction open: progress writes one)."""
        with self.lock:
            self.outcomes.append(outcome)
            done = len(self.outcomes)
        self.context.report_progress(done, self.total)

    def _failed(self, exc: N8nError) -> None:
        with self.lock:
            self.failure = self.failure or exc
        self.stop.set()


def _live_targets(
    session: Any, tenant_id: uuid.UUID, items: list[ApplyItem]
) -> dict[uuid.UUID, str]:
    """mapping id → n8n workflow id, for the items whose workflow exists (linked)."""
    ids = [i.mapping_id for i in items if i.mapping_id is not None]
    rows = session.execute(
        select(WorkflowEnvMap.id, WorkflowEnvMap.n8n_workflow_id).where(
            WorkflowEnvMap.tenant_id == tenant_id,
            WorkflowEnvMap.id.in_(ids),
            WorkflowEnvMap.status == MappingStatus.LINKED,
        )
    )
    return {row.id: row.n8n_workflow_id for row in rows}


def _workflow_count(session: Any, tenant_id: uuid.UUID, environment_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                WorkflowEnvMap.tenant_id == tenant_id,
                WorkflowEnvMap.environment_id == environment_id,
                WorkflowEnvMap.status != MappingStatus.DELETED,
            )
        )
        or 0
    )
