"""The seam between the scheduler and the job engine: how a due sync is enqueued.

The scheduler decides what is due; this module alone turns that into jobs of the types a
user's "sync now" enqueues (`canonflow.sync.tasks`, `canonflow.repo.tasks`), with the
origin `scheduled`: through the jobs service's `enqueue_many`, so a scheduled job gets the
engine's queue, priority, queueing and lock keys and is deferred like any other, the whole
tick's batch in one INSERT and one defer (not one `enqueue` per due row).
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from canonflow.jobs import service as jobs
from canonflow.jobs.registry import JobRegistry
from canonflow.jobs.service import JobRequest, Queued
from canonflow.jobs.spec import Origin
from canonflow.repo.tasks import REPOSITORY_SYNC
from canonflow.sync.tasks import ENVIRONMENT_SYNC

SYNC_JOB_TYPES = (ENVIRONMENT_SYNC, REPOSITORY_SYNC)
ORIGIN_SCHEDULED = Origin.SCHEDULED.value


def scheduled_job(row_kind: str, tenant_id: uuid.UUID, row_id: uuid.UUID) -> JobRequest:
    """The job that syncs one due row: `environment` (its id) or `repository`."""
    if row_kind == "environment":
        params = {"environment_id": str(row_id), "origin": ORIGIN_SCHEDULED}
        return JobRequest(tenant_id, ENVIRONMENT_SYNC, params)
    return JobRequest(
        tenant_id, REPOSITORY_SYNC, {"confirm_prune": False, "origin": ORIGIN_SCHEDULED}
    )


def enqueue(session: Session, registry: JobRegistry, requests: list[JobRequest]) -> list[Queued]:
    """Enqueue the tick's batch; the jobs start once the tick commits."""
    return jobs.enqueue_many(session, registry, requests, origin=Origin.SCHEDULED)
