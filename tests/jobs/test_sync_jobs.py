"""Environment sync jobs on both engines, against real n8n."""

from __future__ import annotations

from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob
from canonflow.runtime import Runtime
from canonflow.sync.tasks import enqueue_environment_sync
from tests.support.n8n import N8nInstance
from tests.sync.conftest import add_environment


def test_a_sync_refused_by_n8n_fails_at_once_and_keeps_what_it_did(
    runtime: Runtime, n8n_dev: N8nInstance
) -> None:
    env = add_environment(runtime, n8n_dev, api_key="not-the-key")
    with transaction(runtime.sessions) as session:
        job_id = enqueue_environment_sync(
            session, runtime.jobs, None, env.environment_id, tenant_id=env.tenant_id
        ).id
    runtime.runner.wait(job_id, timeout=60)
    with transaction(runtime.sessions) as session:
        job = session.get(BackgroundJob, job_id)
        assert job is not None
    assert job.status is JobStatus.FAILED
    assert job.attempts == 1 and "retrying" not in (job.error or "")  # a 401 is not retried
    assert job.result is not None  # not `result: null`: the run's counts and why
    assert (job.result["complete"], job.result["seen"], job.result["missing"]) == (False, 0, 0)
    assert "nothing was marked missing" in job.result["not_marked_missing_because"]
