"""The onboarding inventory (DESIGN §6): from the environments' workflows to canonical ones.

1. Sync the anchor environment, and make one canonical workflow per anchor workflow that
   has none (slugs in name order, collisions resolved with -2, -3, ... and reported); link
   them. Each canonical commits with its link, those that reference another workflow all
   together and last: killed halfway, a rerun finds each workflow linked or not, never
   half-made, and no committed canonical names a slug that was not committed.
2. Sync every other environment and auto-link it (by name, then content hash, then equal
   content under another name; only when unambiguous); what stays untracked is listed
   with the reason.
3. Record the tenant as onboarded (anchor, time).

Idempotent: a second run creates nothing new and links nothing twice.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canonflow.catalogue.states import StateCause
from canonflow.core.definitions import mentions_workflows
from canonflow.core.onboarding import AnchorWorkflow, plan_slugs
from canonflow.core.status import MappingStatus
from canonflow.crypto import SecretBox
from canonflow.db.engine import read_transaction, transaction
from canonflow.db.models import CanonicalWorkflow, Environment, Onboarding, WorkflowEnvMap
from canonflow.db.types import utcnow
from canonflow.environments import repository as environments
from canonflow.errors import Conflict
from canonflow.linking.writes import (
    CreatedCanonicals,
    MappingRow,
    apply_links,
    create_canonicals,
    mapping_rows,
)
from canonflow.onboarding.environment_links import EnvironmentLinks, link_environment
from canonflow.parallel import LazyProcessPool
from canonflow.repo import service as repositories
from canonflow.sync import mappings
from canonflow.sync.environment import (
    HASH_WORKERS,
    ClientFactory,
    default_client,
    sync_environment,
)
from canonflow.sync.result import SyncResult

ProgressCallback = Callable[[int, int | None], None]
SYNC_CONCURRENCY = 2  # environments listed at once: measured best of 1-3 on 2 cores (bench)
CREATE_CHUNK = 500  # anchor workflows made canonical per step (bounds the JSON in memory)
#: The anchor's documents kept from its hashing for its canonical workflows, at most (~6 KB
#: each for 5-30 nodes: 10,000 workflows hold ~60 MB).
ANCHOR_DOCUMENTS_BYTES = 128 * 1024 * 1024


@dataclass
class InventoryResult:
    anchor: str = ""
    canonicals_created: int = 0
    anchor_linked: int = 0
    collisions: list[dict[str, Any]] = field(default_factory=list)
    unresolved_references: dict[str, list[str]] = field(default_factory=dict)
    invalid: list[dict[str, str]] = field(default_factory=list)
    environments: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_inventory(
    sessions: sessionmaker[Session],
    secrets: SecretBox,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID | None = None,
    progress: ProgressCallback | None = None,
    client_factory: ClientFactory = default_client,
) -> InventoryResult:
    with transaction(sessions) as session:
        anchor, others = _environments(session, tenant_id)
    result = InventoryResult(anchor=anchor.name)
    listing = _Listing(sessions, secrets, tenant_id, job_id, client_factory, progress)
    # Environments list SYNC_CONCURRENCY at a time, the anchor first; its canonical
    # workflows are made while the others still list, and each links as its listing ends.
    with (
        LazyProcessPool(max_workers=HASH_WORKERS) as listing.hasher,
        ThreadPoolExecutor(max_workers=SYNC_CONCURRENCY) as pool,
    ):
        anchor_sync = pool.submit(listing.sync, anchor, keep_documents=True)
        syncs = [(e, pool.submit(listing.sync, e)) for e in others]
        anchor_done = anchor_sync.result()
        _canonicals_from_anchor(
            sessions,
            tenant_id,
            anchor,
            result,
            listing.anchor_documents,
            listing.referencing[anchor.id],
        )
        listing.anchor_documents.clear()
        with transaction(sessions) as session:
            links = link_environment(
                session,
                tenant_id,
                anchor.id,
                anchor.name,
                hashed_with=anchor_done.refs_fingerprint,
                referencing=listing.referencing[anchor.id],
                pool=listing.hasher,
            )
        result.environments.append(_environment_summary(anchor_done, links))
        for environment, future in syncs:
            synced = future.result()
            with transaction(sessions) as session:
                links = link_environment(
                    session,
                    tenant_id,
                    environment.id,
                    environment.name,
                    hashed_with=synced.refs_fingerprint,
                    referencing=listing.referencing[environment.id],
                    pool=listing.hasher,
                )
            result.environments.append(_environment_summary(synced, links))
    with transaction(sessions) as session:
        _record(session, tenant_id, anchor, job_id, result)
    listing.finish()
    return result


class _Listing:
    """The environment syncs of one inventory: run from several threads, they share one
    hashing pool, report one progress figure, and note which workflows reference others
    (only those may need hashing again once links resolve their references)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        secrets: SecretBox,
        tenant_id: uuid.UUID,
        job_id: uuid.UUID | None,
        client_factory: ClientFactory,
        progress: ProgressCallback | None,
    ) -> None:
        self.sessions, self.secrets, self.tenant_id = sessions, secrets, tenant_id
        self.job_id, self.client_factory = job_id, client_factory
        self.progress = progress or (lambda _done, _total: None)
        self.referencing: dict[uuid.UUID, set[str]] = defaultdict(set)
        self._seen: dict[uuid.UUID, int] = {}
        self.hasher: LazyProcessPool | None = None  # one hashing pool for every sync
        self._lock = threading.Lock()
        #: The anchor's Git documents made while it is hashed (n8n id → hash, JSON), up
        #: to ANCHOR_DOCUMENTS_BYTES: past it, canonical workflows read their JSON back.
        self.anchor_documents: dict[str, tuple[str, bytes]] = {}
        self._documents_bytes = 0

    def sync(self, environment: Environment, *, keep_documents: bool = False) -> SyncResult:
        """`keep_documents`: keep the Git documents of the workflows that reference no
        other one, as they are hashed (see `sync_environment`), in `anchor_documents`."""

        def on_page(workflows: list[dict[str, Any]]) -> None:
            self.referencing[environment.id].update(
                str(w.get("id")) for w in workflows if mentions_workflows(w)
            )

        return sync_environment(
            self.sessions,
            self.secrets,
            tenant_id=self.tenant_id,
            environment_id=environment.id,
            job_id=self.job_id,
            progress=lambda done, _total: self._report(environment.id, done),
            client_factory=self.client_factory,
            auto_link=False,
            on_page=on_page,
            hasher=self.hasher,
            on_documents=self._keep_documents if keep_documents else None,
        )

    def _keep_documents(self, documents: dict[str, tuple[str, bytes]]) -> None:
        size = sum(len(document) for _digest, document in documents.values())
        if self._documents_bytes + size <= ANCHOR_DOCUMENTS_BYTES:
            self._documents_bytes += size
            self.anchor_documents.update(documents)

    def _report(self, environment_id: uuid.UUID, done: int) -> None:
        with self._lock:
            self._seen[environment_id] = done
            self.progress(sum(self._seen.values()), None)

    def finish(self) -> None:
        total = sum(self._seen.values())
        self.progress(total, total)


