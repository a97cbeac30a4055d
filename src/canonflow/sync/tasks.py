"""Job types of the sync package."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canonflow.crypto import SecretBox
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, Environment, SyncRun
from canonflow.errors import AppError, Conflict
from canonflow.jobs import service as jobs
from canonflow.jobs.registry import JobContext, JobFailed, JobRegistry
from canonflow.jobs.spec import TRANSIENT_RETRY, JobSpec, Origin
from canonflow.n8n.errors import N8nError
from canonflow.notifications import hooks as notify
from canonflow.sync.environment import sync_environment
from canonflow.tenancy.service import Principal

ENVIRONMENT_SYNC = "environment.sync"


ENVIRONMENT_SYNC_SPEC = JobSpec(
    ENVIRONMENT_SYNC,
    queue="sync",
    lock="environment-sync:{environment_id}",
    queueing="environment-sync:{environment_id}",
    retry=TRANSIENT_RETRY,
    timeout_s=3600,
    capped=True,
    rerun_when_stalled=True,  # a sync is idempotent: a dead worker's sync runs again
)


def register(registry: JobRegistry, secrets: SecretBox) -> None:
    def run_environment_sync(context: JobContext) -> dict[str, Any]:
        environment_id = uuid.UUID(context.params["environment_id"])
        try:
            result = sync_environment(
                context.sessions,
                secrets,
                tenant_id=context.tenant_id,
                environment_id=environment_id,
                job_id=context.job_id,
                progress=context.report_progress,
            )
        except (AppError, N8nError) as exc:
            done = last_run_result(context.sessions, context.job_id)
            if done is None:
                raise
            if not isinstance(exc, Conflict) and not notify.retry_follows(
                context.sessions, context.job_id, exc, ENVIRONMENT_SYNC_SPEC.retry.attempts
            ):  # another sync of it running is no failure; a retry may still succeed
                _notify_failed(context, registry, environment_id, done)
            raise JobFailed(exc.message, result=done) from exc  # what it did before failing
        notify.environment_synced(
            context.sessions, registry, tenant_id=context.tenant_id,
            environment_id=environment_id, run_id=result.run_id,
        )  # fmt: skip
        return result.as_dict()

    registry.register(ENVIRONMENT_SYNC_SPEC, run_environment_sync)


def _notify_failed(
    context: JobContext, registry: JobRegistry, environment_id: uuid.UUID, done: dict[str, Any]
) -> None:
    with transaction(context.sessions) as session:
        environment = session.get(Environment, environment_id)
        name = environment.name if environment is not None else None
    notify.sync_failed(context.sessions, registry, tenant_id=context.tenant_id, payload={
        "kind": "environment",
        "environment_id": str(environment_id),
        "environment": name,
        "run_id": done["run_id"],
        "job_id": str(context.job_id),
        "error": done["error"],
    })  # fmt: skip


def last_run_result(sessions: sessionmaker[Session], job_id: uuid.UUID) -> dict[str, Any] | None:
    """The counts of the job's last recorded sync run (a failed run keeps them)."""
    with transaction(sessions) as session:
        run = session.scalars(
            select(SyncRun).where(SyncRun.job_id == job_id).order_by(SyncRun.started_at.desc())
        ).first()
        if run is None:
            return None
        details = run.details or {}
        return {
            "run_id": str(run.id),
            "complete": run.complete,
            "seen": run.seen,
            "created": run.created,
            "updated": run.updated,
            "unchanged": run.unchanged,
            "missing": run.missing,
            "auto_linked": details.get("auto_linked", 0),
            "not_marked_missing_because": details.get("not_marked_missing_because"),
            "error": run.error,
            "duration_ms": run.duration_ms,
        }


def enqueue_environment_sync(
    session: Session,
    registry: JobRegistry,
    principal: Principal | None,
    environment_id: uuid.UUID,
    *,
    tenant_id: uuid.UUID | None = None,
    origin: Origin = Origin.INTERACTIVE,
) -> BackgroundJob:
    """Queue a sync of one environment. While one runs, one more may wait behind it; a
    request while one waits answers the waiting one (it is what the caller asked for).
    The scheduler passes `tenant_id` and `origin=SCHEDULED` (no principal)."""
    owner = principal.tenant_id if principal is not None else tenant_id
    assert owner is not None, "a principal or a tenant_id"
    return jobs.enqueue(
        session,
        registry,
        tenant_id=owner,
        job_type=ENVIRONMENT_SYNC,
        params={"environment_id": str(environment_id)},
        created_by=principal,
        origin=origin,
    )
