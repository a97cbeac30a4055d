"""What a promotion reads from the database: its two environments (checked against their
promotion order), the workflows in each, and which workflows it selects. Read only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from canonflow.core.status import MappingStatus
from canonflow.db.models import CanonicalWorkflow, Environment, WorkflowEnvMap
from canonflow.errors import Invalid, NotFound
from canonflow.promotion.schemas import PromotionRequest


@dataclass(frozen=True)
class Canonical:
    id: uuid.UUID
    slug: str
    name: str
    content_hash: str | None
    is_deleted: bool
    git_file_path: str | None


@dataclass
class Estate:
    """The two environments and what the database holds of each."""

    source: Environment
    target: Environment
    canonicals: dict[uuid.UUID, Canonical]
    by_slug: dict[str, uuid.UUID]
    in_source: dict[uuid.UUID, WorkflowEnvMap]  # canonical id -> mapping (not deleted)
    in_target: dict[uuid.UUID, WorkflowEnvMap]


def check_environments(
    session: Session, tenant_id: uuid.UUID, request: PromotionRequest
) -> tuple[Environment, Environment]:
    """Both environments, of the tenant (else NotFound), in promotion order: both have an
    order and the target's is higher (else Invalid naming them)."""
    source = _environment(session, tenant_id, request.from_environment_id)
    target = _environment(session, tenant_id, request.to_environment_id)
    unordered = [e.name for e in (source, target) if e.promotion_order is None]
    if unordered:
        raise Invalid(
            f"environment {' and '.join(unordered)} has no promotion_order: give each "
            "environment its place (e.g. dev 1, staging 2, prod 3) before promoting"
        )
    assert source.promotion_order is not None and target.promotion_order is not None
    if target.promotion_order <= source.promotion_order:
        raise Invalid(
            f"promotion goes to a later environment: {source.name} has promotion_order "
            f"{source.promotion_order}, {target.name} has {target.promotion_order}"
        )
    return source, target


def load_estate(session: Session, tenant_id: uuid.UUID, request: PromotionRequest) -> Estate:
    source, target = check_environments(session, tenant_id, request)
    c = CanonicalWorkflow
    canonicals = {
        row.id: Canonical(
            row.id,
            row.canonical_slug,
            row.name,
            row.content_hash,
            row.is_deleted,
            row.git_file_path,
        )
        for row in session.execute(
            select(
                c.id, c.canonical_slug, c.name, c.content_hash, c.is_deleted, c.git_file_path
            ).where(c.tenant_id == tenant_id)
        )
    }
    estate = Estate(source, target, canonicals, {v.slug: k for k, v in canonicals.items()}, {}, {})
    m = WorkflowEnvMap
    rows = session.scalars(
        select(m)
        .options(defer(m.workflow_data))
        .where(
            m.tenant_id == tenant_id,
            m.environment_id.in_([source.id, target.id]),
            m.canonical_id.is_not(None),
            m.status != MappingStatus.DELETED,
        )
    )
    for row in rows:
        assert row.canonical_id is not None
        side = estate.in_source if row.environment_id == source.id else estate.in_target
        side[row.canonical_id] = row
    return estate


def selected(estate: Estate, request: PromotionRequest) -> list[uuid.UUID]:
    """The canonical ids asked for (each must be the tenant's), or with `all_changed` every
    workflow linked in the source whose version differs from the target's (or is absent
    there, and not ignored there), by slug."""
    if request.canonical_ids is not None:
        unknown = [i for i in request.canonical_ids if i not in estate.canonicals]
        if unknown:
            raise NotFound(f"no canonical workflow {unknown[0]}")
        return list(dict.fromkeys(request.canonical_ids))
    changed = [
        canonical_id
        for canonical_id, mapping in estate.in_source.items()
        if mapping.status is MappingStatus.LINKED
        and not estate.canonicals[canonical_id].is_deleted
        and _target_hash(estate, canonical_id) != mapping.env_content_hash
        and not _ignored(estate.in_target.get(canonical_id))  # left alone there on purpose
    ]
    return sorted(changed, key=lambda i: estate.canonicals[i].slug)


def live(mapping: WorkflowEnvMap | None) -> WorkflowEnvMap | None:
    """The mapping when it holds a workflow there now (linked)."""
    return mapping if mapping is not None and mapping.status is MappingStatus.LINKED else None


def _ignored(mapping: WorkflowEnvMap | None) -> bool:
    return mapping is not None and mapping.status is MappingStatus.IGNORED


def _target_hash(estate: Estate, canonical_id: uuid.UUID) -> str | None:
    mapping = live(estate.in_target.get(canonical_id))
    return mapping.env_content_hash if mapping is not None else None


def _environment(session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID) -> Any:
    found = session.scalars(
        select(Environment).where(
            Environment.tenant_id == tenant_id, Environment.id == environment_id
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"no environment {environment_id}")
    return found
