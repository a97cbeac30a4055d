"""Job types of the repo package."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from canonflow.config import Settings
from canonflow.crypto import SecretBox
from canonflow.db.models import BackgroundJob
from canonflow.errors import AppError, Conflict
from canonflow.jobs import service as jobs
from canonflow.jobs.registry import JobContext, JobRegistry
from canonflow.jobs.spec import TRANSIENT_RETRY, JobSpec, Origin
from canonflow.notifications import hooks as notify
from canonflow.repo.sync import PruneGuard, sync_repository
from canonflow.tenancy.service import Principal

REPOSITORY_SYNC = "repository.sync"
REPOSITORY_SYNC_SPEC = JobSpec(
    REPOSITORY_SYNC,
    queue="sync",
    lock="repository-sync:{tenant_id}",
    queueing="repository-sync:{tenant_id}",
    retry=TRANSIENT_RETRY,
    timeout_s=3600,
    capped=True,
    rerun_when_stalled=True,
)


def register(registry: JobRegistry, secrets: SecretBox, settings: Settings) -> None:
    def run_repository_sync(context: JobContext) -> dict[str, Any]:
        try:
            return _sync(context)
        except AppError as exc:
            if not isinstance(exc, Conflict) and not notify.retry_follows(
                context.sessions, context.job_id, exc, REPOSITORY_SYNC_SPEC.retry.attempts
            ):  # another sync running is no failure; a retry may still succeed
                notify.sync_failed(context.sessions, registry, tenant_id=context.tenant_id,
                                   payload={"kind": "repository", "job_id": str(context.job_id),
                                            "error": exc.message})  # fmt: skip
            raise

    def _sync(context: JobContext) -> dict[str, Any]:
        result = sync_repository(
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
        # e.g. a promotion whose pull request this sync saw merged (canonflow.promotion)
        registry.run_follow_ups(REPOSITORY_SYNC, context, result)
        return result

    registry.register(REPOSITORY_SYNC_SPEC, run_repository_sync)


def enqueue_repository_sync(
    session: Session,
    registry: JobRegistry,
    principal: Principal | None,
    *,
    confirm_prune: bool = False,
    tenant_id: uuid.UUID | None = None,
    origin: Origin = Origin.INTERACTIVE,
) -> BackgroundJob:
    """Queue a repo sync: one runs per tenant, one more may wait; a request while one
    waits answers the waiting one (a confirmed prune carries over to it).
    `confirm_prune`: let it mark more canonical workflows deleted than the prune guard
    allows."""
    owner = principal.tenant_id if principal is not None else tenant_id
    assert owner is not None, "a principal or a tenant_id"
    job = jobs.enqueue(
        session,
        registry,
        tenant_id=owner,
        job_type=REPOSITORY_SYNC,
        params={"confirm_prune": confirm_prune},
        created_by=principal,
        origin=origin,
    )
    if confirm_prune and not job.params.get("confirm_prune"):
        job.params = {**job.params, "confirm_prune": True}
        session.flush()
    return job
