"""Benchmark: the matrix endpoints at 10,000 canonical workflows x 20 environments.

Loads one tenant with 10,000 live canonical workflows (and 100 deleted ones) x 20
environments (200,000 cells: a seeded mix of linked states, missing, ignored, deleted and
absent, plus 2,000 untracked mappings), and 50 other tenants of 1,000 x 5, then prints p50
and p95 of requests through the ASGI app in-process: the first page (limit 50), a page in
the middle of the list (reached once by following cursors), the problems page, a name
search, the summary (read from the counts the write flows keep; the full scan it replaced
is timed beside it, in-process, as the reference), and the full JSON export (streamed, its
memory measured in a fresh child process). The floor of each page is the same SQL
(compiled with literal binds) run with the bare driver (psycopg / sqlite3), fetched and
serialized with orjson; the ratio is the endpoint's p50 over the floor's. Then EXPLAIN of
the page, problems and summary SQL (on PostgreSQL also the summary's generic plan, which
the app's prepared statement ends up running). The requests run in a fresh child process,
not in the heap the load left behind.

Targets (PostgreSQL): page p50 <= 10 ms and <= 2x the floor, summary <= 20 ms, full export
<= 2 s streamed with flat memory. SQLite: page p50 <= 10 ms.

    uv run python -m bench.matrix [--postgres] [--workflows 10000] [--environments 20]
        [--tenants 50] [--requests 50] [--exports 5]
        [--profile first|deep|problems|search|summary|export]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import math
import pstats
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

PAGE = "/api/v1/workflows/matrix"
SUMMARY = PAGE + "/summary"
EXPORT = PAGE + "/export"
CHUNK = 5000  # rows per bulk insert
WARMUP = 3  # untimed requests before each timed series
SEARCH = "invoice"
ONE_CHUNK = "Workflow 00"  # 999 workflows: one export statement (EXPORT_CHUNK is 1,000)
WORDS = (
    "invoice",
    "billing",
    "refund",
    "payments",
    "stripe",
    "customer",
    "crm",
    "lead",
    "hubspot",
    "salesforce",
    "slack",
    "alert",
    "notify",
    "digest",
    "daily",
    "weekly",
    "report",
    "export",
    "import",
    "backup",
    "cleanup",
    "ticket",
    "support",
    "jira",
    "github",
    "webhook",
    "sheets",
    "email",
    "onboarding",
    "order",
    "inventory",
)
PAGE_TARGET_MS = 10.0
PAGE_RATIO_TARGET = 2.0
SUMMARY_TARGET_MS = 20.0
EXPORT_TARGET_S = 2.0


@dataclass
class Estate:
    """What the load wrote, and what the requests need."""

    url: str
    tenant_id: uuid.UUID
    token: str
    counts: dict[str, Any] = field(default_factory=dict)


# --- loading -------------------------------------------------------------------------------


class _Generator:
    """Rows for one database, from one seeded random stream."""

    def __init__(self, rng: random.Random, now: datetime, sealed: Any) -> None:
        self.rng = rng
        self.now = now
        self.sealed = sealed
        self.serial = 0

    def digest(self) -> str:
        return f"v1:{self.rng.getrandbits(256):064x}"

    def canonicals(self, tenant_id: uuid.UUID, live: int, deleted: int) -> list[dict[str, Any]]:
        from canonflow.core.enums import WorkflowProvider

        rows = []
        for i in range(1, live + deleted + 1):
            words = " ".join(self.rng.sample(WORDS, 2))
            when = self.now - timedelta(minutes=self.rng.randint(0, 500_000))
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant_id,
                    "canonical_slug": f"workflow-{i:05d}",
                    "name": f"Workflow {i:05d} {words}",
                    "content_hash": self.digest(),
                    "hash_version": 1,
                    "workflow_definition": {},
                    "git_file_path": f"workflows/workflow-{i:05d}.json",
                    "git_commit": f"{self.rng.getrandbits(160):040x}",
                    "git_blob_id": f"{self.rng.getrandbits(160):040x}",
                    "provider": WorkflowProvider.N8N,
                    "is_deleted": i > live,
                    "created_at": when,
                    "updated_at": when,
                }
            )
        self.rng.shuffle(rows)  # creation order is not name order
        return rows

    def environments(self, tenant_id: uuid.UUID, count: int) -> list[dict[str, Any]]:
        return [
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "name": f"env-{k:02d}",
                "base_url": f"http://127.0.0.1:9/env-{k:02d}",
                "api_key": self.sealed,
            }
            for k in range(count)
        ]

    def mappings(
        self, tenant_id: uuid.UUID, environment_id: uuid.UUID, canonicals: list[tuple[Any, str]]
    ) -> list[dict[str, Any]]:
        """One environment's mappings (a sync writes one environment at a time): per live
        canonical ~80% linked (80% in_sync, 8% drift, 6% out_of_date, 3% conflict, 3% unknown
        without a base), 5% missing, 2% ignored, 1% deleted, 12% absent (no row)."""
        from canonflow.core.status import MappingStatus as S

        rows = []
        for canonical_id, git in canonicals:
            r = self.rng.random()
            if r >= 0.88:
                continue  # absent
            if r < 0.80:
                status, s = S.LINKED, self.rng.random()
                if s < 0.80:
                    env, base = git, git  # in_sync
                elif s < 0.88:
                    env, base = self.digest(), git  # drift
                elif s < 0.94:
                    env = base = self.digest()  # out_of_date
                elif s < 0.97:
                    env, base = self.digest(), self.digest()  # conflict
                else:
                    env, base = self.digest(), None  # unknown: no base
            elif r < 0.85:
                status, env, base = S.MISSING, git, git
            elif r < 0.87:
                status, env, base = S.IGNORED, self.digest(), git
            else:
                status, env, base = S.DELETED, git, git
            rows.append(
                self._mapping(tenant_id, environment_id, canonical_id, status, env, git, base)
            )
        return rows

    def untracked(self, tenant_id: uuid.UUID, environment_id: uuid.UUID) -> dict[str, Any]:
        from canonflow.core.status import MappingStatus

        return self._mapping(
            tenant_id, environment_id, None, MappingStatus.UNTRACKED, self.digest(), None, None
        )

    def _mapping(
        self,
        tenant_id: uuid.UUID,
        environment_id: uuid.UUID,
        canonical_id: uuid.UUID | None,
        status: Any,
        env: str | None,
        git: str | None,
        base: str | None,
    ) -> dict[str, Any]:
        self.serial += 1
        when = self.now - timedelta(minutes=self.rng.randint(0, 500_000))
        return {  # workflow_data left out: SQL NULL (the matrix never reads it)
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "canonical_id": canonical_id,
            "environment_id": environment_id,
            "n8n_workflow_id": f"wf{self.serial:08d}",
            "status": status,
            "env_content_hash": env,
            "git_content_hash": git,
            "base_content_hash": base,
            "n8n_updated_at": when,
            "workflow_name": None if canonical_id else f"Scratch {self.rng.choice(WORDS)}",
            "is_deleted": status == "deleted",
            "status_changed_at": when,
            "created_at": when,
            "updated_at": when,
        }


def load(url: str, args: argparse.Namespace) -> Estate:
    """A fresh, migrated database holding the estate; ANALYZE (PostgreSQL: VACUUM ANALYZE)."""
    from cryptography.fernet import Fernet
    from sqlalchemy import insert
    from tests.factories import make_token

    from canonflow.core.enums import Role
    from canonflow.crypto import SecretBox
    from canonflow.db.engine import build_engine, build_sessionmaker, transaction
    from canonflow.db.migrate import upgrade
    from canonflow.db.models import CanonicalWorkflow, Environment, WorkflowEnvMap
    from canonflow.tenancy.service import create_tenant

    started = time.perf_counter()
    engine = build_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade(engine)
    sessions = build_sessionmaker(engine)
    rng = random.Random(11)
    gen = _Generator(rng, datetime.now(UTC), SecretBox(Fernet.generate_key().decode()).seal("x"))
    with transaction(sessions) as session:
        big = create_tenant(session, slug="bench-big")
        token = make_token(session, big, role=Role.VIEWER, name="bench")
        others = [create_tenant(session, slug=f"bench-{n:02d}").id for n in range(args.tenants)]
        big_id = big.id

    # (tenant, live canonicals, environments); 1% deleted canonicals, untracked ~1% of the cells
    shapes = [(big_id, args.workflows, args.environments)]
    shapes += [(tenant_id, 1000, 5) for tenant_id in others]
    canonicals: list[dict[str, Any]] = []
    environments: list[dict[str, Any]] = []
    blocks: list[tuple[uuid.UUID, uuid.UUID, list[tuple[Any, str]], int]] = []
    for tenant_id, live, env_count in shapes:
        rows = gen.canonicals(tenant_id, live, live // 100)
        canonicals += rows
        envs = gen.environments(tenant_id, env_count)
        environments += envs
        alive = [(row["id"], row["content_hash"]) for row in rows if not row["is_deleted"]]
        untracked = [0] * env_count
        for _ in range(live * env_count // 100):
            untracked[rng.randrange(env_count)] += 1
        blocks += [(tenant_id, env["id"], alive, n) for env, n in zip(envs, untracked, strict=True)]
    rng.shuffle(canonicals)  # tenants interleaved, as they grow side by side
    rng.shuffle(blocks)  # environments synced in no particular order

    counts: dict[str, Any] = {"canonicals": len(canonicals), "environments": len(environments)}
    counts["mappings"] = 0
    counts |= {"big_mappings": 0, "big_untracked": 0}
    with transaction(sessions) as session:
        for chunk in _chunks(environments):
            session.execute(insert(Environment.__table__), chunk)
        for chunk in _chunks(canonicals):
            session.execute(insert(CanonicalWorkflow.__table__), chunk)
        pending: list[dict[str, Any]] = []
        for tenant_id, environment_id, alive, untracked in blocks:
            block = gen.mappings(tenant_id, environment_id, alive)
            block += [gen.untracked(tenant_id, environment_id) for _ in range(untracked)]
            rng.shuffle(block)  # n8n's listing order
            counts["mappings"] += len(block)
            if tenant_id == big_id:
                counts["big_mappings"] += len(block) - untracked
                counts["big_untracked"] += untracked
            pending += block
            while len(pending) >= CHUNK:
                session.execute(insert(WorkflowEnvMap.__table__), pending[:CHUNK])
                del pending[:CHUNK]
        if pending:
            session.execute(insert(WorkflowEnvMap.__table__), pending)
    counts["load_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    _record(sessions, environments)
    counts["record_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    counts["analyze_s"] = round(time.perf_counter() - started, 1)
    engine.dispose()
    return Estate(url, big_id, token, counts)


def _record(sessions: Any, environments: list[dict[str, Any]]) -> None:
    """Each environment's cells recorded as its first sync records them (states, and the
    summary's counts), one transaction per environment."""
    from canonflow.catalogue.states import StateCause, record_state_changes
    from canonflow.db.engine import transaction

    for env in environments:
        with transaction(sessions) as session:
            record_state_changes(
                session, env["tenant_id"], StateCause.ENV_SYNC, environment_id=env["id"]
            )


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


