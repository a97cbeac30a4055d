"""Benchmark: the 30-day drift trend at 10,000 workflows x 20 environments x 90 days of
state changes, on PostgreSQL.

One tenant with 10,000 canonical workflows x 20 environments (200,000 cells, a seeded mix
of states) and 90 days of state changes (`--changes` per environment per day: half into
drift, half back to in_sync, each with its `since`), plus `--tenants` other tenants of
1,000 x 5 with the same history, all generated in the database (INSERT ... SELECT
generate_series). Then `GET /api/v1/workflows/drift-trend?days=30` through the ASGI app
in-process, p50/p95 of `--requests`, beside the floor: the same two aggregates (today's
counts per environment and state; the window's changes per environment, day, from and to)
run with the bare driver and fetched. Target: p50 <= 200 ms. Then EXPLAIN ANALYZE of both.

    uv run python -m bench.drift_trend [--workflows 10000] [--environments 20] [--days 90]
        [--changes 200] [--tenants 20] [--requests 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

TARGET_MS = 200.0
WARMUP = 3
PATH = "/api/v1/workflows/drift-trend"

# the states of a cell, by its number: in_sync mostly, then drift, out_of_date, conflict,
# missing, untracked (hashes chosen so the SQL state expression gives just that)
_MAPPINGS = """
INSERT INTO workflow_env_map (id, tenant_id, canonical_id, environment_id, n8n_workflow_id,
    status, env_content_hash, git_content_hash, base_content_hash, present, is_deleted,
    status_changed_at, created_at, updated_at, derived_state_at)
SELECT md5(e.id::text || '-' || c.n)::uuid, :tenant, c.id, e.id, 'n' || c.n,
    CASE WHEN c.n % 100 = 97 THEN 'missing' WHEN c.n % 100 = 98 THEN 'ignored'
         ELSE 'linked' END,
    CASE WHEN (c.n + e.k) % 50 = 1 THEN 'v1:env' WHEN (c.n + e.k) % 50 = 2 THEN 'v1:base'
         WHEN (c.n + e.k) % 50 = 3 THEN 'v1:other' ELSE 'v1:git' END,
    'v1:git',
    CASE WHEN (c.n + e.k) % 50 IN (2, 3) THEN 'v1:base' ELSE 'v1:git' END,
    c.n % 100 <> 97, false, now(), now(), now(), now()
FROM (SELECT id, row_number() OVER (ORDER BY name) AS n FROM canonical_workflows
      WHERE tenant_id = :tenant) c
CROSS JOIN (SELECT id, row_number() OVER (ORDER BY name) AS k FROM environments
            WHERE tenant_id = :tenant) e
"""

# per environment and day, `changes` changes: even ones into drift, odd ones back in sync
# (`since` a few hours before)
_CHANGES = """
INSERT INTO state_changes (id, tenant_id, mapping_id, canonical_id, environment_id,
    from_state, to_state, cause, at, since)
SELECT gen_random_uuid(), :tenant, NULL, NULL, e.id,
    CASE WHEN j % 2 = 0 THEN 'in_sync' ELSE 'drift' END,
    CASE WHEN j % 2 = 0 THEN 'drift' ELSE 'in_sync' END,
    CASE WHEN j % 2 = 0 THEN 'env_sync' ELSE 'deploy' END,
    date_trunc('day', now()) - make_interval(days => d)
        + make_interval(secs => (j * 86399 / :changes)),
    date_trunc('day', now()) - make_interval(days => d)
        + make_interval(secs => (j * 86399 / :changes))
        - make_interval(secs => 600 + (j * 37) % 20000)