def _environments(session: Session, tenant_id: uuid.UUID) -> tuple[Environment, list[Environment]]:
    everything = environments.list_all(session, tenant_id)
    anchors = [e for e in everything if e.is_anchor]
    if len(anchors) != 1:
        raise Conflict("onboarding needs exactly one anchor environment: set is_anchor on one")
    session.expunge_all()
    return anchors[0], [e for e in everything if not e.is_anchor]


def _canonicals_from_anchor(
    sessions: sessionmaker[Session],
    tenant_id: uuid.UUID,
    anchor: Environment,
    result: InventoryResult,
    documents: dict[str, tuple[str, bytes]],
    referencing: set[str],
) -> None:
    """One canonical workflow per untracked anchor workflow. Each canonical commits with
    its link (killed halfway, a rerun finds each workflow linked or not, never half-made),
    in transactions of CREATE_CHUNK so the environments still syncing get the write lock
    between them (see `_creation_groups`). `documents`: the ones the anchor's sync made;
    only the other workflows' JSON is read back and parsed."""
    with read_transaction(sessions) as session:
        rows = mapping_rows(
            session,
            WorkflowEnvMap.environment_id == anchor.id,
            WorkflowEnvMap.canonical_id.is_(None),
            WorkflowEnvMap.is_deleted.is_(False),
            WorkflowEnvMap.status == MappingStatus.UNTRACKED,
            with_data=False,
        )
        taken = set(
            session.scalars(
                select(CanonicalWorkflow.canonical_slug).where(
                    CanonicalWorkflow.tenant_id == tenant_id
                )
            )
        )
        refs = mappings.reference_slugs(session, tenant_id, anchor.id)
        repository = repositories.get(session, tenant_id)
        workflows_dir = repository.workflows_dir if repository else None
    assignments, collisions = plan_slugs(
        [AnchorWorkflow(str(r.id), r.n8n_workflow_id, r.workflow_name or "") for r in rows], taken
    )
    slugs = {uuid.UUID(a.key): a.slug for a in assignments}
    refs |= {r.n8n_workflow_id: slugs[r.id] for r in rows}
    by_id = {r.id: r for r in rows}
    plan = _CreationPlan(slugs, refs, workflows_dir, documents)
    for group in _creation_groups(rows, referencing):
        with transaction(sessions) as session:
            for part in group:  # a part's JSON in memory at a time
                created = _create_part(session, tenant_id, part, plan)
                result.anchor_linked += len(
                    apply_links(session, tenant_id, created.links, cause=StateCause.ONBOARDING)
                )
                result.canonicals_created += len(created.links)
                result.unresolved_references |= created.unresolved
                result.invalid += [
                    {"n8n_workflow_id": by_id[key].n8n_workflow_id, "reason": reason}
                    for key, reason in created.invalid.items()
                ]
    result.collisions = [
        {
            "slug": c.plain_slug,
            "workflows": [{"n8n_workflow_id": i, "name": n, "slug": s} for i, n, s in c.workflows],
        }
        for c in collisions
    ]


