"""Benchmark: the job engine on both backends (no n8n: jobs that only sleep).

Prints, per backend (SQLite: the in-process runner; PostgreSQL: procrastinate with the
runtime's embedded worker), the drain rate of 500 no-op jobs with 2 workers, and the wait
of a manual ("interactive") job from its enqueue to its start while 500 scheduled jobs of
20 ms each are queued ahead of it (p50 / p95 of 20 such jobs). There is no target in the
issue for these; the scheduler benchmark (bench/scheduler.py) holds the targets.

    uv run python -m bench.jobs_engine [--jobs 500] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import select

from canonflow.config import Settings
from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.migrate import upgrade
from canonflow.db.models import BackgroundJob
from canonflow.jobs import service
from canonflow.jobs.registry import JobContext
from canonflow.jobs.spec import JobSpec, Origin
from canonflow.logs import configure_logging
from canonflow.runtime import Runtime, build_runtime
from canonflow.tenancy import service as tenancy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL only")
    args, _ = parser.parse_known_args()  # `make bench BENCH_ARGS=...` passes others' flags
    if args.postgres:
        args.backend = "postgresql"
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            _measure(
                "sqlite (in-process runner)", f"sqlite:///{tmp}/bench.db", Path(tmp), args.jobs
            )
    if args.backend in ("postgresql", "both"):
        from tests.support.postgres import running_cluster

        with running_cluster() as cluster, tempfile.TemporaryDirectory() as tmp:
            _measure("postgresql (procrastinate)", cluster.url(), Path(tmp), args.jobs)


def _measure(label: str, url: str, tmp: Path, jobs: int) -> None:
    settings = Settings(
        database_url=url,
        data_dir=tmp,
        secret_key=Fernet.generate_key().decode(),
        log_level="WARNING",
        job_workers=2,
    )
    configure_logging(settings)
    runtime = build_runtime(settings, worker=False)
    upgrade(runtime.engine)
    runtime.runner.start_worker()
    try:
        runtime.jobs.register(JobSpec("bench.noop"), lambda _ctx: None)
        runtime.jobs.register(JobSpec("bench.sleep"), _sleep)
        with transaction(runtime.sessions) as session:
            tenant_id = tenancy.create_tenant(session, slug="bench", name=None).id
        rate = _drain_rate(runtime, tenant_id, jobs)
        waits = _interactive_waits(runtime, tenant_id, jobs)
    finally:
        runtime.close()
    p95 = statistics.quantiles(waits, n=20)[18]
    print(f"{label}: drain {rate:7.1f} no-op jobs/s (2 workers, {jobs} jobs)")
    print(
        f"{label}: manual job's wait behind {jobs} scheduled: "
        f"p50 {statistics.median(waits) * 1000:6.0f} ms, p95 {p95 * 1000:6.0f} ms"
    )


def _sleep(_context: JobContext) -> dict[str, Any]:
    time.sleep(0.02)
    return {}


def _enqueue(runtime: Runtime, tenant_id: Any, job_type: str, origin: Origin, n: int) -> list[Any]:
    with transaction(runtime.sessions) as session:
        return [
            service.enqueue(
                session, runtime.jobs, tenant_id=tenant_id, job_type=job_type, origin=origin
            ).id
            for _ in range(n)
        ]


def _drain_rate(runtime: Runtime, tenant_id: Any, jobs: int) -> float:
    started = time.monotonic()
    ids = _enqueue(runtime, tenant_id, "bench.noop", Origin.SCHEDULED, jobs)
    runtime.runner.wait(ids[-1], timeout=600)
    _wait_all(runtime, "bench.noop")
    return jobs / (time.monotonic() - started)


def _interactive_waits(runtime: Runtime, tenant_id: Any, jobs: int) -> list[float]:
    _enqueue(runtime, tenant_id, "bench.sleep", Origin.SCHEDULED, jobs)
    manual: list[Any] = []
    for _ in range(20):
        manual += _enqueue(runtime, tenant_id, "bench.noop", Origin.INTERACTIVE, 1)
        time.sleep(0.1)
    for job_id in manual:
        runtime.runner.wait(job_id, timeout=600)
    with transaction(runtime.sessions) as session:
        rows = session.scalars(select(BackgroundJob).where(BackgroundJob.id.in_(manual))).all()
        return [(job.started_at - job.created_at).total_seconds() for job in rows if job.started_at]


def _wait_all(runtime: Runtime, job_type: str) -> None:
    while True:
        with transaction(runtime.sessions) as session:
            left = session.scalars(
                select(BackgroundJob.id).where(
                    BackgroundJob.type == job_type,
                    BackgroundJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
                )
            ).first()
        if left is None:
            return
        time.sleep(0.05)


if __name__ == "__main__":
    main()
