"""`sync.failed` on both backends: an environment whose n8n does not answer (a closed port)
fails its sync job after its retries, and one signed notification carries the error."""

from __future__ import annotations

from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import Environment, NotificationDestination
from canonflow.runtime import Runtime
from canonflow.sync.tasks import enqueue_environment_sync
from tests.factories import make_tenant
from tests.notifications.conftest import SECRET, wait_deliveries
from tests.notifications.receiver import Receiver


def test_a_sync_of_a_dead_n8n_notifies_once_with_the_error(runtime: Runtime) -> None:
    closed = Receiver()
    dead_url = closed.url.removesuffix("/hook")
    closed.close()
    with Receiver() as receiver:
        with transaction(runtime.sessions) as session:
            tenant = make_tenant(session)
            environment = Environment(
                tenant_id=tenant.id, name="dev", base_url=dead_url,
                api_key=runtime.secrets.seal("n8n-api-key-0123456789"),
            )  # fmt: skip
            session.add_all([environment, NotificationDestination(
                tenant_id=tenant.id, url=receiver.url, kind="generic",
                secret=runtime.secrets.seal(SECRET), events=["sync.failed"],
            )])  # fmt: skip
            session.flush()
            job = enqueue_environment_sync(
                session, runtime.jobs, None, environment.id, tenant_id=tenant.id
            )
            tenant_id, environment_id, job_id = tenant.id, environment.id, job.id
        runtime.runner.wait(job_id, timeout=120)
        [delivery] = wait_deliveries(runtime, tenant_id)
    assert delivery.status is JobStatus.SUCCEEDED, delivery.error
    [received] = receiver.requests  # after the sync's last attempt only, not once per attempt
    assert received.signed_by(SECRET)
    data = received.json()["data"]
    assert data["kind"] == "environment" and data["environment"] == "dev"
    assert data["environment_id"] == str(environment_id) and data["job_id"] == str(job_id)
    assert data["error"].startswith("environment 'dev': ")
    assert "n8n-api-key" not in received.body.decode()
