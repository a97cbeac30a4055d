"""The per-tenant cap with the real job runner and real n8n: tenant A has 10 due
environments, all due before tenant B's one; B's sync starts before A's tenth."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, Environment
from canonflow.db.types import utcnow
from canonflow.runtime import Runtime
from canonflow.schedule.service import tick
from tests.factories import make_tenant
from tests.support.n8n import N8nInstance


def _add(
    runtime: Runtime, n8n: N8nInstance, slug: str, count: int, due_minutes_ago: int
) -> list[str]:
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session, slug=slug)
        rows = [
            Environment(
                tenant_id=tenant.id,
                name=f"{slug}-{i:02d}",
                base_url=n8n.base_url,
                api_key=runtime.secrets.seal(n8n.api_key),
                next_sync_at=utcnow() - timedelta(minutes=due_minutes_ago, seconds=-i),
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [str(row.id) for row in rows]


def test_a_small_tenant_starts_before_a_big_ones_tenth(
    runtime: Runtime, clean_n8n_dev: N8nInstance
) -> None:
    a_ids = _add(runtime, clean_n8n_dev, "tenant-a", 10, due_minutes_ago=10)
    b_ids = _add(runtime, clean_n8n_dev, "tenant-b", 1, due_minutes_ago=1)
    settings = runtime.settings.model_copy(update={"max_concurrent_syncs": 4})

    deadline = time.monotonic() + 120
    while True:  # what serve's loop does, faster
        tick(runtime.sessions, settings, runtime.jobs, now=utcnow())
        with transaction(runtime.sessions) as session:
            jobs = session.scalars(select(BackgroundJob)).all()
            started = {job.params["environment_id"]: job.started_at for job in jobs}
            done = [job for job in jobs if job.status is JobStatus.SUCCEEDED]
            session.expunge_all()
        if len(done) == 11:
            break
        assert time.monotonic() < deadline, f"{len(done)} of 11 syncs done"
        time.sleep(0.2)

    assert all(job.params["origin"] == "scheduled" for job in done)
    a_starts = sorted(started[i] for i in a_ids)
    assert started[b_ids[0]] < a_starts[9]