# --- requests through the ASGI app ----------------------------------------------------------


def _build_app(url: str, data_dir: Path) -> tuple[Any, Any]:
    from cryptography.fernet import Fernet

    from canonflow.app import create_app
    from canonflow.config import Settings
    from canonflow.runtime import build_runtime

    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        secret_key=Fernet.generate_key().decode(),
        log_level="WARNING",
    )
    runtime = build_runtime(settings)
    return create_app(runtime=runtime), runtime


async def _asgi_get(
    app: Any, path: str, params: dict[str, str], token: str
) -> tuple[int, int, float]:
    """One GET straight into the ASGI app, its body consumed chunk by chunk and dropped
    (httpx's ASGITransport would hold it all). Returns status, body bytes, seconds to the
    first body chunk."""
    from urllib.parse import urlencode

    started = time.perf_counter()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(params).encode(),
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.get_running_loop().create_future()  # no disconnect: wait to be cancelled
        raise AssertionError

    status, size, first = 0, 0, 0.0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size, first
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            if body and not first:
                first = time.perf_counter() - started
            size += len(body)

    await app(scope, receive, send)
    return status, size, first


async def _series(
    client: Any, path: str, params: dict[str, Any], count: int
) -> tuple[list[float], Any]:
    """`count` timed requests after WARMUP untimed ones; the seconds and the last body."""
    body = None
    for _ in range(WARMUP):
        response = await client.get(path, params=params)
        assert response.status_code == 200, response.text
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.get(path, params=params)
        body = response.content
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return times, orjson.loads(body) if body is not None else None


