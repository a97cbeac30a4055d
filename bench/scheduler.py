"""Benchmark: the scheduler tick at 2,000 tenants x 3 environments on hourly schedules.

Loads 2,000 tenants with 3 environments each (6,000, every one on the default hourly
schedule, no due time yet: as the 0010 migration leaves them), then runs one simulated
hour in COMPRESSED TIME: the tick is called with `now` stepping 15 s (the default
CANONFLOW_SCHEDULER_TICK_S) through one hour, 241 ticks, as fast as they run; no clock
is waited for. The tick goes through the job engine as in production: on PostgreSQL each
batch is deferred to procrastinate (its schema installed by our migration 0011) in the
tick's transaction, and those defers are part of the tick's cost; on SQLite the batch is
handed to the after-commit dispatch (counted here: no runner runs). Between ticks a
stand-in worker marks every queued sync succeeded and, on PostgreSQL, deletes its
procrastinate job as a worker does (`delete_jobs="successful"`); the syncs themselves are
not run (the tick's cost needs no n8n), so the per-tenant cap never holds anything back
and every start lands at its slot.

Prints the tick's own database time (the time spent in the driver executing its
statements, summed per tick: p50, p95, max) at 6,000 environments beside the target
(<= 50 ms per tick on PostgreSQL), the first tick (which gives all 6,000 their first due
time) apart, and the spread of scheduled starts over the hour: the busiest tenth of the
interval's share of starts against an even share (target <= 1.5x).

    uv run python -m bench.scheduler [--postgres] [--tenants 2000] [--per-tenant 3] [--profile]

`--profile` adds each statement kind's share of the ticks' database time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet

from bench import _scheduler_workers as workers

TICK_S = 15
HOUR_S = 3600
DB_TARGET_MS = 50.0
SPREAD_TARGET = 1.5
CHUNK = 2000


class DbClock:
    """Sums the time the driver spends executing statements while `counting`."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.counting = False
        self.total = 0.0
        self.statements = 0
        #: statement kind (its first words) -> seconds, over every measured tick
        self.by_kind: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, *_: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if self.counting:
            spent = time.perf_counter() - conn.info.pop("bench_t0")
            self.total += spent
            self.statements += 1
            self.by_kind[" ".join(statement.split())[:70]] += spent

    @contextmanager
    def measure(self) -> Iterator[None]:
        self.counting, self.total, self.statements = True, 0.0, 0
        try:
            yield
        finally:
            self.counting = False


def load(url: str, tenants: int, per_tenant: int, secret: str) -> Any:
    from sqlalchemy import insert

    from canonflow.crypto import SecretBox
    from canonflow.db.engine import build_engine
    from canonflow.db.migrate import upgrade
    from canonflow.db.models import Environment, Tenant

    engine = build_engine(url)
    upgrade(engine)
    sealed = SecretBox(secret).seal("bench-key")
    now = datetime.now(UTC)
    tenant_rows = [
        {"id": uuid.uuid4(), "slug": f"t{i:05d}", "name": f"Tenant {i}", "created_at": now}
        for i in range(tenants)
    ]
    env_rows = [
        {
            "id": uuid.uuid4(),
            "tenant_id": t["id"],
            "name": name,
            "base_url": "http://127.0.0.1:5678",
            "api_key": sealed,
            "created_at": now,
            "updated_at": now,
        }
        for t in tenant_rows
        for name in ("dev", "staging", "prod")[:per_tenant]
    ]
    with engine.begin() as connection:
        for model, rows in ((Tenant, tenant_rows), (Environment, env_rows)):
            for start in range(0, len(rows), CHUNK):
                connection.execute(insert(model), rows[start : start + CHUNK])
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE")
        else:
            connection.exec_driver_sql("ANALYZE")
    return engine


class DispatchCounter:
    """SQLite's runner stand-in: counts the jobs the after-commit dispatch hands over."""

    def __init__(self) -> None:
        self.dispatched = 0

    def dispatch(self, job_id: uuid.UUID) -> None:
        self.dispatched += 1


def finish_queued(engine: Any, at: datetime) -> int:
    """The stand-in worker: every queued sync succeeded; on PostgreSQL its procrastinate
    job goes, as a worker deletes a successful one. Returns the engine jobs it found."""
    from sqlalchemy import update

    from canonflow.core.enums import JobStatus
    from canonflow.db.models import BackgroundJob

    with engine.begin() as connection:
        connection.execute(
            update(BackgroundJob)
            .where(BackgroundJob.status == JobStatus.QUEUED)
            .values(status=JobStatus.SUCCEEDED, started_at=at, finished_at=at)
        )
        if engine.dialect.name != "postgresql":
            return 0
        deleted = connection.exec_driver_sql(
            "DELETE FROM procrastinate_jobs "
            "WHERE status = 'todo' AND task_name = 'canonflow.run_job'"
        )
        return int(deleted.rowcount)


