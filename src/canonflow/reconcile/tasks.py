"""The reconcile apply job type."""

from __future__ import annotations

from typing import Any

from canonflow.config import Settings
from canonflow.crypto import SecretBox
from canonflow.governance import starters
from canonflow.jobs.registry import JobContext, JobRegistry
from canonflow.jobs.spec import JobSpec
from canonflow.reconcile import service
from canonflow.reconcile.apply import RECONCILE_APPLY, run_apply


def register(registry: JobRegistry, secrets: SecretBox, settings: Settings) -> None:
    def run(context: JobContext) -> dict[str, Any]:
        return run_apply(
            context,
            secrets,
            settings.resolved_git_cache_dir,
            concurrency=settings.deploy_concurrency,
        )

    registry.register(APPLY_SPEC, run)
    # an apply held for approval starts here once approved (governance.approvals)
    starters.register(service.APPLY, service.start_approved)


# an apply writes to n8n and Git: it is not run again on its own (its leases serialize it)
APPLY_SPEC = JobSpec(RECONCILE_APPLY, queue="deploy", timeout_s=6 * 3600)
