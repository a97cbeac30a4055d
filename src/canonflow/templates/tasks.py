"""The template instantiation job type."""

from __future__ import annotations

from typing import Any

from canonflow.config import Settings
from canonflow.crypto import SecretBox
from canonflow.jobs.registry import JobContext, JobRegistry
from canonflow.jobs.spec import JobSpec
from canonflow.templates.service import TEMPLATE_INSTANTIATE
from canonflow.templates.writing import run_instantiate


def register(registry: JobRegistry, secrets: SecretBox, settings: Settings) -> None:
    def run(context: JobContext) -> dict[str, Any]:
        return run_instantiate(context, secrets, settings.resolved_git_cache_dir)

    registry.register(INSTANTIATE_SPEC, run)


# writes to Git: never run again on its own (a second run finds the file and stops); it
# waits for a repo sync of the tenant to finish (both use the local copy)
INSTANTIATE_SPEC = JobSpec(
    TEMPLATE_INSTANTIATE, queue="deploy", lock="repository-sync:{tenant_id}", timeout_s=600
)