def use_engine(engine: Any, sessions: Any, registry: Any) -> DispatchCounter | None:
    """The job engine the runtime would build, without a worker."""
    if engine.dialect.name == "postgresql":
        from canonflow.jobs.distributed import ProcrastinateEngine

        with engine.connect() as connection:
            installed = connection.exec_driver_sql(
                "SELECT to_regclass('procrastinate_jobs') IS NOT NULL"
            ).scalar_one()
        if not installed:
            raise SystemExit("procrastinate's schema is missing: migration 0011 did not run")
        print("procrastinate schema installed by our migrations (0011): jobs are deferred to it")
        registry.engine = ProcrastinateEngine()
        return None
    from canonflow.jobs.service import AfterCommitEngine

    counter = DispatchCounter()
    registry.engine = AfterCommitEngine(sessions, counter)  # type: ignore[arg-type]
    return counter


def run(url: str, args: argparse.Namespace) -> None:
    from canonflow.config import Settings
    from canonflow.core.schedule import busiest_share
    from canonflow.crypto import SecretBox
    from canonflow.db.engine import build_sessionmaker
    from canonflow.jobs.registry import JobRegistry
    from canonflow.runtime import register_job_types
    from canonflow.schedule.service import tick

    secret = Fernet.generate_key().decode()
    started = time.perf_counter()
    engine = load(url, args.tenants, args.per_tenant, secret)
    environments = args.tenants * args.per_tenant
    print(
        f"{engine.dialect.name}: loaded {args.tenants} tenants x {args.per_tenant} = "
        f"{environments} environments in {time.perf_counter() - started:.1f} s"
    )
    settings = Settings(database_url=url, secret_key=secret, log_level="WARNING")
    registry = JobRegistry()
    register_job_types(registry, SecretBox(secret), settings)
    sessions = build_sessionmaker(engine)
    counter = use_engine(engine, sessions, registry)
    clock = DbClock(engine)

    t0 = datetime(2026, 12, 6, 5, 0, 0, tzinfo=UTC)
    with clock.measure():
        first = tick(sessions, settings, registry, now=t0)
    print(
        f"first tick (gives {first.first_scheduled} environments their first due time): "
        f"{clock.total * 1000:.1f} ms database time, {clock.statements} statements"
    )
    if args.analyze:
        with engine.begin() as connection:  # as autovacuum would after 6,000 updated rows
            connection.exec_driver_sql("ANALYZE")

    db_ms, walls, statements, offsets = [], [], [], []
    enqueued = deferred = 0
    clock.by_kind.clear()
    for step in range(1, HOUR_S // TICK_S + 2):
        now = t0 + timedelta(seconds=step * TICK_S)
        wall = time.perf_counter()
        with clock.measure():
            result = tick(sessions, settings, registry, now=now)
        walls.append((time.perf_counter() - wall) * 1000)
        db_ms.append(clock.total * 1000)
        statements.append(clock.statements)
        for row, _job in result.enqueued:
            offsets.append(((row.due_at - t0).total_seconds() % HOUR_S) / HOUR_S)
        enqueued += len(result.enqueued)
        deferred += finish_queued(engine, now)

    p50, p95 = statistics.median(db_ms), _p95(db_ms)
    ok = "ok" if p95 <= DB_TARGET_MS else "MISSED"
    print(
        f"ticks over one simulated hour (compressed time, every {TICK_S} s): {len(db_ms)}, "
        f"{enqueued} syncs enqueued (of {environments} environments); handed to the engine: "
        f"{counter.dispatched if counter else deferred} "
        f"({'after-commit dispatch' if counter else 'procrastinate jobs deferred'})"
    )
    print(
        f"tick database time: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(db_ms):.1f} ms "
        f"(target p95 <= {DB_TARGET_MS:.0f} ms on PostgreSQL) {ok}; "
        f"statements per tick p50 {statistics.median(statements):.0f}; "
        f"wall p50 {statistics.median(walls):.1f} ms, p95 {_p95(walls):.1f} ms"
    )
    share = busiest_share(offsets)
    ok = "ok" if share <= SPREAD_TARGET else "MISSED"
    per_tick = [0] * 10
    for offset in offsets:
        per_tick[min(int(offset * 10), 9)] += 1
    print(
        f"spread of starts: busiest tenth of the hour {share:.2f}x its share "
        f"(target <= {SPREAD_TARGET}x) {ok}; per tenth: {per_tick}"
    )
    if args.profile:
        total = sum(clock.by_kind.values())
        print("database time of the ticks by statement:")
        for kind, spent in clock.by_kind.most_common(12):
            print(f"  {spent / total:6.1%} {spent * 1000 / len(db_ms):7.2f} ms/tick  {kind}")


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="on a private PostgreSQL")
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--per-tenant", type=int, default=3, choices=(1, 2, 3))
    parser.add_argument("--profile", action="store_true", help="database time by statement")
    parser.add_argument("--analyze", action="store_true", help="ANALYZE after the first tick")
    workers.add_arguments(parser)
    args = parser.parse_args()
    if args.postgres or args.workers_bench or args.workers_only:
        from tests.support.postgres import running_cluster

        with running_cluster() as cluster:
            if not args.workers_only:
                run(cluster.url(), args)
            if workers.wanted(args):
                workers.run(cluster, args)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/bench.db", args)


if __name__ == "__main__":
    main()
