"""`canonflow worker` processes alone (no serve) on PostgreSQL keep environments on
schedule: each defers the scheduler's tick as a procrastinate periodic job, one per period
across all workers, and runs it. A worker serves `/metrics` with what it ran."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from canonflow.config import Settings
from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, Environment, SyncRun
from canonflow.runtime import Runtime
from canonflow.sync.tasks import ENVIRONMENT_SYNC
from tests.cli.helpers import canonflow_bin, cli_env
from tests.conftest import ENABLED_BACKENDS
from tests.metrics.helpers import parse, value
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import create_workflows
from tests.support.postgres import free_port
from tests.sync.conftest import EnvUnderTest, add_environment

if "postgresql" not in ENABLED_BACKENDS:
    pytest.skip("worker processes need PostgreSQL", allow_module_level=True)

TOKEN = "metrics-secret-for-the-test"
DEADLINE_S = 90.0


@pytest.fixture
def settings(backend: str, database_url: str, tmp_path: Path) -> Settings:
    if backend != "postgresql":
        pytest.skip("worker processes need PostgreSQL")
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key=Fernet.generate_key().decode(),
        log_level="WARNING",
        embedded_worker=False,  # nothing in the test process runs jobs or ticks
    )


class Workers:
    """`canonflow worker` subprocesses ticking every second, logging JSON to a file each."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.env = cli_env(settings) | {
            "CANONFLOW_SCHEDULER_TICK_S": "1",
            "CANONFLOW_LOG_FORMAT": "json",
            "CANONFLOW_LOG_LEVEL": "DEBUG",
        }
        self._logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        self._files: list[BinaryIO] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        path = self._logs / f"worker-{len(self.processes)}.log"
        output = path.open("wb")
        self._files.append(output)
        self.logs.append(path)
        process = subprocess.Popen(
            [canonflow_bin(), "worker", *args],
            env=self.env | (env or {}),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def events(self, name: str) -> list[dict[str, object]]:
        found = []
        for path in self.logs:
            for line in path.read_text().splitlines():
                if line.startswith("{"):
                    event = json.loads(line)
                    if event.get("event") == name:
                        found.append(event)
        return found

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
        for output in self._files:
            output.close()


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(settings, tmp_path)
    yield running
    running.stop()


def _every(env: EnvUnderTest, interval_s: int) -> None:
    """Put the environment on a schedule; the next tick gives it its first due time."""
    with transaction(env.runtime.sessions) as session:
        session.execute(
            update(Environment)
            .where(Environment.id == env.environment_id)
            .values(sync_interval_s=interval_s, next_sync_at=None)
        )


def _scheduled_syncs(runtime: Runtime, env: EnvUnderTest) -> list[BackgroundJob]:
    with transaction(runtime.sessions) as session:
        jobs = session.scalars(
            select(BackgroundJob).where(BackgroundJob.type == ENVIRONMENT_SYNC)
        ).all()
        return [j for j in jobs if j.params.get("environment_id") == str(env.environment_id)]


def _wait_for_scheduled_success(runtime: Runtime, env: EnvUnderTest) -> BackgroundJob:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        done = [j for j in _scheduled_syncs(runtime, env) if j.status is JobStatus.SUCCEEDED]
        if done:
            return done[0]
        assert time.monotonic() < deadline, "no scheduled sync succeeded"
        time.sleep(0.2)


def _wait_for_metrics(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, f"the worker exited: {log.read_text()}"
        try:
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the worker's metrics port never answered"
            time.sleep(0.2)


def test_a_worker_alone_keeps_an_environment_on_schedule_and_serves_its_metrics(
    runtime: Runtime, clean_n8n_dev: N8nInstance, workers: Workers
) -> None:
    create_workflows(clean_n8n_dev, 3, prefix="scheduled")
    env = add_environment(runtime, clean_n8n_dev)
    _every(env, 2)
    port = free_port()
    process = workers.start("--metrics-port", str(port), env={"CANONFLOW_METRICS_TOKEN": TOKEN})

    job = _wait_for_scheduled_success(runtime, env)  # nobody called the API or the CLI
    assert job.params["origin"] == "scheduled" and job.result and job.result["seen"] == 3
    assert (job.worker_id or "").split(":")[1] == str(process.pid)
    with transaction(runtime.sessions) as session:
        run = session.scalars(select(SyncRun).where(SyncRun.job_id == job.id)).one()
        assert run.error is None and run.complete
    assert workers.events("periodic job ran"), workers.logs[0].read_text()

    url = f"http://127.0.0.1:{port}/metrics"
    refused = httpx.get(url)
    assert refused.status_code == 401, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "CANONFLOW_METRICS_TOKEN" in refused.json()["detail"]
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    scraped = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    samples = parse(scraped.text)
    ran = value(
        samples,
        "canonflow_job_duration_seconds_count",
        type=ENVIRONMENT_SYNC,
        status=JobStatus.SUCCEEDED.value,
    )
    assert ran >= 1  # observed in the worker, scraped from the worker
    listings = value(
        samples,
        "canonflow_n8n_request_duration_seconds_count",
        method="GET",
        path="/workflows",
        outcome="success",
    )
    assert listings >= 1
    succeeded = value(samples, "canonflow_jobs", type=ENVIRONMENT_SYNC, status="succeeded")
    assert succeeded >= 1  # the database's counts too, as serve's /metrics has them


def test_two_workers_run_one_tick_per_period_not_two(runtime: Runtime, workers: Workers) -> None:
    first, second = workers.start(), workers.start()
    deadline = time.monotonic() + DEADLINE_S
    while len({e["period_at"] for e in workers.events("periodic job ran")}) < 6:
        assert first.poll() is None and second.poll() is None, workers.logs[0].read_text()
        assert time.monotonic() < deadline, "fewer than 6 ticks"
        time.sleep(0.3)
    ran = workers.events("periodic job ran")
    per_period = Counter(e["period_at"] for e in ran)
    assert set(per_period.values()) == {1}, per_period  # both defer, one tick per period
    assert {e["periodic"] for e in ran} == {"scheduler.tick"}
    assert all(isinstance(at, int) for at in per_period)  # the cron's whole seconds

    first.send_signal(signal.SIGTERM)  # the other one's deferrer carries on alone
    first.wait(timeout=30)
    last = max(int(str(at)) for at in per_period)
    while True:
        later = [e for e in workers.events("periodic job ran") if int(str(e["period_at"])) > last]
        if len({e["period_at"] for e in later}) >= 3:
            break
        assert time.monotonic() < deadline, "the remaining worker did not tick"
        time.sleep(0.3)
    assert {str(e["worker"]).split(":")[1] for e in later} == {str(second.pid)}
    assert set(Counter(e["period_at"] for e in workers.events("periodic job ran")).values()) == {1}
