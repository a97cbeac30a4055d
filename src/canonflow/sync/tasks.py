"""Job types of the sync package."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from canonflow.core.enums import JobStatus
from canonflow.crypto import SecretBox
from canonflow.db.models import BackgroundJob
from canonflow.errors import Conflict
from canonflow.jobs import repository as jobs_repository
from canonflow.jobs import service as jobs
from canonflow.jobs.registry import JobContext, JobRegistry
from canonflow.sync.environment import sync_environment
from canonflow.tenancy.service import Principal

ENVIRONMENT_SYNC = "environment.sync"


def register(registry: JobRegistry, secrets: SecretBox) -> None:
    def run_environment_sync(context: JobContext) -> dict[str, Any]:
        result = sync_environment(
            context.sessions,
            secrets,
            tenant_id=context.tenant_id,
            environment_id=uuid.UUID(context.params["environment_id"]),
            job_id=context.job_id,
            progress=context.report_progress,
        )
        return result.as_dict()

    registry.register(ENVIRONMENT_SYNC, run_environment_sync)


def enqueue_environment_sync(
    session: Session, registry: JobRegistry, principal: Principal, environment_id: uuid.UUID
) -> BackgroundJob:
    """Queue a sync of one environment, unless one is already queued or running."""
    for status in (JobStatus.QUEUED, JobStatus.RUNNING):
        for job in jobs_repository.list_page(
            session, principal.tenant_id, limit=1000, status=status, job_type=ENVIRONMENT_SYNC
        ):
            if job.params.get("environment_id") == str(environment_id):
                raise Conflict(
                    f"a sync of this environment is already {status.value} (job {job.id})",
                    details={"job_id": str(job.id)},
                )
    return jobs.enqueue(
        session,
        registry,
        tenant_id=principal.tenant_id,
        job_type=ENVIRONMENT_SYNC,
        params={"environment_id": str(environment_id)},
        created_by=principal,
    )
