"""The seam between the scheduler and the job engine: how a due sync is enqueued.

The scheduler decides what is due; this module alone turns that into jobs, through the
same enqueue functions a user's "sync now" calls, and marks each job's origin `scheduled`.
Re-point it here when the engine changes.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from canonflow.core.enums import Role
from canonflow.db.models import BackgroundJob
from canonflow.errors import Conflict
from canonflow.jobs.registry import JobRegistry
from canonflow.repo.tasks import REPOSITORY_SYNC, enqueue_repository_sync
from canonflow.sync.tasks import ENVIRONMENT_SYNC, enqueue_environment_sync
from canonflow.tenancy.service import Principal

SYNC_JOB_TYPES = (ENVIRONMENT_SYNC, REPOSITORY_SYNC)
ORIGIN_SCHEDULED = "scheduled"


def scheduler_principal(tenant_id: uuid.UUID) -> Principal:
    return Principal(
        tenant_id=tenant_id, tenant_slug="", token_id=None, name="scheduler", role=Role.ADMIN
    )


def enqueue_environment(
    session: Session, registry: JobRegistry, tenant_id: uuid.UUID, environment_id: uuid.UUID
) -> BackgroundJob | None:
    """The scheduled sync's job, or None when one is already queued or running."""
    try:
        job = enqueue_environment_sync(
            session, registry, scheduler_principal(tenant_id), environment_id
        )
    except Conflict:
        return None
    return _mark_scheduled(session, job)


def enqueue_repository(
    session: Session, registry: JobRegistry, tenant_id: uuid.UUID
) -> BackgroundJob | None:
    try:
        job = enqueue_repository_sync(session, registry, scheduler_principal(tenant_id))
    except Conflict:
        return None
    return _mark_scheduled(session, job)


def _mark_scheduled(session: Session, job: BackgroundJob) -> BackgroundJob:
    job.params = {**job.params, "origin": ORIGIN_SCHEDULED}
    session.flush()
    return job
