"""Benchmark: what one `/metrics` scrape costs the database at a large estate.

Loads the matrix benchmark's estate (one tenant of 10,000 canonical workflows x 20
environments and 50 tenants of 1,000 x 5: ~576,000 mappings over 51 tenants), plus
`--jobs` background jobs and `--runs` sync runs spread over those environments, then times
the scrape's database part (`DatabaseCollector.collect()` and the text exposition, which
is what `GET /metrics` does besides HTTP), once reading every count (as it does every
60 s) and once with the sync runs and mapping counts kept (the jobs and the queue are read
on every scrape), and each of its three grouped queries alone: p50 / p95 of `--scrapes`
after 3 untimed ones. Target: a scrape with the counts kept p50 <= 150 ms. The jobs
query is served by migration 0012's index on background_jobs (type, status, created_at).

    uv run python -m bench.metrics_scrape [--postgres] [--jobs 200000] [--runs 100000]
        [--scrapes 20] [--workflows 10000] [--environments 20] [--tenants 50]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.matrix import CHUNK, load

JOB_TYPES = (
    "environment.sync",
    "repo.sync",
    "onboarding.inventory",
    "onboarding.pr",
    "reconcile.apply",
    "reconcile.deploy",
    "reconcile.restore",
    "scheduler.tick",
)
WARMUP = 3


def seed_jobs_and_runs(url: str, jobs: int, runs: int) -> None:
    """`jobs` background jobs (97 % finished, some queued and running) and `runs` sync
    runs (90 % environment syncs), in bulk, then ANALYZE."""
    from sqlalchemy import insert, select

    from canonflow.core.enums import JobStatus, SyncKind
    from canonflow.db.engine import build_engine
    from canonflow.db.models import BackgroundJob, Environment, SyncRun

    rng = random.Random(5)
    now = datetime.now(UTC)
    engine = build_engine(url)
    with engine.begin() as connection:
        envs = [
            tuple(row) for row in connection.execute(select(Environment.id, Environment.tenant_id))
        ]
        statuses = [JobStatus.SUCCEEDED] * 90 + [JobStatus.FAILED] * 6 + [JobStatus.CANCELLED]
        statuses += [JobStatus.QUEUED] * 2 + [JobStatus.RUNNING]
        job_rows = []
        for _ in range(jobs):
            _, tenant_id = rng.choice(envs)
            status = rng.choice(statuses)
            created = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
            started = None if status in (JobStatus.QUEUED, JobStatus.CANCELLED) else created
            finished = created + timedelta(seconds=2) if status.finished and started else None
            job_rows.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant_id,
                    "type": rng.choice(JOB_TYPES),
                    "status": status,
                    "params": {},
                    "progress_done": 0,
                    "created_at": created,
                    "started_at": started,
                    "finished_at": finished,
                }
            )
        for start in range(0, len(job_rows), CHUNK):
            connection.execute(insert(BackgroundJob.__table__), job_rows[start : start + CHUNK])
        run_rows = []
        for _ in range(runs):
            environment_id, tenant_id = rng.choice(envs)
            repo = rng.random() < 0.1
            started = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
            run_rows.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant_id,
                    "kind": SyncKind.REPOSITORY if repo else SyncKind.ENVIRONMENT,
                    "environment_id": None if repo else environment_id,
                    "complete": rng.random() < 0.95,
                    "seen": 0,
                    "created": 0,
                    "updated": 0,
                    "unchanged": 0,
                    "missing": 0,
                    "duration_ms": 900,
                    "error": "n8n: unreachable" if rng.random() < 0.03 else None,
                    "started_at": started,
                    "finished_at": started + timedelta(seconds=1),
                }
            )
        for start in range(0, len(run_rows), CHUNK):
            connection.execute(insert(SyncRun.__table__), run_rows[start : start + CHUNK])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def _series(work: Callable[[], Any], count: int) -> tuple[float, float]:
    for _ in range(WARMUP):
        work()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


def measure(url: str, args: argparse.Namespace) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from canonflow.db.engine import build_engine, build_sessionmaker, read_transaction
    from canonflow.metrics import queries
    from canonflow.metrics.collector import DatabaseCollector

    started = time.perf_counter()
    estate = load(url, args)
    seed_jobs_and_runs(url, args.jobs, args.runs)
    print(
        f"loaded in {time.perf_counter() - started:.0f} s: {estate.counts['mappings']:,} mappings, "
        f"{args.tenants + 1} tenants, {args.jobs:,} jobs, {args.runs:,} sync runs"
    )
    engine = build_engine(url)
    sessions = build_sessionmaker(engine)
    every, kept = CollectorRegistry(auto_describe=False), CollectorRegistry(auto_describe=False)
    every.register(DatabaseCollector(sessions, kept_s=0))
    kept.register(DatabaseCollector(sessions))
    body = generate_latest(every)
    lines = body.count(b"\n")
    print(f"exposition: {len(body):,} bytes, {lines:,} lines")

    def alone(query: Callable[[Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with read_transaction(sessions) as session:
                return query(session)

        return run

    rows = [
        ("scrape, counts read (every 60 s)", lambda: generate_latest(every)),
        ("scrape, counts kept", lambda: generate_latest(kept)),
    ]
    rows += [
        (name, alone(getattr(queries, name)))
        for name in (
            "jobs_by_type_and_status",
            "sync_runs_by_outcome",
            "mappings_by_tenant_and_state",
        )
    ]
    target = "target: scrape, counts kept, p50 <= 150 ms"
    print(f"{engine.dialect.name}: p50 / p95 of {args.scrapes} ({target})")
    for name, work in rows:
        p50, p95 = _series(work, args.scrapes)
        print(f"  {name:<34} {p50 * 1000:8.1f} ms {p95 * 1000:8.1f} ms")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="on a private PostgreSQL")
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--workflows", type=int, default=10_000)
    parser.add_argument("--environments", type=int, default=20)
    parser.add_argument("--tenants", type=int, default=50, help="other tenants, 1,000 x 5")
    args = parser.parse_args()
    if args.postgres:
        from tests.support.postgres import running_cluster

        with running_cluster() as cluster:
            measure(cluster.url(), args)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            measure(f"sqlite:///{tmp}/bench.db", args)


if __name__ == "__main__":
    main()
