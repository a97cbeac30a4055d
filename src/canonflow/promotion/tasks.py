"""The promotion job type, and its follow-up of repo syncs (a merged pull request)."""

from __future__ import annotations

from typing import Any

from canonflow.config import Settings
from canonflow.crypto import SecretBox
from canonflow.governance import starters
from canonflow.jobs.registry import JobContext, JobRegistry
from canonflow.jobs.spec import JobSpec
from canonflow.promotion import service
from canonflow.promotion.continuation import continue_waiting
from canonflow.promotion.run import run_promotion
from canonflow.promotion.service import PROMOTION_RUN
from canonflow.repo.tasks import REPOSITORY_SYNC

# writes to n8n and Git: not run again on its own (the apply lease serializes it)
PROMOTION_SPEC = JobSpec(PROMOTION_RUN, queue="deploy", timeout_s=6 * 3600)


def register(registry: JobRegistry, secrets: SecretBox, settings: Settings) -> None:
    cache_root = settings.resolved_git_cache_dir

    def run(context: JobContext) -> dict[str, Any]:
        return run_promotion(
            context, registry, secrets, cache_root, concurrency=settings.deploy_concurrency
        )

    def after_repository_sync(context: JobContext, result: dict[str, Any]) -> None:
        moved = continue_waiting(
            context.sessions, secrets, registry, tenant_id=context.tenant_id,
            cache_root=cache_root,
        )  # fmt: skip
        if moved["deploying"] or moved["cancelled"]:
            result["promotions"] = moved

    registry.register(PROMOTION_SPEC, run)
    starters.register(service.PROMOTION, service.start_approved)
    registry.add_follow_up(REPOSITORY_SYNC, after_repository_sync)
