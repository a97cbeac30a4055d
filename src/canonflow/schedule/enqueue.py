"""The seam between the scheduler and the job engine: how a due sync is enqueued.

The scheduler decides what is due; this module alone turns that into jobs of the types a
user's "sync now" enqueues (`canonflow.sync.tasks`, `canonflow.repo.tasks`), with the
origin `scheduled` in their params. The tick has already checked, for the whole batch in
one query, that no sync of the row is queued or running, so this goes to the jobs service
directly, the whole batch in one INSERT (checking again per job and marking the origin in a
second statement cost ~5 statements a job, most of the tick's database time in
`bench/scheduler.py`). Re-point it here when the engine changes.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from canonflow.db.models import BackgroundJob
from canonflow.jobs import service as jobs
from canonflow.jobs.registry import JobRegistry
from canonflow.jobs.service import NewJob
from canonflow.repo.tasks import REPOSITORY_SYNC
from canonflow.sync.tasks import ENVIRONMENT_SYNC

SYNC_JOB_TYPES = (ENVIRONMENT_SYNC, REPOSITORY_SYNC)
ORIGIN_SCHEDULED = "scheduled"


def scheduled_job(row_kind: str, tenant_id: uuid.UUID, row_id: uuid.UUID) -> NewJob:
    """The job that syncs one due row: `environment` (its id) or `repository`."""
    if row_kind == "environment":
        params = {"environment_id": str(row_id), "origin": ORIGIN_SCHEDULED}
        return NewJob(tenant_id, ENVIRONMENT_SYNC, params)
    return NewJob(tenant_id, REPOSITORY_SYNC, {"confirm_prune": False, "origin": ORIGIN_SCHEDULED})


def enqueue(session: Session, registry: JobRegistry, new_jobs: list[NewJob]) -> list[BackgroundJob]:
    """Enqueue the tick's batch in one INSERT; the jobs start once the tick commits."""
    return jobs.enqueue_many(session, registry, new_jobs) if new_jobs else []
