"""The job that applies a tenant's ignore rules to its cells."""

from __future__ import annotations

from typing import Any

from canonflow.jobs.registry import JobContext, JobRegistry
from canonflow.jobs.spec import JobSpec
from canonflow.policy.service import IGNORE_RULES_APPLY, apply_rules

# idempotent (a cell already current is left alone): run again if its worker died; one runs
# per tenant and one more may wait (it reads the rules when it starts)
IGNORE_RULES_SPEC = JobSpec(
    IGNORE_RULES_APPLY,
    queue="sync",
    lock="ignore-rules:{tenant_id}",
    queueing="ignore-rules:{tenant_id}",
    timeout_s=3600,
    rerun_when_stalled=True,
)


def register(registry: JobRegistry) -> None:
    def run(context: JobContext) -> dict[str, Any]:
        return apply_rules(context.sessions, context.tenant_id, context.report_progress)

    registry.register(IGNORE_RULES_SPEC, run)
