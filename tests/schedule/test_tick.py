"""The scheduler tick on both backends: what it enqueues, in which order, and what it leaves.

The tick here runs on a session factory without the job runner's dispatch, so the jobs it
enqueues stay queued and the test sees exactly what it decided.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from canonflow.config import Settings
from canonflow.core.enums import JobStatus
from canonflow.core.schedule import next_due_for
from canonflow.db.engine import build_sessionmaker, transaction
from canonflow.db.leases import release, try_acquire
from canonflow.db.models import BackgroundJob, Environment, GitRepository
from canonflow.db.types import utcnow
from canonflow.runtime import Runtime
from canonflow.schedule.service import TICK_LEASE, tick
from canonflow.sync.tasks import ENVIRONMENT_SYNC
from tests.factories import make_tenant

NOW = datetime.fromisoformat("2026-12-06T05:00:00+00:00")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No embedded worker: on PostgreSQL a job deferred by the tick would otherwise start
    (procrastinate, in this process) and race the test's own ending of jobs."""
    return settings.model_copy(update={"embedded_worker": False})


@pytest.fixture
def quiet(runtime: Runtime) -> Iterator[sessionmaker[Session]]:
    """Sessions whose commits start no job."""
    yield build_sessionmaker(runtime.engine)


def _tenant(runtime: Runtime, slug: str) -> uuid.UUID:
    with transaction(runtime.sessions) as session:
        return make_tenant(session, slug=slug).id


def _environments(
    runtime: Runtime, tenant_id: uuid.UUID, count: int, *, due: datetime, **fields: object
) -> list[uuid.UUID]:
    """`count` environments, the first due at `due`, each next one a second later."""
    ids = []
    with transaction(runtime.sessions) as session:
        for i in range(count):
            environment = Environment(
                tenant_id=tenant_id,
                name=f"env-{uuid.uuid4().hex[:6]}",
                base_url="http://127.0.0.1:9",
                api_key=runtime.secrets.seal("k"),
                next_sync_at=due + timedelta(seconds=i),
                **fields,
            )
            session.add(environment)
            session.flush()
            ids.append(environment.id)
    return ids


def _jobs(runtime: Runtime) -> list[BackgroundJob]:
    with transaction(runtime.sessions) as session:
        jobs = session.scalars(select(BackgroundJob).order_by(BackgroundJob.created_at)).all()
        session.expunge_all()
        return list(jobs)


def _finish_all(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.status == JobStatus.QUEUED)
            .values(status=JobStatus.SUCCEEDED, finished_at=utcnow())
        )


def test_due_environments_go_oldest_first_in_a_bounded_batch(
    runtime: Runtime, quiet: sessionmaker[Session]
) -> None:
    tenant = _tenant(runtime, "solo")
    ids = _environments(runtime, tenant, 7, due=NOW - timedelta(minutes=5))
    settings = runtime.settings.model_copy(
        update={"scheduler_batch": 3, "max_concurrent_syncs": 50}
    )

    first = tick(quiet, settings, runtime.jobs, now=NOW)
    assert first.ran
    assert [row.id for row, _ in first.enqueued] == ids[:3]
    second = tick(quiet, settings, runtime.jobs, now=NOW)
    assert [row.id for row, _ in second.enqueued] == ids[3:6]

    jobs = _jobs(runtime)
    assert len(jobs) == 6
    assert {job.type for job in jobs} == {ENVIRONMENT_SYNC}
    assert all(job.params["origin"] == "scheduled" for job in jobs)
    assert [job.params["environment_id"] for job in jobs] == [str(i) for i in ids[:6]]
    with transaction(runtime.sessions) as session:
        for environment in session.scalars(select(Environment).where(Environment.id.in_(ids))):
            if environment.id in ids[:6]:  # moved to its next slot, within one interval
                assert environment.next_sync_at == next_due_for(environment.id, NOW, 3600)
                assert NOW < environment.next_sync_at <= NOW + timedelta(hours=1)
            else:
                assert environment.next_sync_at is not None
                assert environment.next_sync_at < NOW  # still due: the batch was full


def test_paused_manual_and_future_environments_are_left_alone(
    runtime: Runtime, quiet: sessionmaker[Session]
) -> None:
    tenant = _tenant(runtime, "mixed")
    past = NOW - timedelta(minutes=1)
    paused = _environments(runtime, tenant, 1, due=past, paused=True)
    manual = _environments(runtime, tenant, 1, due=past, sync_interval_s=0)
    future = _environments(runtime, tenant, 1, due=NOW + timedelta(minutes=1))
    due = _environments(runtime, tenant, 1, due=past)

    result = tick(quiet, runtime.settings, runtime.jobs, now=NOW)

    assert [row.id for row, _ in result.enqueued] == due
    with transaction(runtime.sessions) as session:
        rows = {e.id: e.next_sync_at for e in session.scalars(select(Environment))}
    assert rows[paused[0]] == past and rows[manual[0]] == past
    assert rows[future[0]] == NOW + timedelta(minutes=1)