FROM environments e, generate_series(0, :days - 1) d, generate_series(0, :changes - 1) j
WHERE e.tenant_id = :tenant
"""


@dataclass
class Estate:
    url: str
    tenant_id: uuid.UUID
    token: str
    counts: dict[str, Any]


def load(url: str, args: argparse.Namespace) -> Estate:
    from cryptography.fernet import Fernet
    from sqlalchemy import text, update
    from tests.factories import make_token

    from canonflow.catalogue.states import MAPPINGS, cell_state
    from canonflow.core.enums import Role
    from canonflow.crypto import SecretBox
    from canonflow.db.engine import build_engine, build_sessionmaker, transaction
    from canonflow.db.migrate import upgrade
    from canonflow.db.models import Environment
    from canonflow.tenancy.service import create_tenant

    started = time.perf_counter()
    engine = build_engine(url)
    upgrade(engine)
    sessions = build_sessionmaker(engine)
    sealed = SecretBox(Fernet.generate_key().decode()).seal("x")
    created = datetime.now(UTC) - timedelta(days=args.days + 10)
    tenants: list[tuple[uuid.UUID, int, int]] = []
    token = ""
    with transaction(sessions) as session:
        for i in range(args.tenants + 1):
            tenant = create_tenant(session, slug=f"bench-{i}")
            if i == 0:
                token = make_token(session, tenant, role=Role.VIEWER, name="bench")
                tenants.append((tenant.id, args.workflows, args.environments))
            else:
                tenants.append((tenant.id, 1000, 5))
        for tenant_id, workflows, environments in tenants:
            params = {"tenant": tenant_id}
            for k in range(environments):
                session.add(
                    Environment(
                        tenant_id=tenant_id,
                        name=f"env-{k:02d}",
                        base_url="http://127.0.0.1:9",
                        api_key=sealed,
                        is_anchor=k == 0,
                        created_at=created,
                    )
                )
            session.flush()
            session.execute(
                text(
                    "INSERT INTO canonical_workflows (id, tenant_id, canonical_slug, name,"
                    " content_hash, hash_version, workflow_definition, git_file_path, provider,"
                    " is_deleted, created_at, updated_at) SELECT gen_random_uuid(), :tenant,"
                    " 'wf-' || n, 'Workflow ' || lpad(n::text, 5, '0'), 'v1:git', 1, '{}',"
                    " 'workflows/wf-' || n || '.json', 'n8n', false, now(), now()"
                    " FROM generate_series(1, :n) n"
                ),
                params | {"n": workflows},
            )
            session.execute(text(_MAPPINGS), params)
            changes = args.changes if workflows == args.workflows else args.changes // 5
            session.execute(text(_CHANGES), params | {"days": args.days, "changes": changes})
        session.execute(
            update(MAPPINGS)
            .values(derived_state=cell_state())
            .execution_options(synchronize_session=False)
        )
    counts = {"load_s": round(time.perf_counter() - started, 1)}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE)")
        counts["mappings"] = connection.exec_driver_sql(
            "SELECT count(*) FROM workflow_env_map"
        ).scalar_one()
        counts["state_changes"] = connection.exec_driver_sql(
            "SELECT count(*) FROM state_changes"
        ).scalar_one()
    engine.dispose()
    return Estate(url, tenants[0][0], token, counts)


def _statements(runtime: Any, estate: Estate, days: int) -> list[str]:
    """The trend's two statements, compiled with literal values, as the service runs them."""
    from canonflow.catalogue import queries

    first = datetime.now(UTC).date() - timedelta(days=days - 1)
    start = datetime.combine(first, clock.min, tzinfo=UTC)
    dialect = runtime.engine.dialect
    return [
        str(s.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        for s in (
            queries.current_counts(estate.tenant_id, None),
            queries.window_changes(estate.tenant_id, None, start),
        )
    ]


def _measure(url: str, args: argparse.Namespace) -> None:
    from bench.matrix import _asgi_get, _build_app

    estate = load(url, args)
    with tempfile.TemporaryDirectory() as tmp:
        app, runtime = _build_app(url, Path(tmp))
        params = {"days": "30"}

        async def run() -> list[float]:
            async with app.router.lifespan_context(app):
                for _ in range(WARMUP):
                    status, _size, _first = await _asgi_get(app, PATH, params, estate.token)
                    assert status == 200, status
                times = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    status, _size, _first = await _asgi_get(app, PATH, params, estate.token)
                    times.append(time.perf_counter() - started)
                    assert status == 200, status
                return times

        try:
            times = asyncio.run(run())
            statements = _statements(runtime, estate, 30)
        finally:
            runtime.close()
    floor, plans = _floor(url, statements, args.requests)
    p50, p95 = statistics.median(times) * 1000, _p95(times) * 1000
    ok = "ok" if p50 <= TARGET_MS else "MISSED"
    print(
        f"drift trend, {args.workflows:,} workflows x {args.environments} environments, "
        f"{args.days} days x {args.changes} changes per environment per day; "
        f"{args.tenants} other tenants of 1,000 x 5"
    )
    print(
        f"  {estate.counts['mappings']:,} mappings, {estate.counts['state_changes']:,} state "
        f"changes; loaded in {estate.counts['load_s']} s"
    )
    print(
        f"  GET {PATH}?days=30: p50 {p50:.1f} ms, p95 {p95:.1f} ms (target <= {TARGET_MS:.0f} "
        f"ms) {ok}; floor (the same two aggregates, bare psycopg, fetched) p50 {floor:.1f} ms; "
        f"ratio {p50 / floor:.2f}"
    )
    for title, lines in plans.items():
        print(f"\n  EXPLAIN ANALYZE {title}:")
        for line in lines:
            print("    " + line)


def _floor(url: str, statements: list[str], count: int) -> tuple[float, dict[str, list[str]]]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        for _ in range(WARMUP):
            for sql in statements:
                connection.execute(sql).fetchall()  # type: ignore[arg-type]
        times = []
        for _ in range(count):
            started = time.perf_counter()
            for sql in statements:
                connection.execute(sql).fetchall()  # type: ignore[arg-type]
            times.append(time.perf_counter() - started)
        plans = {
            title: [
                row[0]
                for row in connection.execute(
                    "EXPLAIN (ANALYZE, BUFFERS) " + sql  # type: ignore[arg-type]
                ).fetchall()
            ]
            for title, sql in zip(
                ("today's counts", "the window's changes"), statements, strict=True
            )
        }
    return statistics.median(times) * 1000, plans


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=10_000)
    parser.add_argument("--environments", type=int, default=20)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--changes", type=int, default=200, help="per environment per day")
    parser.add_argument("--tenants", type=int, default=20, help="other tenants, 1,000 x 5")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--postgres", action="store_true", help="(always: PostgreSQL only)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.support.postgres import running_cluster

    with running_cluster() as cluster:
        _measure(cluster.url(), args)


if __name__ == "__main__":
    main()
