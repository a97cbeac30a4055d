"""Link, ignore, un-ignore and delete mappings by hand. Services flush; the caller commits.

A link goes to an existing canonical workflow, or creates one from the workflow (slug from
its name, or the one asked for). A canonical workflow has at most one live mapping per
environment: linking a second one there is a conflict, as is re-linking a mapping linked
to another canonical; a missing or deleted mapping lets go of it instead (a recreated
workflow takes its place). Every write is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow import audit
from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.slugs import assign_slug, slugify
from canonflow.core.status import (
    MappingEvent,
    MappingFacts,
    MappingStatus,
    holds_canonical,
    transition,
)
from canonflow.db.models import CanonicalWorkflow, StatusEvent, WorkflowEnvMap
from canonflow.db.types import utcnow
from canonflow.errors import AppError, Conflict, Invalid, NotFound
from canonflow.linking.writes import (
    MappingRow,
    NewLink,
    apply_links,
    create_canonicals,
    mapping_rows,
)
from canonflow.repo import service as repositories
from canonflow.sync import mappings
from canonflow.tenancy.service import Principal


@dataclass(frozen=True)
class LinkRequest:
    mapping_id: uuid.UUID
    canonical_id: uuid.UUID | None = None  # None: create a canonical from the workflow
    slug: str | None = None  # for a new canonical; default: from the workflow's name


@dataclass(frozen=True)
class LinkOutcome:
    mapping_id: uuid.UUID
    canonical_id: uuid.UUID
    created_canonical: bool
    status: MappingStatus


def link(session: Session, principal: Principal, request: LinkRequest) -> LinkOutcome:
    mapping = _mapping(session, principal.tenant_id, request.mapping_id)
    if request.canonical_id is not None:  # an unknown id is NotFound before any conflict
        _live_canonical(session, principal.tenant_id, request.canonical_id)
    if mapping.is_deleted or mapping.status is MappingStatus.DELETED:
        raise Conflict(f"mapping {mapping.id} is deleted: it cannot be linked")
    if mapping.canonical_id is not None:
        if request.canonical_id in (None, mapping.canonical_id):
            return LinkOutcome(mapping.id, mapping.canonical_id, False, mapping.status)
        raise Conflict(
            f"mapping {mapping.id} is already linked to canonical workflow {mapping.canonical_id}",
            details={"canonical_id": str(mapping.canonical_id)},
        )
    [row] = mapping_rows(session, WorkflowEnvMap.id == mapping.id)
    replaced: uuid.UUID | None = None
    if request.canonical_id is None:
        link_ = _new_canonical_link(session, principal.tenant_id, row, request.slug)
        created = True
    else:
        canonical = _live_canonical(session, principal.tenant_id, request.canonical_id)
        replaced = _check_free_in_environment(session, canonical, mapping.environment_id)
        link_ = NewLink(row, canonical.id, canonical.content_hash, None)
        created = False
    if row.id not in apply_links(session, principal.tenant_id, [link_]):
        raise Conflict(f"mapping {mapping.id} changed while it was being linked: try again")
    session.refresh(mapping)
    details: dict[str, object] = {"created_canonical": created}
    if replaced is not None:
        details["took_place_of"] = str(replaced)  # the missing/deleted mapping that let go
    _audit(session, principal, "mapping.link", mapping, details)
    return LinkOutcome(mapping.id, link_.canonical_id, created, mapping.status)


@dataclass(frozen=True)
class BulkItemOutcome:
    request: LinkRequest
    outcome: LinkOutcome | None = None
    error: AppError | None = None


def link_many(
    session: Session, principal: Principal, requests: list[LinkRequest]
) -> list[BulkItemOutcome]:
    """Each item links or fails on its own (a savepoint each): one bad item costs nothing
    to the others."""
    outcomes: list[BulkItemOutcome] = []
    for request in requests:
        try:
            with session.begin_nested():
                outcomes.append(BulkItemOutcome(request, outcome=link(session, principal, request)))
        except AppError as exc:
            outcomes.append(BulkItemOutcome(request, error=exc))
    return outcomes


def set_ignored(
    session: Session, principal: Principal, mapping_id: uuid.UUID, *, ignored: bool
) -> WorkflowEnvMap:
    mapping = _mapping(session, principal.tenant_id, mapping_id)
    if mapping.status is MappingStatus.DELETED:
        raise Conflict(f"mapping {mapping.id} is deleted")
    event = MappingEvent.USER_IGNORED if ignored else MappingEvent.USER_UNIGNORED
    _change_status(session, principal, mapping, event)
    _audit(session, principal, "mapping.ignore" if ignored else "mapping.unignore", mapping)
    return mapping


def set_ignored_many(
    session: Session, principal: Principal, mapping_ids: list[uuid.UUID], *, ignored: bool
) -> list[tuple[uuid.UUID, AppError | None]]:
    """`set_ignored` of each, on its own (a savepoint each): one that cannot change costs
    nothing to the others. Returns each id with its error, or None."""
    outcomes: list[tuple[uuid.UUID, AppError | None]] = []
    for mapping_id in mapping_ids:
        try:
            with session.begin_nested():
                set_ignored(session, principal, mapping_id, ignored=ignored)
            outcomes.append((mapping_id, None))
        except AppError as exc:
            outcomes.append((mapping_id, exc))
    return outcomes


def delete(session: Session, principal: Principal, mapping_id: uuid.UUID) -> WorkflowEnvMap:
    """Soft-delete: the row stays (history, audit), deleted for good (DESIGN §3)."""
    mapping = _mapping(session, principal.tenant_id, mapping_id)
    if mapping.status is not MappingStatus.DELETED:
        _change_status(session, principal, mapping, MappingEvent.DELETED)
    mapping.is_deleted = True
    _audit(session, principal, "mapping.delete", mapping)
    return mapping


def _new_canonical_link(
    session: Session, tenant_id: uuid.UUID, row: MappingRow, slug: str | None
) -> NewLink:
    if row.workflow_data is None:
        raise Conflict(f"mapping {row.id} has no workflow data yet: sync its environment first")
    taken = set(
        session.scalars(
            select(CanonicalWorkflow.canonical_slug).where(CanonicalWorkflow.tenant_id == tenant_id)
        )
    )
    if slug is not None:
        if slugify(slug) != slug:
            raise Invalid(f"{slug!r} is not a valid slug (try {slugify(slug)!r})")
        if slug in taken:
            raise Conflict(f"the slug {slug!r} is taken by another canonical workflow")
    chosen = slug or assign_slug(row.workflow_name or "", taken)
    repository = repositories.get(session, tenant_id)
    created = create_canonicals(
        session,
        tenant_id,
        {row.id: chosen},
        [row],
        refs=mappings.reference_slugs(session, tenant_id, row.environment_id),
        workflows_dir=repository.workflows_dir if repository else None,
        now=utcnow(),
    )
    if row.id in created.invalid:
        raise Invalid(f"the workflow cannot be made canonical: {created.invalid[row.id]}")
    return created.links[0]


def _mapping(session: Session, tenant_id: uuid.UUID, mapping_id: uuid.UUID) -> WorkflowEnvMap:
    mapping = session.scalars(
        select(WorkflowEnvMap).where(
            WorkflowEnvMap.id == mapping_id, WorkflowEnvMap.tenant_id == tenant_id
        )
    ).one_or_none()
    if mapping is None:
        raise NotFound(f"no mapping {mapping_id}")
    return mapping


def _live_canonical(
    session: Session, tenant_id: uuid.UUID, canonical_id: uuid.UUID
) -> CanonicalWorkflow:
    canonical = session.scalars(
        select(CanonicalWorkflow).where(
            CanonicalWorkflow.id == canonical_id, CanonicalWorkflow.tenant_id == tenant_id
        )
    ).one_or_none()
    if canonical is None:
        raise NotFound(f"no canonical workflow {canonical_id}")
    if canonical.is_deleted:
        raise Conflict(f"canonical workflow {canonical.canonical_slug!r} is deleted")
    return canonical


def _check_free_in_environment(
    session: Session, canonical: CanonicalWorkflow, environment_id: uuid.UUID
) -> uuid.UUID | None:
    """Conflict if a live mapping holds the canonical in the environment; else the missing
    or deleted mapping whose place the link takes (it lets go), if any."""
    holder = session.execute(
        select(WorkflowEnvMap.id, WorkflowEnvMap.status).where(
            WorkflowEnvMap.tenant_id == canonical.tenant_id,
            WorkflowEnvMap.canonical_id == canonical.id,
            WorkflowEnvMap.environment_id == environment_id,
        )
    ).first()
    if holder is None:
        return None
    if holds_canonical(holder.status):
        raise Conflict(
            f"canonical workflow {canonical.canonical_slug!r} is already linked in this "
            f"environment (mapping {holder.id})",
            details={"mapping_id": str(holder.id)},
        )
    replaced: uuid.UUID = holder.id
    return replaced


def _change_status(
    session: Session, principal: Principal, mapping: WorkflowEnvMap, event: MappingEvent
) -> None:
    # presence is a fact the sync keeps even while the mapping is ignored
    facts = MappingFacts(has_canonical=mapping.canonical_id is not None, present=mapping.present)
    new = transition(mapping.status, event, facts)
    if new is mapping.status:
        return
    now = utcnow()
    session.add(
        StatusEvent(
            tenant_id=principal.tenant_id,
            mapping_id=mapping.id,
            canonical_id=mapping.canonical_id,
            environment_id=mapping.environment_id,
            from_status=mapping.status,
            to_status=new,
            at=now,
        )
    )
    mapping.status, mapping.status_changed_at = new, now
    session.flush()
    record_state_changes(
        session, principal.tenant_id, _CAUSES[event], mapping_ids=[mapping.id], at=now
    )


_CAUSES = {
    MappingEvent.USER_IGNORED: StateCause.IGNORE,
    MappingEvent.USER_UNIGNORED: StateCause.UNIGNORE,
    MappingEvent.DELETED: StateCause.DELETE,
}


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    mapping: WorkflowEnvMap,
    details: dict[str, object] | None = None,
) -> None:
    audit.record_by(
        session,
        principal,
        action=action,
        target_type="workflow_env_map",
        target_id=str(mapping.id),
        details={
            "environment_id": str(mapping.environment_id),
            "n8n_workflow_id": mapping.n8n_workflow_id,
            "canonical_id": str(mapping.canonical_id) if mapping.canonical_id else None,
            "status": mapping.status.value,
        }
        | (details or {}),
    )
