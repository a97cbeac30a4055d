"""The untracked list: workflows in n8n with no canonical workflow (status untracked or
missing, not deleted; not a missing one whose place a recreated workflow took), in name
order, one keyset page at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from canonflow.core.status import MappingStatus
from canonflow.db.models import Environment, WorkflowEnvMap

UNTRACKED_STATUSES = (MappingStatus.UNTRACKED, MappingStatus.MISSING)


def _offered() -> Any:
    """Not deleted, untracked or missing, and not replaced by a recreated workflow."""
    m = WorkflowEnvMap
    return and_(
        m.canonical_id.is_(None),
        m.is_deleted.is_(False),
        m.status.in_(UNTRACKED_STATUSES),
        or_(m.status == MappingStatus.UNTRACKED, m.released_canonical_id.is_(None)),
    )


@dataclass(frozen=True)
class UntrackedRow:
    mapping_id: uuid.UUID
    environment_id: uuid.UUID
    environment_name: str
    n8n_workflow_id: str
    name: str | None
    status: MappingStatus
    env_content_hash: str | None
    n8n_updated_at: datetime | None


def untracked_page(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    environment_id: uuid.UUID | None,
    limit: int,
    after: tuple[str | None, uuid.UUID] | None,
) -> list[UntrackedRow]:
    """Up to `limit` rows after the keyset `after` = (name, mapping id)."""
    m = WorkflowEnvMap
    query = (
        select(
            m.id,
            m.environment_id,
            Environment.name,
            m.n8n_workflow_id,
            m.workflow_name,
            m.status,
            m.env_content_hash,
            m.n8n_updated_at,
        )
        .join(Environment, Environment.id == m.environment_id)
        .where(m.tenant_id == tenant_id, _offered())
        .order_by(m.workflow_name.asc().nulls_last(), m.id)
        .limit(limit)
    )
    if environment_id is not None:
        query = query.where(m.environment_id == environment_id)
    if after is None:
        return [UntrackedRow(*row) for row in session.execute(query)]
    name, last_id = after
    if name is None:  # among the nameless ones, which come last
        query = query.where(m.workflow_name.is_(None), m.id > last_id)
        return [UntrackedRow(*row) for row in session.execute(query)]
    # A row-value comparison is an index condition (an OR of the same is only a filter, so
    # every page would rescan the tenant's rows before the cursor); then the nameless.
    after_key = tuple_(m.workflow_name, m.id) > tuple_(literal(name), literal(last_id))
    rows = [UntrackedRow(*row) for row in session.execute(query.where(after_key))]
    if len(rows) < limit:
        nameless = query.where(m.workflow_name.is_(None)).limit(limit - len(rows))
        rows += [UntrackedRow(*row) for row in session.execute(nameless)]
    return rows


def untracked_counts(session: Session, tenant_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """Per environment id: how many untracked workflows (one grouped query)."""
    rows = session.execute(
        select(WorkflowEnvMap.environment_id, func.count())
        .where(WorkflowEnvMap.tenant_id == tenant_id, _offered())
        .group_by(WorkflowEnvMap.environment_id)
    )
    return {row[0]: row[1] for row in rows}


def ignored_page(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    environment_id: uuid.UUID | None,
    limit: int,
    after: tuple[str | None, uuid.UUID] | None,
) -> list[UntrackedRow]:
    """The ignored workflows (not deleted), like `untracked_page`: in name order, up to
    `limit` after the keyset `after` = (name, mapping id); they can be un-ignored."""
    m = WorkflowEnvMap
    query = (
        select(
            m.id,
            m.environment_id,
            Environment.name,
            m.n8n_workflow_id,
            m.workflow_name,
            m.status,
            m.env_content_hash,
            m.n8n_updated_at,
        )
        .join(Environment, Environment.id == m.environment_id)
        .where(m.tenant_id == tenant_id, m.status == MappingStatus.IGNORED, m.is_deleted.is_(False))
        .order_by(func.coalesce(m.workflow_name, ""), m.id)
        .limit(limit)
    )
    if environment_id is not None:
        query = query.where(m.environment_id == environment_id)
    if after is not None:
        name, last_id = after
        key = tuple_(func.coalesce(m.workflow_name, ""), m.id)
        query = query.where(key > tuple_(literal(name or ""), literal(last_id)))
    return [UntrackedRow(*row) for row in session.execute(query)]


def rows_by_id(
    session: Session, tenant_id: uuid.UUID, mapping_ids: list[uuid.UUID]
) -> list[UntrackedRow]:
    """The tenant's mappings among `mapping_ids` (any status; another tenant's are not
    there), in name order: what a bulk action is about to act on."""
    if not mapping_ids:
        return []
    m = WorkflowEnvMap
    query = (
        select(
            m.id,
            m.environment_id,
            Environment.name,
            m.n8n_workflow_id,
            m.workflow_name,
            m.status,
            m.env_content_hash,
            m.n8n_updated_at,
        )
        .join(Environment, Environment.id == m.environment_id)
        .where(m.tenant_id == tenant_id, m.id.in_(mapping_ids), m.is_deleted.is_(False))
        .order_by(Environment.name, func.coalesce(m.workflow_name, ""), m.id)
    )
    return [UntrackedRow(*row) for row in session.execute(query)]
