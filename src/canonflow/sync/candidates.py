"""The auto-link candidates of one environment, narrowed in SQL to those that can match.

A sync's auto-link (DESIGN section 6) pairs untracked workflows with canonical workflows no
live mapping holds in the environment, by exact name then by content hash. Only a pair
that shares a name or a hash can link or be ambiguous, so each side is read only where the
other side has its name or hash: in a 50,000-workflow environment whose workflows are
linked already, that is the few new ones, not every untracked row against every canonical.
Both filters are uncorrelated `IN (subquery)`s: one hashed (PostgreSQL) or indexed (SQLite)
set each, not a lookup per row.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from canonflow.core.status import LIVE_STATUSES, MappingStatus
from canonflow.db.models import CanonicalWorkflow, WorkflowEnvMap

Row = tuple[uuid.UUID, str | None, str | None]


def auto_link_candidates(
    session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID
) -> tuple[list[Row], list[Row]]:
    """(untracked mappings: id, name, env hash; unlinked canonicals: id, name, Git hash),
    each only where the other side shares its name or its hash."""
    m, c = WorkflowEnvMap, CanonicalWorkflow
    untracked = _untracked(tenant_id, environment_id)
    unlinked = _unlinked(tenant_id, environment_id)
    canonicals = session.execute(
        select(c.id, c.name, c.content_hash).where(
            unlinked,
            or_(
                c.name.in_(select(m.workflow_name).where(untracked)),
                c.content_hash.in_(select(m.env_content_hash).where(untracked)),
            ),
        )
    ).all()
    if not canonicals:
        return [], []
    workflows = session.execute(
        select(m.id, m.workflow_name, m.env_content_hash).where(
            untracked,
            or_(
                m.workflow_name.in_(select(c.name).where(unlinked)),
                m.env_content_hash.in_(select(c.content_hash).where(unlinked)),
            ),
        )
    ).all()
    return [tuple(row) for row in workflows], [tuple(row) for row in canonicals]  # type: ignore[misc]


def _untracked(tenant_id: uuid.UUID, environment_id: uuid.UUID) -> Any:
    m = WorkflowEnvMap
    return (
        (m.tenant_id == tenant_id)
        & (m.environment_id == environment_id)
        & (m.status == MappingStatus.UNTRACKED)
        & m.canonical_id.is_(None)
    )


def _unlinked(tenant_id: uuid.UUID, environment_id: uuid.UUID) -> Any:
    """Canonical workflows of the tenant that no live mapping holds in the environment."""
    m, c = WorkflowEnvMap, CanonicalWorkflow
    linked_here = select(m.canonical_id).where(
        m.tenant_id == tenant_id,
        m.environment_id == environment_id,
        m.canonical_id.is_not(None),
        m.status.in_(LIVE_STATUSES),
    )
    return (c.tenant_id == tenant_id) & c.is_deleted.is_(False) & c.id.not_in(linked_here)