async def _requests(
    app: Any, estate: Estate, args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The timed series through the app; also what the floor needs (the deep cursor)."""
    import httpx

    results: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {estate.token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers, timeout=600
    ) as client:
        n = args.requests
        times, page = await _series(client, PAGE, {"limit": 50}, n)
        results["first"] = times
        results["one"], _ = await _series(client, PAGE, {"limit": 1}, n)  # the fixed cost
        names = [w["name"][:14] for w in page["workflows"]]
        cells = {len(w["environments"]) for w in page["workflows"]}
        assert names[0] == "Workflow 00001" and len(names) == 50, names[:3]
        assert cells == {args.environments}, cells
        # the middle of the list: follow cursors there once (500 a page), then time one page
        middle, seen, params = args.workflows // 2, 0, {}
        while seen < middle:
            params["limit"] = min(500, middle - seen)
            body = (await client.get(PAGE, params=params)).json()
            seen += len(body["workflows"])
            params["cursor"] = body["next_cursor"]
        cursor = params["cursor"]
        checks["deep_cursor"] = cursor
        times, page = await _series(client, PAGE, {"limit": 50, "cursor": cursor}, n)
        results["deep"] = times
        first_name = page["workflows"][0]["name"][:14]
        assert first_name == f"Workflow {middle + 1:05d}", first_name
        checks["deep_page"] = f"{middle // 50 + 1} of {math.ceil(args.workflows / 50)}"
        times, page = await _series(client, PAGE, {"limit": 50, "problems": "true"}, n)
        results["problems"] = times
        assert len(page["workflows"]) == 50
        times, page = await _series(client, PAGE, {"limit": 50, "q": SEARCH}, n)
        results["search"] = times
        assert all(SEARCH in w["name"] for w in page["workflows"])
        times, summary = await _series(client, SUMMARY, {}, n)
        results["summary"] = times
        for env in summary["environments"]:
            statuses = dict(env["statuses"])
            statuses.pop("untracked", None)
            assert sum(statuses.values()) == args.workflows, (env["name"], statuses)
        assert len(summary["environments"]) == args.environments
        # the export: once kept and parsed (the check), then timed with the body discarded
        response = await client.get(EXPORT, params={"format": "json"})
        assert response.status_code == 200, response.text
        exported = orjson.loads(response.content)
        workflows = exported["workflows"]
        cells_total = sum(len(w["environments"]) for w in workflows)
        assert len(workflows) == args.workflows, len(workflows)
        assert cells_total == args.workflows * args.environments, cells_total
        checks["export"] = (len(workflows), cells_total, len(response.content))
        del exported, workflows, response
    walls, firsts = [], []
    for _ in range(args.exports):
        started = time.perf_counter()
        status, size, first = await _asgi_get(app, EXPORT, {"format": "json"}, estate.token)
        walls.append(time.perf_counter() - started)
        firsts.append(first)
        assert status == 200 and size == checks["export"][2], (status, size)
    results["export"] = walls
    results["export_first_byte"] = firsts
    return results, checks


# --- the floor and EXPLAIN: the same SQL through the bare driver ---------------------------


class _Bare:
    """The database through its bare driver: psycopg (autocommit) or sqlite3."""

    def __init__(self, url: str) -> None:
        self.postgres = url.startswith("postgresql")
        if self.postgres:
            import psycopg

            self.connection: Any = psycopg.connect(
                url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
            )
        else:
            self.connection = sqlite3.connect(url.removeprefix("sqlite:///"))

    def rows(self, sql: str) -> list[Any]:
        cursor = self.connection.cursor()
        cursor.execute(sql)
        return list(cursor.fetchall())

    def floor(self, sql: str, count: int) -> list[float]:
        """execute + fetchall + orjson.dumps of the rows, `count` times after WARMUP."""
        times = []
        for i in range(WARMUP + count):
            started = time.perf_counter()
            cursor = self.connection.cursor()
            cursor.execute(sql)
            orjson.dumps(cursor.fetchall())
            if i >= WARMUP:
                times.append(time.perf_counter() - started)
        return times

    def explain_generic(self, statement: Any, dialect: Any) -> list[str]:
        """PostgreSQL: EXPLAIN ANALYZE of `statement` bound as the app binds it, planned as
        a prepared statement's generic plan. psycopg prepares a statement on its 5th
        execution on a connection; PostgreSQL's plan cache then tries 5 custom plans and
        keeps the generic one unless it looks costlier."""
        from psycopg import sql as pg_sql

        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        params = compiled.construct_params()
        order: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        text = re.sub(r"%\((\w+)\)s", number, str(compiled)).replace("%%", "%")
        values = ", ".join(pg_sql.Literal(params[n]).as_string(self.connection) for n in order)
        cursor = self.connection.cursor()
        cursor.execute(f"PREPARE bench_generic AS {text}")
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            explain = f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_generic({values})"
            return [row[0] for row in self.rows(explain)]
        finally:
            cursor.execute("RESET plan_cache_mode")
            cursor.execute("DEALLOCATE bench_generic")

    def explain(self, sql: str) -> list[str]:
        if self.postgres:
            return [row[0] for row in self.rows("EXPLAIN (ANALYZE, BUFFERS) " + sql)]
        depth: dict[int, int] = {0: 0}
        lines = []
        for node, parent, _, detail in self.rows("EXPLAIN QUERY PLAN " + sql):
            depth[node] = depth.get(parent, 0) + 1
            lines.append("  " * (depth[node] - 1) + detail)
        return lines

    def version(self) -> str:
        if self.postgres:
            return "PostgreSQL " + self.rows("SHOW server_version")[0][0].split()[0]
        return "SQLite " + sqlite3.sqlite_version

    def close(self) -> None:
        self.connection.close()


def _statements(
    runtime: Any, estate: Estate, checks: dict[str, Any]
) -> dict[str, tuple[str, str, Any]]:
    """name -> (title, SQL with literal binds, statement) as the endpoints run them."""
    from canonflow.api.pagination import decode_cursor
    from canonflow.db.engine import transaction
    from canonflow.matrix import service
    from canonflow.matrix.counts import kept_statement
    from canonflow.matrix.queries import MatrixFilter, page_statement, summary_statement

    with transaction(runtime.sessions) as session:
        environments = service.environments_of(session, estate.tenant_id)
    ids = [e.id for e in environments]
    name, last = decode_cursor(checks["deep_cursor"])
    after = (name, uuid.UUID(last))
    tenant = estate.tenant_id

    def sql(statement: Any) -> tuple[str, Any]:
        compiled = statement.compile(
            dialect=runtime.engine.dialect, compile_kwargs={"literal_binds": True}
        )
        return str(compiled), statement

    plain, problems = MatrixFilter(), MatrixFilter(problems_only=True)
    searched = MatrixFilter(search=SEARCH)
    return {
        "first": ("first page", *sql(page_statement(tenant, ids, plain, after=None, limit=51))),
        "deep": ("deep page", *sql(page_statement(tenant, ids, plain, after=after, limit=51))),
        "problems": (
            "problems page",
            *sql(page_statement(tenant, ids, problems, after=None, limit=51)),
        ),
        "search": (
            "name search",
            *sql(page_statement(tenant, ids, searched, after=None, limit=51)),
        ),
        "summary": ("summary (kept counts)", *sql(kept_statement(tenant, ids))),
        "summary_scan": ("summary, full scan", *sql(summary_statement(tenant, ids))),
    }


# --- export memory, in a fresh child ---------------------------------------------------------


def _status_kb(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field_name} in /proc/self/status")


def _export_child(url: str, token: str, search: str) -> None:
    """Print the growth of this process's peak RSS while it streams the JSON export (of the
    workflows whose name contains `search`, or all)."""
    with tempfile.TemporaryDirectory() as tmp:
        app, runtime = _build_app(url, Path(tmp))

        async def run() -> dict[str, Any]:
            async with app.router.lifespan_context(app):
                status, _, _ = await _asgi_get(app, PAGE, {"limit": "50"}, token)  # warm up
                assert status == 200
                gc.collect()
                before = _status_kb("VmRSS")
                try:  # reset VmHWM to the current RSS
                    Path("/proc/self/clear_refs").write_text("5")
                    reset = True
                except OSError:
                    reset = False
                started = time.perf_counter()
                params = {"format": "json"} | ({"q": search} if search else {})
                status, size, _ = await _asgi_get(app, EXPORT, params, token)
                seconds = time.perf_counter() - started
                assert status == 200
                return {
                    "rss_before_kb": before,
                    "hwm_kb": _status_kb("VmHWM"),
                    "hwm_reset": reset,
                    "bytes": size,
                    "seconds": seconds,
                }

        try:
            print(json.dumps(asyncio.run(run())))
        finally:
            runtime.close()


def _export_memory(estate: Estate, search: str = "") -> dict[str, Any]:
    command = ["--export-child", estate.url, estate.token, search]
    output = subprocess.run(
        [sys.executable, "-m", "bench.matrix", *command],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


# --- profile -----------------------------------------------------------------------------------


@contextmanager
def _profile_all_threads() -> Iterator[list[cProfile.Profile]]:
    """cProfile in this thread and in every thread started inside the block (the sync
    endpoints run on the event loop's worker threads: start the loop inside the block)."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_in_thread(*_: Any) -> None:
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.enable()  # replaces this hook for the thread

    threading.setprofile(start_in_thread)
    main = cProfile.Profile()
    profiles.append(main)
    main.enable()
    try:
        yield profiles
    finally:
        main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]


