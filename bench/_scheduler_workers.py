"""Two `canonflow worker` processes against real n8n on loopback (part of bench/scheduler.py).

Needs PostgreSQL (procrastinate). Three real n8n 1.123.81 instances ("wide" ones, kept with
their workflows in ~/.cache/canonflow-bench/sched-wide-{0,1,2}) hold a few hundred workflows
each (300 by default, 5-30 nodes); a fourth ("small", sched-small) holds 10. The workers are
two real `canonflow worker --concurrency 2` subprocesses on a fresh database of the bench's
PostgreSQL cluster; this process only enqueues and reads `background_jobs`.

1. **No-change syncs per second.** 60 environments (20 tenants x 3) point at the wide
   instances in turn and are synced once, untimed (first syncs). Then N no-change syncs
   (240 by default, scheduled origin, as the tick enqueues them) are fed so that every
   environment always has one sync queued or running (a finished one is followed by the
   next at once): the rate is the completions between the 10th and the 90th percentile of
   the finish times over the time between them (the steady state: no ramp-up, no tail).
   Each sync must succeed, write no mapping row and run once. Beside it, the bare listings'
   rate: the same N full paginated listings (250 per page, `N8nClient`, a new client per
   listing as a sync makes), of the same instances in the same proportion, by 2 processes
   x 2 threads (the workers' concurrency), measured before and after the syncs (the
   better one counts). Target: syncs/s >= 0.8x listings/s.
2. **A manual sync's wait behind 1,000 queued scheduled jobs.** 2,000 more environments
   (3 a tenant) point at the small instance; 1,000 of their syncs are enqueued as the
   scheduler does (scheduled origin) and the queue is topped up back to 1,000 before each
   manual request, so the two workers stay busy with them throughout. Then, 20 times: a
   "sync now" (interactive origin, `enqueue_environment_sync` as the API calls it) of one of
   the 60 synced environments; its wait is from the enqueue's commit to the job's
   `started_at` (set by the worker that claims it). Target: p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography.fernet import Fernet

BENCH_HOME = Path.home() / ".cache" / "canonflow-bench"
WIDE = [f"sched-wide-{i}" for i in range(3)]
SMALL = "sched-small"
SMALL_WORKFLOWS = 10
RATIO_TARGET = 0.8
WAIT_TARGET_S = 1.0
POLL_S = 0.02


@dataclass(frozen=True)
class Target:
    """An environment row and the n8n instance it points at."""

    tenant_id: uuid.UUID
    environment_id: uuid.UUID
    base_url: str
    api_key: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("two worker processes (PostgreSQL only)")
    group.add_argument(
        "--workers-bench",
        action="store_true",
        help="run the worker benchmarks (default with --postgres; --no-workers-bench skips)",
    )
    group.add_argument("--no-workers-bench", action="store_true", help=argparse.SUPPRESS)
    group.add_argument("--workers-only", action="store_true", help="skip the tick benchmark")
    group.add_argument("--sync-envs", type=int, default=60, help="synced environments (60)")
    group.add_argument("--wide-workflows", type=int, default=300, help="per wide n8n (300)")
    group.add_argument("--syncs", type=int, default=240, help="no-change syncs timed (240)")
    group.add_argument("--queued", type=int, default=1000, help="scheduled jobs queued (1000)")
    group.add_argument("--manual", type=int, default=20, help="manual syncs timed (20)")
    group.add_argument("--concurrency", type=int, default=2, help="per worker process (2)")


def wanted(args: argparse.Namespace) -> bool:
    return bool(
        args.workers_bench or args.workers_only or (args.postgres and not args.no_workers_bench)
    )


def run(cluster: Any, args: argparse.Namespace) -> None:
    """Both figures, on a fresh database `bench_workers` of `cluster`."""
    from tests.support.n8n import start_many

    names = [*WIDE, SMALL]
    print(f"starting {len(names)} n8n instances (data in {BENCH_HOME})", flush=True)
    instances = start_many(len(names), BENCH_HOME, names=names)
    try:
        wide, small = instances[:3], instances[3]
        for instance in wide:
            _populate(instance, args.wide_workflows, "sched")
        _populate(small, SMALL_WORKFLOWS, "small")
        url = _fresh_database(cluster, "bench_workers")
        key = Fernet.generate_key().decode()
        with tempfile.TemporaryDirectory() as tmp, _Workers(url, key, Path(tmp), args) as workers:
            _measure(url, key, wide, small, workers, args)
    finally:
        for instance in instances:
            instance.stop()


def _measure(
    url: str, key: str, wide: Sequence[Any], small: Any, workers: _Workers, args: argparse.Namespace
) -> None:
    from canonflow.config import Settings
    from canonflow.db.migrate import upgrade
    from canonflow.runtime import build_runtime

    settings = Settings(
        database_url=url, secret_key=key, log_level="WARNING", embedded_worker=False
    )
    runtime = build_runtime(settings, worker=False)  # enqueues and reads; runs no job
    try:
        upgrade(runtime.engine)
        synced = _environments(runtime, wide, args.sync_envs, "wide")
        queued_envs = _environments(runtime, [small], 2 * args.queued, "small")
        workers.start()
        started = time.perf_counter()
        first = _feed(runtime, synced, len(synced))
        _check(runtime, first, first_sync=True)
        print(
            f"setup: {len(synced)} environments synced once (first syncs, untimed) in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        floor_before = _listing_rate(synced, args.syncs, args.concurrency)
        ids = _feed(runtime, synced, args.syncs)
        rate, window = _steady_rate(runtime, ids)
        _check(runtime, ids, first_sync=False)
        floor_after = _listing_rate(synced, args.syncs, args.concurrency)
        floor = max(floor_before, floor_after)
        ratio = rate / floor
        verdict = "ok" if ratio >= RATIO_TARGET else "MISSED"
        print(
            f"bare listings ({args.syncs} full listings of {args.wide_workflows} workflows, "
            f"2 processes x {args.concurrency} threads): {floor_before:.1f} /s before, "
            f"{floor_after:.1f} /s after the syncs"
        )
        print(
            f"no-change syncs by 2 `canonflow worker` x {args.concurrency}: {rate:.1f} /s "
            f"({args.syncs} syncs, {window:.1f} s steady window, 0 rows written) = "
            f"{ratio:.2f}x the listings (target >= {RATIO_TARGET}x) {verdict}",
            flush=True,
        )
        waits, depths = _manual_waits(runtime, synced, queued_envs, args.queued, args.manual)
        p50, p95 = statistics.median(waits), _p95(waits)
        verdict = "ok" if p95 <= WAIT_TARGET_S else "MISSED"
        print(
            f"manual sync's wait (enqueue commit -> started_at) behind {min(depths)}-"
            f"{max(depths)} queued scheduled syncs, workers busy: p50 {p50 * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms "
            f"(target p95 <= {WAIT_TARGET_S * 1000:.0f} ms) {verdict}",
            flush=True,
        )
    finally:
        runtime.close()


# --- n8n and the database ------------------------------------------------------------------


def _populate(instance: Any, count: int, prefix: str) -> None:
    from tests.support.n8n_fixtures import admin_client, bulk_create, make_workflow

    with admin_client(instance) as http:
        have = 0
        params: dict[str, Any] = {"limit": 250}
        while True:
            page = http.get("/workflows", params=params).json()
            have += len(page["data"])
            if not page["nextCursor"]:
                break
            params["cursor"] = page["nextCursor"]
    if have >= count:
        return
    rng = random.Random(count)
    bodies = [make_workflow(f"{prefix} {i:04d}", rng.randint(5, 30)) for i in range(have, count)]
    started = time.perf_counter()
    bulk_create(instance, bodies)
    print(
        f"{instance.data_dir.name}: created {len(bodies)} workflows in "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )


def _fresh_database(cluster: Any, name: str) -> str:
    from sqlalchemy import create_engine

    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return str(cluster.url(name))


def _environments(runtime: Any, instances: Sequence[Any], count: int, label: str) -> list[Target]:
    """`count` environments, 3 a tenant, pointing at `instances` in turn."""
    from sqlalchemy import insert

    from canonflow.db.models import Environment, Tenant

    now = datetime.now(UTC)
    sealed = {i.base_url: runtime.secrets.seal(i.api_key) for i in instances}
    targets, tenants, envs = [], [], []
    for n in range(count):
        if n % 3 == 0:
            tenant = uuid.uuid4()
            slug = f"{label}-{n // 3:05d}"
            tenants.append({"id": tenant, "slug": slug, "name": slug, "created_at": now})
        instance = instances[n % len(instances)]
        env = uuid.uuid4()
        targets.append(Target(tenant, env, instance.base_url, instance.api_key))
        envs.append(
            {
                "id": env,
                "tenant_id": tenant,
                "name": f"env{n % 3}",
                "base_url": instance.base_url,
                "api_key": sealed[instance.base_url],
                "batch_size": 250,
                "sync_interval_s": 0,  # nothing schedules them but this bench
                "created_at": now,
                "updated_at": now,
            }
        )
    with runtime.engine.begin() as connection:
        connection.execute(insert(Tenant), tenants)
        connection.execute(insert(Environment), envs)
    return targets


def _enqueue(runtime: Any, targets: Sequence[Target], origin: Any) -> list[uuid.UUID]:
    from canonflow.db.engine import transaction
    from canonflow.sync.tasks import enqueue_environment_sync

    with transaction(runtime.sessions) as session:
        return [
            enqueue_environment_sync(
                session,
                runtime.jobs,
                None,
                target.environment_id,
                tenant_id=target.tenant_id,
                origin=origin,
            ).id
            for target in targets
        ]


def _statuses(runtime: Any, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    from sqlalchemy import select

    from canonflow.db.engine import transaction
    from canonflow.db.models import BackgroundJob

    with transaction(runtime.sessions) as session:
        rows = session.execute(
            select(BackgroundJob.id, BackgroundJob.status).where(BackgroundJob.id.in_(ids))
        ).all()
    return {row[0]: row[1] for row in rows}


# --- 1: no-change syncs per second ---------------------------------------------------------


def _feed(runtime: Any, targets: Sequence[Target], total: int) -> list[uuid.UUID]:
    """Enqueue `total` scheduled syncs, keeping one queued or running per environment (the
    next as soon as the last ended); returns their ids once all have ended."""
    from canonflow.jobs.spec import Origin

    ids: list[uuid.UUID] = []
    pending: dict[uuid.UUID, Target] = {}
    idle = list(targets)
    deadline = time.monotonic() + 600
    while True:
        batch = idle[: total - len(ids)]
        if batch:
            for job_id, target in zip(
                _enqueue(runtime, batch, Origin.SCHEDULED), batch, strict=True
            ):
                ids.append(job_id)
                pending[job_id] = target
        idle = []
        if not pending:
            return ids
        time.sleep(POLL_S * 2)
        for job_id, status in _statuses(runtime, list(pending)).items():
            if status.finished:
                idle.append(pending.pop(job_id))
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} syncs still unfinished after 600 s")


def _check(runtime: Any, ids: Sequence[uuid.UUID], *, first_sync: bool) -> None:
    """Every job succeeded and ran once; a no-change sync wrote no mapping row."""
    from sqlalchemy import func, select

    from canonflow.core.enums import JobStatus
    from canonflow.db.engine import transaction
    from canonflow.db.models import BackgroundJob, SyncRun

    with transaction(runtime.sessions) as session:
        jobs = session.scalars(select(BackgroundJob).where(BackgroundJob.id.in_(ids))).all()
        runs = dict(
            session.execute(
                select(SyncRun.job_id, func.count())
                .where(SyncRun.job_id.in_(ids))
                .group_by(SyncRun.job_id)
            ).all()
        )
    failed = [(j.status.value, j.error) for j in jobs if j.status is not JobStatus.SUCCEEDED]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(ids)} syncs did not succeed: {failed[:3]}")
    twice = [job_id for job_id in ids if runs.get(job_id) != 1]
    if twice:
        raise RuntimeError(f"{len(twice)} syncs ran other than once: {twice[:3]}")
    if not first_sync:
        wrote = [j.result for j in jobs if _written(j.result)]
        if wrote:
            raise RuntimeError(f"{len(wrote)} no-change syncs wrote rows: {wrote[:2]}")


def _written(result: dict[str, Any] | None) -> int:
    result = result or {}
    return sum(int(result.get(k, 0)) for k in ("created", "updated", "missing"))


def _steady_rate(runtime: Any, ids: Sequence[uuid.UUID]) -> tuple[float, float]:
    from sqlalchemy import select

    from canonflow.db.engine import transaction
    from canonflow.db.models import BackgroundJob

    with transaction(runtime.sessions) as session:
        ends = sorted(
            session.scalars(
                select(BackgroundJob.finished_at).where(BackgroundJob.id.in_(ids))
            ).all()
        )
    low, high = len(ends) // 10, len(ends) - 1 - len(ends) // 10
    window = (ends[high] - ends[low]).total_seconds()
    return (high - low) / window, window


def _listing_rate(targets: Sequence[Target], total: int, concurrency: int) -> float:
    """`total` bare listings of the targets' instances (in the syncs' proportion) by two
    child processes of `concurrency` threads, timed from a common start signal."""
    plan = [targets[n % len(targets)] for n in range(total)]
    children = []
    for share in (plan[0::2], plan[1::2]):
        lines = "\n".join(f"{t.base_url} {t.api_key}" for t in share)
        child = subprocess.Popen(
            [sys.executable, "-m", "bench._scheduler_workers", "--floor-child", str(concurrency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(lines + "\n\n")
        child.stdin.flush()
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("a listing child did not start")
        children.append(child)
    go = time.time()
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.close()
    ends = []
    for child in children:
        assert child.stdout is not None
        out = child.stdout.read()
        if child.wait(timeout=600) != 0:
            raise RuntimeError(f"a listing child failed ({child.returncode})")
        ends.append(float(out.split()[-1]))
    return total / (max(ends) - go)


def _floor_child(concurrency: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from canonflow.n8n import N8nClient

    share = []
    while line := sys.stdin.readline().strip():
        base_url, api_key = line.split()
        share.append((base_url, api_key))

    def listing(target: tuple[str, str]) -> int:
        seen = 0
        with N8nClient(*target) as client:
            for page in client.iter_workflow_pages(limit=250):
                seen += len(page.workflows)
        return seen

    with ThreadPoolExecutor(concurrency) as pool:
        print("ready", flush=True)
        sys.stdin.readline()
        seen = sum(pool.map(listing, share))
    print(seen, time.time(), flush=True)


# --- 2: a manual sync's wait behind 1,000 queued scheduled jobs ----------------------------


def _manual_waits(
    runtime: Any,
    synced: Sequence[Target],
    background: Sequence[Target],
    queued: int,
    repeats: int,
) -> tuple[list[float], list[int]]:
    from sqlalchemy import func, select

    from canonflow.core.enums import JobStatus
    from canonflow.db.engine import transaction
    from canonflow.db.models import BackgroundJob
    from canonflow.jobs.spec import Origin

    def depth() -> int:
        with transaction(runtime.sessions) as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(BackgroundJob)
                    .where(
                        BackgroundJob.status == JobStatus.QUEUED,
                        BackgroundJob.origin == Origin.SCHEDULED.value,
                    )
                )
                or 0
            )

    cursor = 0

    def top_up() -> int:
        nonlocal cursor
        for _ in range(5):  # an environment still queued answers its queued job: go on
            missing = queued - depth()
            if missing <= 0:
                break
            batch = [background[(cursor + i) % len(background)] for i in range(missing)]
            cursor += missing
            _enqueue(runtime, batch, Origin.SCHEDULED)
        return depth()

    top_up()
    time.sleep(2.0)  # both workers are running scheduled syncs now
    waits, depths = [], []
    for n in range(repeats):
        depths.append(top_up())
        target = synced[n % len(synced)]
        job_id = _enqueue(runtime, [target], Origin.INTERACTIVE)[0]
        committed = datetime.now(UTC)
        deadline = time.monotonic() + 60
        while True:
            with transaction(runtime.sessions) as session:
                job = session.get(BackgroundJob, job_id)
                started = job.started_at if job is not None else None
            if started is not None:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"manual sync {job_id} did not start within 60 s")
            time.sleep(POLL_S)
        waits.append((started - committed).total_seconds())
        time.sleep(0.5)
    return waits, depths


def _p95(values: Sequence[float]) -> float:
    return sorted(values)[max(0, -(-len(values) * 95 // 100) - 1)]


# --- the worker processes ------------------------------------------------------------------


class _Workers:
    """Two `canonflow worker` subprocesses, stopped with SIGTERM (logs kept on failure)."""

    def __init__(self, url: str, key: str, tmp: Path, args: argparse.Namespace) -> None:
        self._tmp = tmp
        self._concurrency = args.concurrency
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("CANONFLOW_")}
        self._env |= {
            "CANONFLOW_DATABASE_URL": url,
            "CANONFLOW_SECRET_KEY": key,
            "CANONFLOW_DATA_DIR": str(tmp / "data"),
            "CANONFLOW_LOG_LEVEL": "WARNING",
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    def start(self) -> None:
        canonflow = str(Path(sys.executable).with_name("canonflow"))
        for n in range(2):
            command = [canonflow, "worker", "--concurrency", str(self._concurrency)]
            log = (self._tmp / f"worker-{n}.log").open("wb")
            self._logs.append(log)
            self.processes.append(
                subprocess.Popen(command, env=self._env, stdout=log, stderr=subprocess.STDOUT)
            )

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._logs:
            log.close()
        if exc[0] is not None:
            for log_path in sorted(self._tmp.glob("worker-*.log")):
                tail = log_path.read_text(errors="replace")[-2000:]
                print(f"--- {log_path.name} (tail)\n{tail}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--floor-child":
        _floor_child(int(sys.argv[2]))
