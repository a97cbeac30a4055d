"""Benchmark: the scheduler tick at 2,000 tenants x 3 environments on hourly schedules.

Loads 2,000 tenants with 3 environments each (6,000, every one on the default hourly
schedule, no due time yet: as the 0010 migration leaves them), then runs one simulated
hour in COMPRESSED TIME: the tick is called with `now` stepping 15 s (the default
CANONFLOW_SCHEDULER_TICK_S) through one hour, 241 ticks, as fast as they run; no clock
is waited for. Between ticks a stand-in worker marks every queued sync succeeded (the syncs
themselves are not run: the tick's cost needs no n8n), so the per-tenant cap never holds
anything back and every start lands at its slot.

Prints the tick's own database time (the time spent in the driver executing its
statements, summed per tick: p50, p95, max) at 6,000 environments beside the target
(<= 50 ms per tick on PostgreSQL), the first tick (which gives all 6,000 their first due
time) apart, and the spread of scheduled starts over the hour: the busiest tenth of the
interval's share of starts against an even share (target <= 1.5x).

    uv run python -m bench.scheduler [--postgres] [--tenants 2000] [--per-tenant 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
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
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, *_: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn: Any, *_: Any) -> None:
        if self.counting:
            self.total += time.perf_counter() - conn.info.pop("bench_t0")
            self.statements += 1

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


def finish_queued(engine: Any, at: datetime) -> int:
    from sqlalchemy import update

    from canonflow.core.enums import JobStatus
    from canonflow.db.models import BackgroundJob

    with engine.begin() as connection:
        result = connection.execute(
            update(BackgroundJob)
            .where(BackgroundJob.status == JobStatus.QUEUED)
            .values(status=JobStatus.SUCCEEDED, started_at=at, finished_at=at)
        )
        return int(result.rowcount)


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
    clock = DbClock(engine)

    t0 = datetime(2026, 12, 6, 5, 0, 0, tzinfo=UTC)
    with clock.measure():
        first = tick(sessions, settings, registry, now=t0)
    print(
        f"first tick (gives {first.first_scheduled} environments their first due time): "
        f"{clock.total * 1000:.1f} ms database time, {clock.statements} statements"
    )

    db_ms, walls, statements, offsets = [], [], [], []
    enqueued = 0
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
        finish_queued(engine, now)

    p50, p95 = statistics.median(db_ms), _p95(db_ms)
    ok = "ok" if p95 <= DB_TARGET_MS else "MISSED"
    print(
        f"ticks over one simulated hour (compressed time, every {TICK_S} s): {len(db_ms)}, "
        f"{enqueued} syncs enqueued (of {environments} environments)"
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


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="on a private PostgreSQL")
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--per-tenant", type=int, default=3, choices=(1, 2, 3))
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
