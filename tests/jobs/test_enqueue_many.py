"""`enqueue_many` (the scheduler tick's batch), on both backends: the same rows a loop of
`enqueue` makes, deferred in the batch's transaction (procrastinate on PostgreSQL, the
in-process runner on SQLite), keys already queued answered by their job, nothing left
behind by a rollback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from canonflow.config import Settings
from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, Tenant
from canonflow.errors import Invalid
from canonflow.jobs import service
from canonflow.jobs.registry import JobContext
from canonflow.jobs.service import JobRequest
from canonflow.jobs.spec import JobSpec, Origin
from canonflow.runtime import Runtime
from tests.factories import make_tenant
from tests.jobs.test_engine_contract import Gate, enqueue, load, statuses, until

COMPARED = ("type", "origin", "queue", "priority", "lock_key", "queueing_key", "params")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key=Fernet.generate_key().decode(),
        log_level="WARNING",
        job_workers=4,
        job_heartbeat_s=0.5,
    )


@pytest.fixture
def tenant(runtime: Runtime) -> Tenant:
    with transaction(runtime.sessions) as session:
        return make_tenant(session)


@pytest.fixture
def gate(runtime: Runtime) -> Iterator[Gate]:
    gate = Gate()
    yield gate
    gate.open.set()


class Recorder:
    def __init__(self) -> None:
        self.ran: list[str] = []
        self._lock = threading.Lock()

    def handler(self, context: JobContext) -> dict[str, Any]:
        with self._lock:
            self.ran.append(str(context.params["key"]))
        return {"key": context.params["key"]}


def requests(tenant: Tenant, job_type: str, *keys: str) -> list[JobRequest]:
    return [JobRequest(tenant.id, job_type, {"key": key}) for key in keys]


def engine_rows(session: Session, engine_ids: list[int]) -> dict[int, tuple[Any, ...]]:
    """procrastinate's jobs as this transaction sees them: id -> (queue, priority, lock,
    the background job id in its args)."""
    rows = session.execute(
        text(
            "SELECT id, queue_name, priority, lock, args ->> 'job_id' FROM procrastinate_jobs "
            "WHERE id = ANY(CAST(:ids AS bigint[]))"
        ),
        {"ids": engine_ids},
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def test_a_batch_makes_the_rows_a_loop_of_enqueue_makes_and_they_run_to_the_end(
    runtime: Runtime, tenant: Tenant, backend: str
) -> None:
    recorder = Recorder()
    spec = JobSpec("t.batch", queue="sync", lock="b:{key}", queueing="b:{key}", capped=True)
    runtime.jobs.register(spec, recorder.handler)
    keys = ("a", "b", "c")
    looped = [enqueue(runtime, tenant, "t.batch", Origin.SCHEDULED, key=key) for key in keys]
    for job_id in looped:
        runtime.runner.wait(job_id, timeout=30)

    with transaction(runtime.sessions) as session:
        answers = service.enqueue_many(
            session, runtime.jobs, requests(tenant, "t.batch", *keys), origin=Origin.SCHEDULED
        )
        assert [created for _job, created in answers] == [True] * 3
        batched = [job.id for job, _created in answers]
        if backend == "postgresql":  # deferred in this very transaction, one per row
            engine_ids = [job.engine_job_id for job, _created in answers]
            assert None not in engine_ids
            assert engine_rows(session, [i for i in engine_ids if i is not None]) == {
                job.engine_job_id: ("sync", 0, job.lock_key, str(job.id)) for job, _ in answers
            }
    for job_id in batched:
        runtime.runner.wait(job_id, timeout=30)

    assert sorted(recorder.ran) == sorted(keys * 2)
    for one, other in zip(looped, batched, strict=True):
        single, many = load(runtime, one), load(runtime, other)
        assert [getattr(many, name) for name in COMPARED] == [
            getattr(single, name) for name in COMPARED
        ]
        assert (single.status, many.status) == (JobStatus.SUCCEEDED, JobStatus.SUCCEEDED)
        assert many.result == {"key": many.params["key"]}
        has_engine_ids = (single.engine_job_id is not None, many.engine_job_id is not None)
        assert has_engine_ids == ((backend == "postgresql",) * 2)
    assert (many.origin, many.queue, many.priority) == ("scheduled", "sync", 0)
    assert many.queueing_key == many.lock_key == "b:c"


def test_a_key_already_queued_is_answered_by_its_job_and_a_key_twice_makes_one_job(
    runtime: Runtime, tenant: Tenant, gate: Gate, backend: str
) -> None:
    runtime.jobs.register(JobSpec("t.skip", lock="s:{key}", queueing="s:{key}"), gate.handler)
    running = enqueue(runtime, tenant, "t.skip", key="x")
    until(lambda: load(runtime, running).status is JobStatus.RUNNING)
    waiting = enqueue(runtime, tenant, "t.skip", Origin.SCHEDULED, key="x")
    assert load(runtime, waiting).queue == "default"

    with transaction(runtime.sessions) as session:
        answers = service.enqueue_many(
            session,
            runtime.jobs,
            requests(tenant, "t.skip", "x", "y", "y"),
            origin=Origin.INTERACTIVE,
        )
        (x, x_created), (y, y_created), (y_again, y_again_created) = answers
        assert (x.id, x_created) == (waiting, False)
        assert (y_created, y_again.id, y_again_created) == (True, y.id, False)
        new_y = y.id
    promoted = load(runtime, waiting)  # an interactive request lifts the waiting one
    assert (promoted.queue, promoted.priority, promoted.origin) == (
        "interactive",
        10,
        "interactive",
    )
    if backend == "postgresql":
        with transaction(runtime.sessions) as session:
            rows = engine_rows(session, [promoted.engine_job_id or 0])
            assert rows[promoted.engine_job_id or 0][:2] == ("interactive", 10)
    with transaction(runtime.sessions) as session:
        count = select(func.count()).where(BackgroundJob.type == "t.skip")
        assert session.scalar(count) == 3  # x running, x waiting, one y

    gate.release()
    for job_id in (running, waiting, new_y):
        runtime.runner.wait(job_id, timeout=30)
    assert statuses(runtime, "t.skip") == [JobStatus.SUCCEEDED] * 3
    assert gate.most == {"x": 1, "y": 1}


def test_a_rolled_back_batch_leaves_neither_rows_nor_engine_jobs(
    runtime: Runtime, tenant: Tenant, backend: str
) -> None:
    recorder = Recorder()
    runtime.jobs.register(JobSpec("t.undone", lock="u:{key}", queueing="u:{key}"), recorder.handler)
    failed = pytest.raises(RuntimeError, match="the tick failed")
    with failed, transaction(runtime.sessions) as session:
        answers = service.enqueue_many(
            session, runtime.jobs, requests(tenant, "t.undone", "p", "q")
        )
        ids = [str(job.id) for job, _created in answers]
        engine_ids = [job.engine_job_id or 0 for job, _created in answers]
        assert len(set(ids)) == 2
        if backend == "postgresql":
            assert len(engine_rows(session, engine_ids)) == 2
        raise RuntimeError("the tick failed")

    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).where(BackgroundJob.type == "t.undone")) == 0
        if backend == "postgresql":
            assert engine_rows(session, engine_ids) == {}
            left = session.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs "
                    "WHERE args ->> 'job_id' = ANY(CAST(:ids AS text[]))"
                ),
                {"ids": ids},
            )
            assert left == 0
    after = enqueue(runtime, tenant, "t.undone", key="r")  # the next commit runs only its job
    runtime.runner.wait(after, timeout=30)
    assert load(runtime, after).status is JobStatus.SUCCEEDED
    assert recorder.ran == ["r"]


def test_an_unknown_type_in_a_batch_fails_before_anything_is_written(
    runtime: Runtime, tenant: Tenant
) -> None:
    runtime.jobs.register(JobSpec("t.known"), Recorder().handler)
    with transaction(runtime.sessions) as session:
        batch = [*requests(tenant, "t.known", "k"), JobRequest(tenant.id, "t.nope", {})]
        with pytest.raises(Invalid, match=r"unknown job type 't\.nope'"):
            service.enqueue_many(session, runtime.jobs, batch)
        assert session.scalar(select(func.count()).select_from(BackgroundJob)) == 0


def test_an_empty_batch_does_nothing(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        assert service.enqueue_many(session, runtime.jobs, []) == []
        assert session.scalar(select(func.count()).select_from(BackgroundJob)) == 0
