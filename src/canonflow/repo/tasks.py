"""Job types of the repo package."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from canonflow.config import Settings
from canonflow.core.enums import JobStatus
from canonflow.crypto import SecretBox
from canonflow.db.models import BackgroundJob
from canonflow.errors import Conflict
from canonflow.jobs import repository as jobs_repository
from canonflow.jobs import service as jobs
from canonflow.jobs.registry import JobContext, JobRegistry
from canonflow.repo.sync import PruneGuard, sync_repository
from canonflow.tenancy.service import Principal

REPOSITORY_SYNC = "repository.sync"


def register(registry: JobRegistry, secrets: SecretBox, settings: Settings) -> None:
    def run_repository_sync(context: JobContext) -> dict[str, Any]:
        return sync_repository(
            context.sessions,
            secrets,
            tenant_id=context.tenant_id,
            cache_root=settings.resolved_git_cache_dir,
            max_file_bytes=settings.repo_max_file_bytes,
            job_id=context.job_id,
            progress=context.report_progress,
            prune_guard=PruneGuard(
                percent=settings.prune_guard_percent,
                confirmed=bool(context.params.get("confirm_prune")),
            ),
        ).as_dict()

    registry.register(REPOSITORY_SYNC, run_repository_sync)


def enqueue_repository_sync(
    session: Session, registry: JobRegistry, principal: Principal, *, confirm_prune: bool = False
) -> BackgroundJob:
    """Queue a repo sync, unless one is already queued or running for the tenant.
    `confirm_prune`: let it mark more canonical workflows deleted than the prune guard
    allows."""
    for status in (JobStatus.QUEUED, JobStatus.RUNNING):
        active = jobs_repository.list_page(
            session, principal.tenant_id, limit=1, status=status, job_type=REPOSITORY_SYNC
        )
        if active:
            raise Conflict(
                f"a repository sync is already {status.value} (job {active[0].id})",
                details={"job_id": str(active[0].id)},
            )
    return jobs.enqueue(
        session,
        registry,
        tenant_id=principal.tenant_id,
        job_type=REPOSITORY_SYNC,
        params={"confirm_prune": confirm_prune},
        created_by=principal,
    )
