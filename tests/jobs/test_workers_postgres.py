"""`canonflow worker` processes on one PostgreSQL, syncing real n8n environments."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from canonflow.config import Settings
from canonflow.core.enums import JobStatus
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, SyncRun, WorkflowEnvMap
from canonflow.runtime import Runtime
from canonflow.sync.tasks import enqueue_environment_sync
from tests.cli.helpers import canonflow_bin, cli_env
from tests.conftest import ENABLED_BACKENDS
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import create_workflows
from tests.sync.conftest import EnvUnderTest, add_environment

if "postgresql" not in ENABLED_BACKENDS:
    pytest.skip("worker processes need PostgreSQL", allow_module_level=True)

WORKFLOWS = 120
HEARTBEAT_S = 0.5


@pytest.fixture
def settings(backend: str, database_url: str, tmp_path: Path) -> Settings:
    if backend != "postgresql":
        pytest.skip("worker processes need PostgreSQL")
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key=Fernet.generate_key().decode(),
        log_level="WARNING",
        embedded_worker=False,  # only the worker processes run jobs here
        job_heartbeat_s=HEARTBEAT_S,
    )


@pytest.fixture(scope="module")
def busy_n8n(n8n_factory: Callable[[], N8nInstance]) -> N8nInstance:
    instance = n8n_factory()
    create_workflows(instance, WORKFLOWS, prefix="shared")
    return instance


class Workers:
    def __init__(self, settings: Settings, logs: Path) -> None:
        self._env = cli_env(settings) | {
            "CANONFLOW_JOB_HEARTBEAT_S": str(HEARTBEAT_S),
            "CANONFLOW_LOG_LEVEL": "INFO",
        }
        self._logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []
        self._files: list[BinaryIO] = []

    def start(self, count: int, concurrency: int = 2) -> None:
        for n in range(count):
            log = (self._logs / f"worker-{len(self.processes)}-{n}.log").open("wb")
            self._files.append(log)
            self.processes.append(
                subprocess.Popen(
                    [canonflow_bin(), "worker", "--concurrency", str(concurrency)],
                    env=self._env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._files:
            log.close()


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(settings, tmp_path)
    yield running
    running.stop()


def _enqueue_all(runtime: Runtime, envs: list[EnvUnderTest]) -> list[uuid.UUID]:
    with transaction(runtime.sessions) as session:
        return [
            enqueue_environment_sync(
                session, runtime.jobs, None, env.environment_id, tenant_id=env.tenant_id
            ).id
            for env in envs
        ]


def _jobs(runtime: Runtime, ids: list[uuid.UUID]) -> list[BackgroundJob]:
    with transaction(runtime.sessions) as session:
        jobs = session.scalars(select(BackgroundJob).where(BackgroundJob.id.in_(ids))).all()
        return sorted(jobs, key=lambda job: ids.index(job.id))


def _wait_finished(runtime: Runtime, ids: list[uuid.UUID], timeout: float) -> list[BackgroundJob]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = _jobs(runtime, ids)
        if all(job.status.finished for job in jobs):
            return jobs
        assert time.monotonic() < deadline, [(j.status, j.worker_id, j.error) for j in jobs]
        time.sleep(0.2)


def _runs_per_job(runtime: Runtime, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(
            select(SyncRun.job_id, func.count())
            .where(SyncRun.job_id.in_(ids))
            .group_by(SyncRun.job_id)
        ).all()
        return {job_id: int(count) for job_id, count in rows}


def _mappings(runtime: Runtime, env: EnvUnderTest) -> tuple[int, int]:
    with transaction(runtime.sessions) as session:
        rows = session.scalars(
            select(WorkflowEnvMap.status).where(WorkflowEnvMap.environment_id == env.environment_id)
        ).all()
        return len(rows), sum(1 for status in rows if status is MappingStatus.MISSING)


def test_two_worker_processes_share_twenty_syncs_and_none_runs_twice(
    runtime: Runtime, busy_n8n: N8nInstance, workers: Workers
) -> None:
    envs = [add_environment(runtime, busy_n8n, name=f"env{i}") for i in range(20)]
    ids = _enqueue_all(runtime, envs)
    workers.start(2)
    jobs = _wait_finished(runtime, ids, timeout=300)
    assert [job.status for job in jobs] == [JobStatus.SUCCEEDED] * 20, [j.error for j in jobs]
    assert _runs_per_job(runtime, ids) == dict.fromkeys(ids, 1)  # none ran twice
    assert all(job.attempts == 1 and job.engine_job_id is not None for job in jobs)
    pids = {(job.worker_id or "").split(":")[1] for job in jobs}
    assert pids == {str(p.pid) for p in workers.processes}  # both took a share
    assert all(job.result and job.result["seen"] == WORKFLOWS for job in jobs)
    assert {_mappings(runtime, env) for env in envs} == {(WORKFLOWS, 0)}


def test_a_worker_killed_mid_sync_leaves_no_job_running_and_nothing_wrongly_missing(
    runtime: Runtime, busy_n8n: N8nInstance, workers: Workers
) -> None:
    envs = [add_environment(runtime, busy_n8n, name=f"env{i}", batch_size=5) for i in range(4)]
    ids = _enqueue_all(runtime, envs)
    workers.start(1, concurrency=1)
    victim = workers.processes[0]
    deadline = time.monotonic() + 120
    while True:  # the victim is mid-sync: it has stored some pages, not all
        mid = [j for j in _jobs(runtime, ids) if j.status is JobStatus.RUNNING and j.progress_done]
        if mid:
            break
        assert time.monotonic() < deadline, "no sync started"
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    killed = mid[0].id
    workers.start(1, concurrency=2)  # the survivor takes the dead worker's job over
    jobs = _wait_finished(runtime, ids, timeout=300)
    outcome = next(job for job in jobs if job.id == killed)
    print(f"killed worker's job: {outcome.status} after {outcome.attempts} attempts")
    if outcome.status is JobStatus.SUCCEEDED:
        assert outcome.attempts == 2  # run again after its worker's heartbeat stopped
    else:
        assert outcome.status is JobStatus.FAILED and "no heartbeat" in (outcome.error or "")
    assert all(job.status is JobStatus.SUCCEEDED for job in jobs if job.id != killed)
    for env in envs:
        total, missing = _mappings(runtime, env)
        assert missing == 0  # a half-done listing marks nothing missing
        assert total == WORKFLOWS
