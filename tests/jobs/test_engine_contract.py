"""The job engine's contract, on both backends: SQLite runs the in-process runner,
PostgreSQL runs procrastinate (the runtime's embedded worker, a real worker on the same
database). The handlers here block on events so each test sees the states it asserts."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from canonflow.config import Settings
from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, Tenant
from canonflow.db.types import utcnow
from canonflow.jobs import service
from canonflow.jobs.registry import JobContext
from canonflow.jobs.spec import JobSpec, Origin, RetryPolicy
from canonflow.n8n import N8nUnreachable
from canonflow.n8n.errors import N8nUnauthorized
from canonflow.runtime import Runtime
from canonflow.tenancy.service import authenticate
from tests.factories import make_tenant, make_token

FAST_RETRY = RetryPolicy(attempts=3, base_delay_s=0.05)
N8N = "http://n8n.invalid"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key=Fernet.generate_key().decode(),
        log_level="WARNING",
        job_workers=4,
        max_concurrent_syncs=2,
        job_heartbeat_s=0.5,
    )


@pytest.fixture
def tenant(runtime: Runtime) -> Tenant:
    with transaction(runtime.sessions) as session:
        return make_tenant(session)


class Gate:
    """Handlers wait here; the test records who ran, and at most how many at once."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.started: list[str] = []
        self.running: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self._lock = threading.Lock()

    def handler(self, context: JobContext) -> dict[str, Any]:
        key = str(context.params.get("key"))
        with self._lock:
            self.started.append(str(context.params.get("name", key)))
            self.running[key] = self.running.get(key, 0) + 1
            self.most[key] = max(self.most.get(key, 0), self.running[key])
        try:
            assert self.open.wait(timeout=60)
        finally:
            with self._lock:
                self.running[key] -= 1
        return {"key": key}

    @property
    def release(self) -> Callable[[], None]:
        return self.open.set


@pytest.fixture
def gate(runtime: Runtime) -> Iterator[Gate]:
    gate = Gate()
    yield gate
    gate.open.set()  # never leave a worker blocked


def enqueue(
    runtime: Runtime,
    tenant: Tenant,
    job_type: str,
    origin: Origin = Origin.INTERACTIVE,
    **params: Any,
) -> uuid.UUID:
    with transaction(runtime.sessions) as session:
        job = service.enqueue(
            session,
            runtime.jobs,
            tenant_id=tenant.id,
            job_type=job_type,
            params=params,
            origin=origin,
        )
        return job.id


def load(runtime: Runtime, job_id: uuid.UUID) -> BackgroundJob:
    with transaction(runtime.sessions) as session:
        job = session.get(BackgroundJob, job_id)
        assert job is not None
        return job


