"""The onboarding inventory job."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from canonflow.core.enums import JobStatus
from canonflow.crypto import SecretBox
from canonflow.db.models import BackgroundJob
from canonflow.jobs import repository as jobs_repository
from canonflow.jobs import service as jobs
from canonflow.jobs.registry import JobContext, JobRegistry
from canonflow.jobs.spec import TRANSIENT_RETRY, JobSpec
from canonflow.onboarding.inventory import run_inventory
from canonflow.tenancy.service import Principal

CANONICAL_ONBOARDING_INVENTORY = "canonical.onboarding.inventory"
INVENTORY_SPEC = JobSpec(
    CANONICAL_ONBOARDING_INVENTORY,
    queue="sync",
    lock="inventory:{tenant_id}",
    queueing="inventory:{tenant_id}",
    retry=TRANSIENT_RETRY,
    timeout_s=3600,
    capped=True,
)


def register(registry: JobRegistry, secrets: SecretBox) -> None:
    def run(context: JobContext) -> dict[str, Any]:
        return run_inventory(
            context.sessions,
            secrets,
            tenant_id=context.tenant_id,
            job_id=context.job_id,
            progress=context.report_progress,
        ).as_dict()

    registry.register(INVENTORY_SPEC, run)


def active_inventory(session: Session, principal: Principal) -> BackgroundJob | None:
    for status in (JobStatus.RUNNING, JobStatus.QUEUED):
        active = jobs_repository.list_page(
            session,
            principal.tenant_id,
            limit=1,
            status=status,
            job_type=CANONICAL_ONBOARDING_INVENTORY,
        )
        if active:
            return active[0]
    return None


def enqueue_inventory(
    session: Session, registry: JobRegistry, principal: Principal
) -> BackgroundJob:
    """Queue an inventory, as a sync is queued: one runs per tenant (its lock key) and at
    most one more waits (its queueing key); a request while one waits answers that one."""
    return jobs.enqueue(
        session,
        registry,
        tenant_id=principal.tenant_id,
        job_type=CANONICAL_ONBOARDING_INVENTORY,
        created_by=principal,
    )
