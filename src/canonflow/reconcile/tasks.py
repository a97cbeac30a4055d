"""The reconcile apply job type."""

from __future__ import annotations

from typing import Any

from canonflow.config import Settings
from canonflow.crypto import SecretBox
from canonflow.governance import starters
from canonflow.jobs.registry import JobContext, JobFailed, JobRegistry
from canonflow.jobs.spec import JobSpec
from canonflow.notifications import hooks as notify
from canonflow.reconcile import service
from canonflow.reconcile.apply import RECONCILE_APPLY, run_apply


def register(registry: JobRegistry, secrets: SecretBox, settings: Settings) -> None:
    def run(context: JobContext) -> dict[str, Any]:
        try:
            result = run_apply(
                context,
                secrets,
                settings.resolved_git_cache_dir,
                concurrency=settings.deploy_concurrency,
            )
        except JobFailed as exc:
            _finished(context, registry, exc.result, exc.message)
            raise
        _finished(context, registry, result, None)
        return result

    registry.register(APPLY_SPEC, run)
    # an apply held for approval starts here once approved (governance.approvals)
    starters.register(service.APPLY, service.start_approved)


def _finished(
    context: JobContext, registry: JobRegistry, result: dict[str, Any], error: str | None
) -> None:
    """`apply.finished`, in its own transaction once the apply's writes are committed."""
    notify.apply_finished(
        context.sessions, registry, tenant_id=context.tenant_id, job_id=context.job_id,
        result=result, error=error,
    )  # fmt: skip


# an apply writes to n8n and Git: it is not run again on its own (its leases serialize it)
APPLY_SPEC = JobSpec(RECONCILE_APPLY, queue="deploy", timeout_s=6 * 3600)