def until(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def statuses(runtime: Runtime, job_type: str) -> list[JobStatus]:
    with transaction(runtime.sessions) as session:
        return list(
            session.scalars(select(BackgroundJob.status).where(BackgroundJob.type == job_type))
        )


def test_one_runs_one_waits_and_a_request_while_one_waits_answers_it(
    runtime: Runtime, tenant: Tenant, gate: Gate
) -> None:
    runtime.jobs.register(JobSpec("t.sync", lock="s:{key}", queueing="s:{key}"), gate.handler)
    first = enqueue(runtime, tenant, "t.sync", key="e1")
    until(lambda: load(runtime, first).status is JobStatus.RUNNING)
    second = enqueue(runtime, tenant, "t.sync", key="e1")
    again = [enqueue(runtime, tenant, "t.sync", key="e1") for _ in range(5)]
    assert again == [second] * 5  # the waiting job, not a new one
    assert load(runtime, second).status is JobStatus.QUEUED
    time.sleep(0.5)  # the lock holds: the second does not start beside the first
    assert load(runtime, second).status is JobStatus.QUEUED
    gate.release()
    runtime.runner.wait(second, timeout=30)
    assert [load(runtime, j).status for j in (first, second)] == [JobStatus.SUCCEEDED] * 2
    assert gate.most == {"e1": 1} and len(gate.started) == 2


def test_a_burst_of_concurrent_requests_yields_one_running_and_one_queued(
    runtime: Runtime, tenant: Tenant, gate: Gate
) -> None:
    runtime.jobs.register(JobSpec("t.burst", lock="b:{key}", queueing="b:{key}"), gate.handler)
    running = enqueue(runtime, tenant, "t.burst", key="e")
    until(lambda: load(runtime, running).status is JobStatus.RUNNING)
    answers: list[uuid.UUID] = []
    barrier = threading.Barrier(10)

    def click() -> None:
        barrier.wait()
        for _ in range(5):
            job_id = enqueue(runtime, tenant, "t.burst", key="e")
            assert load(runtime, job_id).status is not None  # readable at once
            answers.append(job_id)

    threads = [threading.Thread(target=click) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 50 and len(set(answers)) == 1
    assert sorted(statuses(runtime, "t.burst")) == [JobStatus.QUEUED, JobStatus.RUNNING]
    gate.release()
    runtime.runner.wait(answers[0], timeout=30)
    assert statuses(runtime, "t.burst") == [JobStatus.SUCCEEDED] * 2


def test_transient_errors_retry_and_permanent_ones_fail_at_once(
    runtime: Runtime, tenant: Tenant
) -> None:
    calls: dict[str, int] = {"flaky": 0, "denied": 0}

    def flaky(context: JobContext) -> dict[str, Any]:
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            raise N8nUnreachable("n8n at http://n8n.invalid is unreachable", base_url=N8N)
        return {"ok": True}

    def denied(context: JobContext) -> None:
        calls["denied"] += 1
        raise N8nUnauthorized("n8n refused the API key (401): check it", base_url=N8N, status=401)

    runtime.jobs.register(JobSpec("t.flaky", retry=FAST_RETRY), flaky)
    runtime.jobs.register(JobSpec("t.denied", retry=FAST_RETRY), denied)
    ok, bad = enqueue(runtime, tenant, "t.flaky"), enqueue(runtime, tenant, "t.denied")
    runtime.runner.wait(ok, timeout=30)
    runtime.runner.wait(bad, timeout=30)
    done, failed = load(runtime, ok), load(runtime, bad)
    assert (done.status, done.result, calls["flaky"]) == (JobStatus.SUCCEEDED, {"ok": True}, 3)
    assert (failed.status, calls["denied"]) == (JobStatus.FAILED, 1)
    assert failed.error == "n8n refused the API key (401): check it"


def test_transient_errors_give_up_after_three_tries_with_the_last_message(
    runtime: Runtime, tenant: Tenant
) -> None:
    calls: list[float] = []

    def down(context: JobContext) -> None:
        calls.append(time.monotonic())
        raise N8nUnreachable("n8n at http://n8n.invalid is unreachable", base_url=N8N)

    runtime.jobs.register(JobSpec("t.down", retry=FAST_RETRY), down)
    job_id = enqueue(runtime, tenant, "t.down")
    runtime.runner.wait(job_id, timeout=30)
    job = load(runtime, job_id)
    assert (job.status, len(calls)) == (JobStatus.FAILED, 3)
    assert job.error == "n8n at http://n8n.invalid is unreachable"


def test_a_tenant_at_its_cap_waits_while_another_tenants_sync_runs(
    runtime: Runtime, tenant: Tenant, gate: Gate
) -> None:
    runtime.jobs.register(
        JobSpec("t.capped", lock="c:{key}", queueing="c:{key}", capped=True), gate.handler
    )
    with transaction(runtime.sessions) as session:
        other = make_tenant(session)
    crowd = [enqueue(runtime, tenant, "t.capped", key=f"a{i}") for i in range(4)]
    until(lambda: statuses(runtime, "t.capped").count(JobStatus.RUNNING) == 2)
    lone = enqueue(runtime, other, "t.capped", key="b0")
    until(lambda: load(runtime, lone).status is JobStatus.RUNNING)
    time.sleep(0.5)
    running = [load(runtime, j).status for j in crowd].count(JobStatus.RUNNING)
    assert running == 2  # max_concurrent_syncs=2, with 4 worker slots free to take more
    gate.release()
    for job_id in [*crowd, lone]:
        runtime.runner.wait(job_id, timeout=60)
    assert statuses(runtime, "t.capped") == [JobStatus.SUCCEEDED] * 5


def test_interactive_work_starts_ahead_of_scheduled_work(
    runtime: Runtime, tenant: Tenant, gate: Gate
) -> None:
    runtime.jobs.register(JobSpec("t.order", lock="one-at-a-time"), gate.handler)
    first = enqueue(runtime, tenant, "t.order", name="first", key="k")
    until(lambda: load(runtime, first).status is JobStatus.RUNNING)
    for i in range(3):
        enqueue(runtime, tenant, "t.order", Origin.SCHEDULED, name=f"scheduled{i}", key="k")
    last = enqueue(runtime, tenant, "t.order", name="manual", key="k")
    assert load(runtime, last).queue == "interactive"
    gate.release()
    until(lambda: statuses(runtime, "t.order") == [JobStatus.SUCCEEDED] * 5)
    assert gate.started[:2] == ["first", "manual"]


def test_cancel_a_queued_job_and_abort_a_running_one_at_a_batch_boundary(
    runtime: Runtime, tenant: Tenant
) -> None:
    batches: list[int] = []

    def long(context: JobContext) -> None:
        for done in range(1, 10_000):
            batches.append(done)
            context.report_progress(done, None)
            time.sleep(0.05)

    runtime.jobs.register(JobSpec("t.long", lock="l", queueing="l"), long)
    running = enqueue(runtime, tenant, "t.long")
    until(lambda: len(batches) > 2)
    queued = enqueue(runtime, tenant, "t.long")
    with transaction(runtime.sessions) as session:
        principal = authenticate(session, make_token(session, session.merge(tenant)))
    for job_id in (queued, running):
        with transaction(runtime.sessions) as session:
            service.cancel(session, principal, job_id)
    runtime.runner.wait(running, timeout=30)
    stopped = load(runtime, running)
    assert stopped.status is JobStatus.CANCELLED
    assert (stopped.error or "").startswith("cancelled while running; stopped after")
    assert load(runtime, queued).status is JobStatus.CANCELLED
    assert len(batches) < 200


def test_a_job_past_its_time_limit_fails_at_a_batch_boundary(
    runtime: Runtime, tenant: Tenant
) -> None:
    def endless(context: JobContext) -> None:
        for done in range(1, 10_000):
            context.report_progress(done, None)
            time.sleep(0.05)

    runtime.jobs.register(JobSpec("t.endless", timeout_s=0.3), endless)
    job_id = enqueue(runtime, tenant, "t.endless")
    runtime.runner.wait(job_id, timeout=30)
    job = load(runtime, job_id)
    assert job.status is JobStatus.FAILED
    assert "ran past its time limit" in (job.error or "")


def test_a_running_job_is_beaten_and_a_dead_workers_job_is_taken_over(
    runtime: Runtime, tenant: Tenant, gate: Gate
) -> None:
    runtime.jobs.register(JobSpec("t.beat"), gate.handler)
    runtime.jobs.register(
        JobSpec("t.rerun", rerun_when_stalled=True, retry=FAST_RETRY), gate.handler
    )
    live = enqueue(runtime, tenant, "t.beat", key="live")
    until(lambda: load(runtime, live).status is JobStatus.RUNNING)
    first_beat = load(runtime, live).heartbeat_at
    long_ago = utcnow() - timedelta(hours=1)
    with transaction(runtime.sessions) as session:
        rows = [
            BackgroundJob(
                tenant_id=tenant.id,
                type=job_type,
                params={"key": key},
                status=JobStatus.RUNNING,
                attempts=1,
                worker_id="elsewhere:1:abc",
                heartbeat_at=beat,
            )
            for job_type, key, beat in (
                ("t.beat", "other", utcnow() + timedelta(hours=1)),  # beats, elsewhere
                ("t.beat", "dead", long_ago),
                ("t.rerun", "dead-rerun", long_ago),
            )
        ]
        session.add_all(rows)
        session.flush()
        other_live, dead, dead_rerun = (job.id for job in rows)
    until(lambda: load(runtime, dead).status is JobStatus.FAILED)  # at the next beat
    assert "no heartbeat" in (load(runtime, dead).error or "")
    until(
        lambda: (
            load(runtime, dead_rerun).status is JobStatus.RUNNING
            and load(runtime, dead_rerun).attempts == 2
        )
    )
    runtime.runner.recover()  # a process starting: a live worker's jobs are left alone
    assert load(runtime, other_live).status is JobStatus.RUNNING
    assert load(runtime, live).status is JobStatus.RUNNING
    beat = load(runtime, live).heartbeat_at
    assert beat is not None and first_beat is not None and beat > first_beat
    gate.release()
    runtime.runner.wait(live, timeout=30)
    runtime.runner.wait(dead_rerun, timeout=30)
    assert load(runtime, dead_rerun).status is JobStatus.SUCCEEDED