def _profile(url: str, estate: Estate, checks: dict[str, Any], which: str, count: int) -> None:
    params: dict[str, Any] = {
        "first": {"limit": 50},
        "deep": {"limit": 50, "cursor": checks["deep_cursor"]},
        "problems": {"limit": 50, "problems": "true"},
        "search": {"limit": 50, "q": SEARCH},
        "summary": {},
        "export": {"format": "json"},
    }[which]
    path = {"summary": SUMMARY, "export": EXPORT}.get(which, PAGE)
    count = 1 if which == "export" else count
    with tempfile.TemporaryDirectory() as tmp:
        app, runtime = _build_app(url, Path(tmp))

        async def run(profiles: list[cProfile.Profile]) -> float:
            async with app.router.lifespan_context(app):
                for _ in range(WARMUP):
                    await _asgi_get(app, path, params, estate.token)
                for profile in profiles:  # the worker threads are idle: forget the warm-up
                    profile.clear()
                started = time.perf_counter()
                for _ in range(count):
                    status, _, _ = await _asgi_get(app, path, params, estate.token)
                    assert status == 200
                return time.perf_counter() - started

        try:
            with _profile_all_threads() as profiles:
                wall = asyncio.run(run(profiles))
        finally:
            runtime.close()
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    idle = r"^(?!.*(selectors|base_events|asyncio/events|queue|threading|lock|epoll|contextvars))"
    print(
        f"\n  cProfile of {count} '{which}' requests ({wall / count * 1000:.1f} ms each under "
        "the profiler), event loop and worker threads summed, waiting left out; by cumulative "
        "time, then by own time:"
    )
    stats.sort_stats("cumulative").print_stats(idle, 35)
    stats.sort_stats("tottime").print_stats(idle, 15)


