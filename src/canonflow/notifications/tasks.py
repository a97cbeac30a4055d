"""The delivery job type (`notifications.deliver`): one job per event batch."""

from __future__ import annotations

from typing import Any

from canonflow.config import Settings
from canonflow.crypto import SecretBox
from canonflow.jobs.registry import JobContext, JobRegistry
from canonflow.jobs.spec import JobSpec
from canonflow.notifications.delivery import Policy, run_delivery
from canonflow.notifications.events import NOTIFY_DELIVER

# retried per destination inside the job (each attempt logged), so the job is not rerun:
# a rerun would post again to the destinations that already took it
DELIVER_SPEC = JobSpec(NOTIFY_DELIVER, queue="notify", timeout_s=1800)


def register(registry: JobRegistry, secrets: SecretBox, settings: Settings) -> None:
    policy = Policy(
        attempts=settings.notify_attempts,
        backoff_s=settings.notify_backoff_s,
        timeout_s=settings.notify_timeout_s,
    )

    def run(context: JobContext) -> dict[str, Any]:
        return run_delivery(context, secrets, policy)

    registry.register(DELIVER_SPEC, run)