def test_an_environment_without_a_due_time_gets_its_slot_not_a_sync(
    runtime: Runtime, quiet: sessionmaker[Session]
) -> None:
    """Rows from before schedules (or just resumed) are not all due at once: each gets its
    own next slot, so a fleet's first tick does not start everything together."""
    tenant = _tenant(runtime, "fresh")
    ids = _environments(runtime, tenant, 3, due=NOW)
    with transaction(runtime.sessions) as session:
        session.execute(update(Environment).values(next_sync_at=None))

    result = tick(quiet, runtime.settings, runtime.jobs, now=NOW)

    assert result.enqueued == [] and result.first_scheduled == 3
    with transaction(runtime.sessions) as session:
        for environment in session.scalars(select(Environment).where(Environment.id.in_(ids))):
            assert environment.next_sync_at == next_due_for(environment.id, NOW, 3600)


def test_per_tenant_cap_lets_a_small_tenant_start_before_a_big_ones_tenth(
    runtime: Runtime, quiet: sessionmaker[Session]
) -> None:
    """Tenant A has 10 due environments, all due before tenant B's one: with a cap of 4,
    B's sync is enqueued in the first tick, A's tenth only after A's first syncs end."""
    a = _tenant(runtime, "tenant-a")
    b = _tenant(runtime, "tenant-b")
    a_ids = _environments(runtime, a, 10, due=NOW - timedelta(minutes=10))
    b_ids = _environments(runtime, b, 1, due=NOW - timedelta(minutes=1))
    settings = runtime.settings.model_copy(update={"max_concurrent_syncs": 4})

    first = tick(quiet, settings, runtime.jobs, now=NOW)
    assert [row.id for row, _ in first.enqueued] == [*a_ids[:4], *b_ids]
    assert first.capped == 6
    assert tick(quiet, settings, runtime.jobs, now=NOW).enqueued == []  # A still at its cap

    for _ in range(2):  # A's syncs end, the next ones of A go, oldest first
        _finish_all(runtime)
        tick(quiet, settings, runtime.jobs, now=NOW)
    order = [uuid.UUID(job.params["environment_id"]) for job in _jobs(runtime)]
    assert order == [*a_ids[:4], *b_ids, *a_ids[4:]]
    assert order.index(b_ids[0]) < order.index(a_ids[9])


def test_a_sync_already_queued_counts_for_the_slot(
    runtime: Runtime, quiet: sessionmaker[Session]
) -> None:
    tenant = _tenant(runtime, "clicked")
    (environment_id,) = _environments(runtime, tenant, 1, due=NOW - timedelta(seconds=5))
    with transaction(quiet) as session:
        session.add(
            BackgroundJob(
                tenant_id=tenant,
                type=ENVIRONMENT_SYNC,
                params={"environment_id": str(environment_id)},
                status=JobStatus.QUEUED,
            )
        )

    result = tick(quiet, runtime.settings, runtime.jobs, now=NOW)

    assert result.enqueued == [] and result.covered == 1
    assert len(_jobs(runtime)) == 1
    with transaction(runtime.sessions) as session:
        environment = session.get(Environment, environment_id)
        assert environment is not None and environment.next_sync_at is not None
        assert environment.next_sync_at > NOW


def test_a_due_repository_gets_a_repo_sync(runtime: Runtime, quiet: sessionmaker[Session]) -> None:
    tenant = _tenant(runtime, "with-repo")
    with transaction(runtime.sessions) as session:
        session.add(
            GitRepository(
                tenant_id=tenant, url="https://example.com/r.git", next_sync_at=NOW - timedelta(1)
            )
        )

    result = tick(quiet, runtime.settings, runtime.jobs, now=NOW)

    assert [row.model for row, _ in result.enqueued] == [GitRepository]
    (job,) = _jobs(runtime)
    assert job.type == "repository.sync" and job.params["origin"] == "scheduled"
    assert tick(quiet, runtime.settings, runtime.jobs, now=NOW).enqueued == []


def test_a_tick_that_overlaps_another_is_skipped(
    runtime: Runtime, quiet: sessionmaker[Session]
) -> None:
    tenant = _tenant(runtime, "overlap")
    _environments(runtime, tenant, 2, due=NOW - timedelta(minutes=1))
    other = try_acquire(runtime.sessions, name=TICK_LEASE, tenant_id=None, ttl=timedelta(minutes=1))
    assert other is not None  # another process's tick, in progress

    skipped = tick(quiet, runtime.settings, runtime.jobs, now=NOW)
    assert not skipped.ran and skipped.enqueued == []
    assert _jobs(runtime) == []

    release(other)
    assert len(tick(quiet, runtime.settings, runtime.jobs, now=NOW).enqueued) == 2