def _creation_groups(rows: list[MappingRow], referencing: set[str]) -> list[list[list[MappingRow]]]:
    """The transactions that make the canonical workflows, each a list of parts of at most
    CREATE_CHUNK. Workflows that reference no other one commit a part at a time; those
    that do (`referencing`: n8n ids) commit together, last, so no committed canonical
    names a slug that is not committed too."""
    plain = [r for r in rows if r.n8n_workflow_id not in referencing]
    calling = [r for r in rows if r.n8n_workflow_id in referencing]
    groups = [[plain[i : i + CREATE_CHUNK]] for i in range(0, len(plain), CREATE_CHUNK)]
    if calling:
        groups.append([calling[i : i + CREATE_CHUNK] for i in range(0, len(calling), CREATE_CHUNK)])
    return groups


@dataclass(frozen=True)
class _CreationPlan:
    slugs: dict[uuid.UUID, str]
    refs: dict[str, str]  # n8n id → slug, the new ones included
    workflows_dir: str | None
    documents: dict[str, tuple[str, bytes]]


def _create_part(
    session: Session, tenant_id: uuid.UUID, part: list[MappingRow], plan: _CreationPlan
) -> CreatedCanonicals:
    """Canonical workflows for the rows of `part` that are still untracked and unlinked,
    read again in this transaction (a sync or a user may have moved them since the plan):
    from the kept document where it is still the row's hash, else from the JSON."""
    fresh = mapping_rows(
        session,
        WorkflowEnvMap.id.in_([r.id for r in part]),
        WorkflowEnvMap.canonical_id.is_(None),
        WorkflowEnvMap.is_deleted.is_(False),
        WorkflowEnvMap.status == MappingStatus.UNTRACKED,
        with_data=False,
    )
    unprepared = [r.id for r in fresh if not _prepared(r, plan.documents)]
    read = mapping_rows(session, WorkflowEnvMap.id.in_(unprepared)) if unprepared else []
    return create_canonicals(
        session,
        tenant_id,
        plan.slugs,
        [r for r in fresh if _prepared(r, plan.documents)] + read,
        refs=plan.refs,
        workflows_dir=plan.workflows_dir,
        now=utcnow(),
        documents=plan.documents,
    )


def _prepared(row: MappingRow, documents: dict[str, tuple[str, bytes]]) -> bool:
    prepared = documents.get(row.n8n_workflow_id)
    return prepared is not None and prepared[0] == row.env_content_hash


def _environment_summary(synced: SyncResult, links: EnvironmentLinks) -> dict[str, Any]:
    return {
        "environment": links.environment,
        "seen": synced.seen,
        "linked_by_name": links.linked.get("name", 0),
        # equal content: the full hash, or the hash without the name (a renamed copy)
        "linked_by_content_hash": links.linked.get("content_hash", 0)
        + links.linked.get("renamed_copy", 0),
        "linked_renamed_copies": links.linked.get("renamed_copy", 0),
        "untracked": links.unlinked_total,
        "untracked_listed": links.unlinked,
        "sync_problems": synced.problems[:50],
    }


def _record(
    session: Session,
    tenant_id: uuid.UUID,
    anchor: Environment,
    job_id: uuid.UUID | None,
    result: InventoryResult,
) -> None:
    record = session.scalars(
        select(Onboarding).where(Onboarding.tenant_id == tenant_id)
    ).one_or_none()
    if record is None:
        record = Onboarding(tenant_id=tenant_id)
        session.add(record)
    record.anchor_environment_id, record.anchor_name = anchor.id, anchor.name
    record.onboarded_at, record.inventory_job_id = utcnow(), job_id
    record.summary = {
        "canonicals_created": result.canonicals_created,
        "collisions": len(result.collisions),
        "environments": [
            {k: e[k] for k in ("environment", "seen", "linked_by_name", "untracked")}
            | {"linked_by_content_hash": e["linked_by_content_hash"]}
            for e in result.environments
        ],
    }
