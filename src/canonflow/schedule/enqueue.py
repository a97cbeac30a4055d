"""The seam between the scheduler and the job engine: how a due sync is enqueued.

The scheduler decides what is due; this module alone turns that into jobs of the types a
user's "sync now" enqueues (`canonflow.sync.tasks`, `canonflow.repo.tasks`), with the
origin `scheduled`: through the jobs service's `enqueue`, so a scheduled job gets the
engine's queue, priority, queueing and lock keys and is deferred like any other (one
enqueue a job: the batch INSERT measured in `bench/scheduler.py` before the engine landed
bypassed all of that).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from canonflow.db.models import BackgroundJob
from canonflow.jobs import service as jobs
from canonflow.jobs.registry import JobRegistry
from canonflow.jobs.spec import Origin
from canonflow.repo.tasks import REPOSITORY_SYNC
from canonflow.sync.tasks import ENVIRONMENT_SYNC

SYNC_JOB_TYPES = (ENVIRONMENT_SYNC, REPOSITORY_SYNC)
ORIGIN_SCHEDULED = Origin.SCHEDULED.value


@dataclass(frozen=True)
class NewJob:
    tenant_id: uuid.UUID
    job_type: str
    params: dict[str, Any]


def scheduled_job(row_kind: str, tenant_id: uuid.UUID, row_id: uuid.UUID) -> NewJob:
    """The job that syncs one due row: `environment` (its id) or `repository`."""
    if row_kind == "environment":
        params = {"environment_id": str(row_id), "origin": ORIGIN_SCHEDULED}
        return NewJob(tenant_id, ENVIRONMENT_SYNC, params)
    return NewJob(tenant_id, REPOSITORY_SYNC, {"confirm_prune": False, "origin": ORIGIN_SCHEDULED})


def enqueue(session: Session, registry: JobRegistry, new_jobs: list[NewJob]) -> list[BackgroundJob]:
    """Enqueue the tick's batch; the jobs start once the tick commits."""
    return [
        jobs.enqueue(
            session,
            registry,
            tenant_id=new.tenant_id,
            job_type=new.job_type,
            params=new.params,
            origin=Origin.SCHEDULED,
        )
        for new in new_jobs
    ]
