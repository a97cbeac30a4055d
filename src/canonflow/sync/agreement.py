"""The base hash where a sync finds both sides already equal (DESIGN section 1: the base is
the content both sides last agreed on; section 3 derives drift and out_of_date from it).

Onboarding, links, deploys and commits set the base when they make the sides agree; this
covers the rest: an edit made in n8n and the same edit merged in Git, or a sync after a
restore. One guarded UPDATE: a mapping whose base already is that hash is not written.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.orm import Session

from canonflow.core.status import MappingStatus
from canonflow.db.models import WorkflowEnvMap


def record_agreement(
    session: Session, tenant_id: uuid.UUID, *, environment_id: uuid.UUID | None = None
) -> int:
    """Set the base of every linked mapping whose environment and Git hashes are equal
    (of one environment, or of the whole tenant). Returns how many changed."""
    m = WorkflowEnvMap
    statement = (
        update(m)
        .where(
            m.tenant_id == tenant_id,
            m.status == MappingStatus.LINKED,
            m.env_content_hash.is_not(None),
            m.env_content_hash == m.git_content_hash,
            (m.base_content_hash.is_(None)) | (m.base_content_hash != m.env_content_hash),
        )
        .values(base_content_hash=m.env_content_hash)
        .execution_options(synchronize_session=False)
    )
    if environment_id is not None:
        statement = statement.where(m.environment_id == environment_id)
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]