# --- report ----------------------------------------------------------------------------------


def _p(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def _measure(url: str, args: argparse.Namespace) -> None:
    estate = load(url, args)
    # measured in a fresh process, as a server would be: not in the heap the load left behind
    state = {"url": estate.url, "tenant_id": str(estate.tenant_id), "token": estate.token}
    state["counts"] = estate.counts  # type: ignore[assignment]
    command = [sys.executable, "-m", "bench.matrix", *sys.argv[1:]]
    subprocess.run([*command, "--measure-child", json.dumps(state)], check=True)


def _measure_child(state: dict[str, Any], args: argparse.Namespace) -> None:
    estate = Estate(state["url"], uuid.UUID(state["tenant_id"]), state["token"], state["counts"])
    url = estate.url
    with tempfile.TemporaryDirectory() as tmp:
        app, runtime = _build_app(url, Path(tmp))

        async def run() -> tuple[dict[str, Any], dict[str, Any]]:
            async with app.router.lifespan_context(app):
                return await _requests(app, estate, args)

        try:
            results, checks = asyncio.run(run())
            statements = _statements(runtime, estate, checks)
            dialect = runtime.engine.dialect
            layers = _layers(runtime, estate, args.requests)
            results |= _summaries(runtime, estate, args.requests)
        finally:
            runtime.close()
    bare = _Bare(url)
    floors = {key: bare.floor(statements[key][1], args.requests) for key in statements}
    memory = {"full": _export_memory(estate), "chunk": _export_memory(estate, ONE_CHUNK)}
    plans = {
        f"EXPLAIN {statements[key][0]}": bare.explain(statements[key][1])
        for key in ("first", "problems", "summary", "summary_scan")
    }
    if bare.postgres:
        title = "EXPLAIN summary, generic plan (as the app runs it once psycopg has prepared it)"
        plans[title] = bare.explain_generic(statements["summary"][2], dialect)
    version = bare.version()
    bare.close()
    _report(version, estate, args, results, checks, floors, memory)
    first = statistics.median(results["first"]) * 1000
    floor = statistics.median(floors["first"]) * 1000
    one = statistics.median(results["one"]) * 1000
    print(
        f"  where the first page's p50 goes: bare SQL + orjson {floor:.1f} ms; SQLAlchemy "
        f"execute + typed rows {layers['rows']:.1f} ms; service.page (cells assembled) "
        f"{layers['page']:.1f} ms; the endpoint through ASGI {first:.1f} ms, of which "
        f"{one:.1f} ms are spent at limit=1 (token, environments, transaction, FastAPI)"
    )
    for title, lines in plans.items():
        print(f"\n  {title}:")
        for line in lines:
            print("    " + line)
    for which in args.profile or ():
        _profile(url, estate, checks, which, 20)


def _summaries(runtime: Any, estate: Estate, count: int) -> dict[str, list[float]]:
    """`service.summary` (the kept counts) and `service.scanned_summary` (the full scan it
    replaced, the reference), in one session, alternately; their answers are equal."""
    from canonflow.db.engine import transaction
    from canonflow.matrix import service

    times: dict[str, list[float]] = {"summary_kept": [], "summary_scan": []}
    with transaction(runtime.sessions) as session:
        environments = service.environments_of(session, estate.tenant_id)
        kept = service.summary(session, estate.tenant_id, environments)
        assert kept == service.scanned_summary(session, estate.tenant_id, environments)
        for i in range(WARMUP + count):
            for key, work in (
                ("summary_kept", service.summary),
                ("summary_scan", service.scanned_summary),
            ):
                started = time.perf_counter()
                work(session, estate.tenant_id, environments)
                if i >= WARMUP:
                    times[key].append(time.perf_counter() - started)
    return times


def _layers(runtime: Any, estate: Estate, count: int) -> dict[str, float]:
    """p50 ms of the first page's statement through SQLAlchemy (rows with their Python
    types), and of `service.page` (the rows assembled into cells), in one session."""
    from canonflow.db.engine import transaction
    from canonflow.matrix import service
    from canonflow.matrix.queries import MatrixFilter, page_statement

    def p50(work: Any) -> float:
        times = []
        for i in range(WARMUP + count):
            started = time.perf_counter()
            work()
            if i >= WARMUP:
                times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    with transaction(runtime.sessions) as session:
        environments = service.environments_of(session, estate.tenant_id)
        ids = [e.id for e in environments]
        statement = page_statement(estate.tenant_id, ids, MatrixFilter(), after=None, limit=51)
        return {
            "rows": p50(lambda: session.execute(statement).all()),
            "page": p50(
                lambda: service.page(
                    session, estate.tenant_id, environments, MatrixFilter(), after=None, limit=50
                )
            ),
        }


def _report(
    version: str,
    estate: Estate,
    args: argparse.Namespace,
    results: dict[str, Any],
    checks: dict[str, Any],
    floors: dict[str, list[float]],
    memory: dict[str, Any],
) -> None:
    postgres = version.startswith("PostgreSQL")
    c = estate.counts
    cells = args.workflows * args.environments
    print(
        f"matrix: {args.workflows:,} workflows x {args.environments} environments, {version}\n"
        f"  estate: {cells:,} cells = {c['big_mappings']:,} mappings + "
        f"{cells - c['big_mappings']:,} absent, {c['big_untracked']:,} untracked, "
        f"{args.workflows // 100} deleted canonicals; + {args.tenants} tenants of 1,000 x 5; "
        f"{c['canonicals']:,} canonicals, {c['mappings']:,} mappings in all; loaded in "
        f"{c['load_s']} s, states and counts recorded per environment {c['record_s']} s, "
        f"{'VACUUM ANALYZE' if postgres else 'ANALYZE'} {c['analyze_s']} s"
    )
    print(
        f"  {args.requests} timed requests each (after {WARMUP} untimed), in-process "
        "(httpx.ASGITransport); floor: the same SQL through "
        f"{'psycopg' if postgres else 'sqlite3'}, fetchall + orjson.dumps, {args.requests} runs"
    )
    print(f"  {'':<34}{'p50':>11}{'p95':>11}{'floor p50':>12}{'ratio':>8}")
    rows = (
        ("first", "first page (limit 50)"),
        ("deep", f"deep page ({checks['deep_page']})"),
        ("problems", "problems page (problems=true)"),
        ("search", f"name search (q={SEARCH})"),
        ("summary", "summary (kept counts)"),
        ("summary_scan", "summary, full scan (reference)"),
    )
    for key, label in rows:
        times = results[key]
        p50, p95 = statistics.median(times), _p(times, 0.95)
        floor = statistics.median(floors[key])
        ratio = p50 / floor
        if key in ("first", "deep", "problems"):
            ok = p50 * 1000 <= PAGE_TARGET_MS and (not postgres or ratio <= PAGE_RATIO_TARGET)
            target = f"(target p50 <= {PAGE_TARGET_MS:.0f} ms" + (
                f", ratio <= {PAGE_RATIO_TARGET:.0f})" if postgres else ")"
            )
        elif key == "summary" and postgres:
            ok = p50 * 1000 <= SUMMARY_TARGET_MS
            target = f"(target p50 <= {SUMMARY_TARGET_MS:.0f} ms)"
        else:
            ok, target = True, "(no target)"
        verdict = "" if target == "(no target)" else (" ok" if ok else " MISSED")
        print(f"  {label:<34}{_ms(p50)}{_ms(p95)} {_ms(floor)}{ratio:8.2f}  {target}{verdict}")
    if postgres:
        shown = " ".join(f"{t * 1000:.1f}" for t in results["summary"][:15])
        print(f"  summary, the first 15 timed requests (ms): {shown}")
    kept, scan = results["summary_kept"], results["summary_scan"]
    print(
        f"  summary in-process, alternately in one session: service.summary (kept) p50 "
        f"{_ms(statistics.median(kept))} p95 {_ms(_p(kept, 0.95))}; service.scanned_summary "
        f"(full scan) p50 {_ms(statistics.median(scan))} p95 {_ms(_p(scan, 0.95))}; "
        f"{statistics.median(scan) / statistics.median(kept):.0f}x"
    )
    walls = results["export"]
    workflows, cells_total, size = checks["export"]
    p50 = statistics.median(walls)
    ok = p50 <= EXPORT_TARGET_S
    target = f"(target <= {EXPORT_TARGET_S:.0f} s){' ok' if ok else ' MISSED'}" if postgres else ""
    print(
        f"  full JSON export, {len(walls)} runs: median {p50:.2f} s, max {max(walls):.2f} s, "
        f"first byte {statistics.median(results['export_first_byte']) * 1000:.0f} ms; "
        f"{size / 2**20:.1f} MB, parsed: {workflows:,} workflows, {cells_total:,} cells {target}"
    )
    full, chunk = memory["full"], memory["chunk"]
    growth = (full["hwm_kb"] - full["rss_before_kb"]) / 1024
    small = (chunk["hwm_kb"] - chunk["rss_before_kb"]) / 1024
    how = "VmHWM reset just before" if full["hwm_reset"] else "VmHWM, not reset"
    bodies, memories = full["bytes"] / chunk["bytes"], growth / max(small, 0.1)
    flat = memories <= max(1.25, bodies / 4)  # grows at most a quarter as fast as the body
    print(
        f"  export memory, each in a fresh child ({how}, growth over VmRSS before): full "
        f"export +{growth:.1f} MB (peak RSS {full['hwm_kb'] / 1024:.0f} MB; "
        f"{full['bytes'] / 2**20:.1f} MB body, {full['seconds']:.2f} s); one export chunk "
        f"(q={ONE_CHUNK!r}, {chunk['bytes'] / 2**20:.1f} MB body) +{small:.1f} MB; "
        f"{bodies:.1f}x the body for {memories:.1f}x the memory: "
        + ("flat" if flat else "GROWS with the export")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="on a private PostgreSQL")
    parser.add_argument("--workflows", type=int, default=10_000)
    parser.add_argument("--environments", type=int, default=20)
    parser.add_argument("--tenants", type=int, default=50, help="other tenants, 1,000 x 5")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--exports", type=int, default=5)
    parser.add_argument(
        "--profile",
        action="append",
        choices=("first", "deep", "problems", "search", "summary", "export"),
        help="cProfile 20 such requests (the export: 1) after the figures; repeatable",
    )
    parser.add_argument("--export-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--measure-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_child:
        _measure_child(json.loads(args.measure_child), args)
        return
    if args.export_child:
        _export_child(*args.export_child)
        return
    if args.postgres:
        from tests.support.postgres import running_cluster

        with running_cluster() as cluster:
            _measure(cluster.url(), args)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            _measure(f"sqlite:///{tmp}/bench.db", args)


if __name__ == "__main__":
    main()
