"""Benchmark: the matrix endpoints under concurrent load, through a real `canonflow serve`.

bench.matrix's estate on a private PostgreSQL (one tenant of 10,000 canonical workflows x 20
environments, 50 other tenants of 1,000 x 5), served by `canonflow serve` in its own process
(uvicorn as `serve` runs it: one process, its embedded job worker on; the scheduler off, or
it would sync the seeded environments, which no n8n answers, during the timed run). Then:

1. The fixed per-request cost: one client, one keep-alive connection, requests one after
   another: `/healthz` (HTTP and the framework, no token, no database), `/api/v1/me` (the
   cached principal) and the cheapest matrix page (`limit=1`: token and environments in one
   statement, a one-row page); p50 of each.
2. The load: `--clients` asyncio clients (default 16), each on its own HTTP/1.1 keep-alive
   connection, for `--seconds` (default 60) after a 3 s warm-up, a mix of first pages, deep
   pages from cursors precomputed before the timed run, problems and state filters, name
   searches, and the summary every `--summary-every`th request (default 20; 0: none).
   Prints pages/s, p50/p95/p99 of the pages and of the summaries apart, errors, the load
   generator's own CPU and the server's.
3. The floor: the same number of threads, each with its own psycopg connection, running the
   pages' own SQL (compiled with literal binds, the same mix without the summary) +
   `fetchall` + `orjson.dumps`, for `--floor-seconds`.

Targets (issue 19): >= 250 pages/s, p99 <= 50 ms, no errors; fixed cost <= 1.5 ms.

    uv run python -m bench.matrix_load [--seconds 60] [--clients 16] [--summary-every 20]
        [--floor-seconds 20] [--runs 1] [--workflows 10000] [--environments 20] [--tenants 50]
        [--server-src DIR] [--before-src DIR [--before-load]]
    --before-src serves another checkout's `src` (the code before a change) beside this one:
    the fixed costs are measured alternating between the two; --before-load loads it too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

from bench.matrix import WORDS, Estate, _p, load

PAGE = "/api/v1/workflows/matrix"
SUMMARY = PAGE + "/summary"
PAGES_TARGET = 250.0
P99_TARGET_MS = 50.0
FIXED_TARGET_MS = 1.5
WARMUP_S = 3.0
FIXED_REQUESTS = 100
FIXED_ROUNDS = 3
# the mix (weights of the page kinds; the summary comes every --summary-every requests)
MIX = (("first", 3), ("deep", 3), ("problems", 1), ("state", 1), ("search", 2))


class Connection:
    """A minimal HTTP/1.1 keep-alive client: GET, read Content-Length bytes, nothing else."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.head = f"Host: bench\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.head)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RuntimeError(f"no Content-Length in {head!r}")
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


# --- the server --------------------------------------------------------------------------


def _start_server(url: str, data_dir: Path, port: int, src: str | None) -> subprocess.Popen[bytes]:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith("CANONFLOW_")}
    env |= {
        "CANONFLOW_DATABASE_URL": url,
        "CANONFLOW_DATA_DIR": str(data_dir),
        "CANONFLOW_SECRET_KEY": Fernet.generate_key().decode(),
        "CANONFLOW_LOG_LEVEL": "WARNING",
        "CANONFLOW_PORT": str(port),
        # no scheduled syncs of the seeded environments (unreachable, their keys sealed with
        # another secret) during the timed run; the embedded job worker still runs
        "CANONFLOW_SCHEDULER_ENABLED": "false",
    }
    if src:
        env["PYTHONPATH"] = src
    command = [sys.executable, "-c", "from canonflow.cli.main import main; main()", "serve"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


async def _wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited ({server.returncode})")
        try:
            connection = Connection(port, "none")
            status, _ = await connection.get("/healthz")
            await connection.close()
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start in 120 s")
        await asyncio.sleep(0.2)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the requests ------------------------------------------------------------------------


def _query(path: str, **params: Any) -> str:
    return path + ("?" + urlencode(params) if params else "")


async def _cursors(connection: Connection) -> list[str]:
    """A cursor every 500 workflows down the whole list (the deep pages start there)."""
    cursors: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        status, body = await connection.get(_query(PAGE, **params))
        assert status == 200, body[:300]
        cursor = orjson.loads(body)["next_cursor"]
        if cursor is None:
            return cursors
        cursors.append(cursor)


def _paths(rng: random.Random, cursors: list[str], count: int, summary_every: int) -> list[str]:
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    paths = []
    for n in range(1, count + 1):
        if summary_every and n % summary_every == 0:
            paths.append(SUMMARY)
            continue
        kind = rng.choice(kinds)
        params: dict[str, Any] = {"limit": 50}
        if kind == "deep":
            params["cursor"] = rng.choice(cursors)
        elif kind == "problems":
            params["problems"] = "true"
        elif kind == "state":
            params["state"] = rng.choice(("drift", "out_of_date", "conflict"))
        elif kind == "search":
            params["q"] = rng.choice(WORDS)
        paths.append(_query(PAGE, **params))
    return paths


async def _client(
    port: int, token: str, paths: list[str], stop_at: float, record_from: float, out: dict[str, Any]
) -> None:
    connection = Connection(port, token)
    i = 0
    try:
        while (started := time.perf_counter()) < stop_at:
            path = paths[i % len(paths)]
            i += 1
            try:
                status, _ = await connection.get(path)
            except (OSError, asyncio.IncompleteReadError, RuntimeError) as exc:
                out["errors"].append(repr(exc))
                await connection.close()
                connection = Connection(port, token)
                continue
            elapsed = time.perf_counter() - started
            if started < record_from:
                continue
            if status != 200:
                out["errors"].append(f"{status} {path}")
            kind = "summary" if path == SUMMARY else "page"
            out[kind].append(elapsed)
    finally:
        await connection.close()


async def _fixed(port: int, token: str) -> dict[str, float]:
    """p50 ms of each cheap request, one after another on one keep-alive connection."""
    connection = Connection(port, token)
    result = {}
    for path in ("/healthz", "/api/v1/me", _query(PAGE, limit=1)):
        times = []
        for i in range(FIXED_REQUESTS + 10):
            started = time.perf_counter()
            status, body = await connection.get(path)
            if i >= 10:
                times.append(time.perf_counter() - started)
            assert status == 200, body[:300]
        result[path] = statistics.median(times) * 1000
    await connection.close()
    return result


async def _load(port: int, token: str, args: argparse.Namespace) -> dict[str, Any]:
    connection = Connection(port, token)
    cursors = await _cursors(connection)
    await connection.close()
    out: dict[str, Any] = {"page": [], "summary": [], "errors": [], "cursors": len(cursors)}
    rng = random.Random(19)
    plans = [_paths(rng, cursors, 5000, args.summary_every) for _ in range(args.clients)]
    for plan in plans:  # the clients' summaries fall at different times
        plan[:] = plan[rng.randrange(len(plan)) :] + plan
    begin = time.perf_counter()
    record_from, stop_at = begin + WARMUP_S, begin + WARMUP_S + args.seconds
    usage = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(*(_client(port, token, plan, stop_at, record_from, out) for plan in plans))
    after = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter() - begin
    out["generator_cpu"] = (
        after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    ) / wall
    return out


# --- the floor ---------------------------------------------------------------------------


def _floor_statements(url: str, estate: Estate, cursors_from: str | None) -> list[str]:
    """The pages' SQL with literal binds, in the load's mix (no summary)."""
    from canonflow.api.pagination import decode_cursor
    from canonflow.core.sync_state import SyncState
    from canonflow.db.engine import build_engine, build_sessionmaker, read_transaction
    from canonflow.matrix import service
    from canonflow.matrix.queries import MatrixFilter, page_statement

    engine = build_engine(url)
    with read_transaction(build_sessionmaker(engine)) as session:
        environments = service.environments_of(session, estate.tenant_id)
    ids = [e.id for e in environments]
    after = None
    if cursors_from:
        name, last = decode_cursor(cursors_from)
        after = (name, uuid.UUID(last))
    filters = {
        "first": MatrixFilter(),
        "deep": MatrixFilter(),
        "problems": MatrixFilter(problems_only=True),
        "state": MatrixFilter(states=(SyncState.DRIFT,)),
        "search": MatrixFilter(search="invoice"),
    }
    statements = []
    for kind, weight in MIX:
        key = after if kind == "deep" else None
        statement = page_statement(estate.tenant_id, ids, filters[kind], after=key, limit=51)
        compiled = statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        statements += [str(compiled)] * weight
    engine.dispose()
    return statements


def _floor(url: str, statements: list[str], threads: int, seconds: float) -> dict[str, Any]:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    counts = [0] * threads
    times: list[list[float]] = [[] for _ in range(threads)]
    stop = time.perf_counter() + seconds

    def run(k: int) -> None:
        rng = random.Random(k)
        with psycopg.connect(dsn, autocommit=True) as connection:
            while (started := time.perf_counter()) < stop:
                cursor = connection.execute(rng.choice(statements))  # type: ignore[call-overload]
                orjson.dumps(cursor.fetchall())
                times[k].append(time.perf_counter() - started)
                counts[k] += 1

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    every = [t for ts in times for t in ts]
    return {"rate": sum(counts) / wall, "p50": _p(every, 0.5), "p99": _p(every, 0.99)}


# --- report --------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.1f} ms"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _print_fixed(fixed: dict[str, float]) -> None:
    one = fixed[PAGE + "?limit=1"]
    print(
        f"  fixed cost, p50 of {FIXED_REQUESTS} sequential requests on one keep-alive "
        f"connection (median of {FIXED_ROUNDS} rounds): /healthz {fixed['/healthz']:.2f} ms, "
        f"/api/v1/me {fixed['/api/v1/me']:.2f} ms, matrix limit=1 {one:.2f} ms; limit=1 over "
        f"/healthz {one - fixed['/healthz']:.2f} ms (target <= {FIXED_TARGET_MS})"
    )


def _report(args: argparse.Namespace, fixed: dict[str, float], out: dict[str, Any]) -> None:
    pages, summaries, errors = out["page"], out["summary"], out["errors"]
    rate = len(pages) / args.seconds
    p99 = _p(pages, 0.99) if pages else float("inf")
    _print_fixed(fixed)
    print(
        f"  load: {args.clients} clients x {args.seconds:.0f} s (after {WARMUP_S:.0f} s warm-up), "
        f"summary every {args.summary_every or 'never'}; deep pages from {out['cursors']} cursors"
    )
    print(
        f"  pages: {len(pages):,} = {rate:.1f} pages/s (target >= {PAGES_TARGET:.0f}: "
        f"{_verdict(rate >= PAGES_TARGET)}); p50 {_ms(_p(pages, 0.5))}, p95 "
        f"{_ms(_p(pages, 0.95))}, p99 {_ms(p99)} (target <= {P99_TARGET_MS:.0f} ms: "
        f"{_verdict(p99 * 1000 <= P99_TARGET_MS)})"
    )
    if summaries:
        print(
            f"  summaries: {len(summaries):,} = {len(summaries) / args.seconds:.1f}/s; p50 "
            f"{_ms(_p(summaries, 0.5))}, p95 {_ms(_p(summaries, 0.95))}, p99 "
            f"{_ms(_p(summaries, 0.99))}"
        )
    every = pages + summaries
    print(
        f"  all requests: p50 {_ms(_p(every, 0.5))}, p95 {_ms(_p(every, 0.95))}, p99 "
        f"{_ms(_p(every, 0.99))}; errors {len(errors)} (target 0: {_verdict(not errors)})"
        + (f", e.g. {errors[:3]}" if errors else "")
    )
    print(
        f"  CPU, share of one core over the run: load generator {out['generator_cpu']:.0%}, "
        f"server process {out['server_cpu']:.0%}"
    )


async def _measure(url: str, estate: Estate, args: argparse.Namespace, data: Path) -> None:
    servers = {"this": (args.server_src, _free_port())}
    if args.before_src:
        servers["before"] = (args.before_src, _free_port())
    started = {
        name: _start_server(url, data / name, port, src) for name, (src, port) in servers.items()
    }
    results: dict[str, dict[str, Any]] = {}
    try:
        for name, server in started.items():
            await _wait_until_up(servers[name][1], server)
        fixed: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        for _ in range(FIXED_ROUNDS):  # side by side, alternating
            for name in servers:
                fixed[name].append(await _fixed(servers[name][1], estate.token))
        for name in servers if args.before_load else ("this",):
            server, port = started[name], servers[name][1]
            cpu, begin = _cpu_s(server.pid), time.perf_counter()
            out = await _load(port, estate.token, args)
            out["server_cpu"] = (_cpu_s(server.pid) - cpu) / (time.perf_counter() - begin)
            results[name] = out
    finally:
        for server in started.values():
            server.terminate()
            server.wait(timeout=60)
    print(f"load average before: {args.loadavg}; after: {Path('/proc/loadavg').read_text()}")
    for name, out in results.items():
        print(f"  [{name} code{': ' + str(servers[name][0]) if servers[name][0] else ''}]")
        _report(args, _median_fixed(fixed[name]), out)
    if "before" in servers and "before" not in results:
        print(f"  [before code: {args.before_src}]")
        _print_fixed(_median_fixed(fixed["before"]))
    middle = await _middle_cursor(url, estate, args)
    statements = _floor_statements(url, estate, middle)
    floor = _floor(url, statements, args.clients, args.floor_seconds)
    rate = len(results["this"]["page"]) / args.seconds
    print(
        f"  floor: {args.clients} threads x psycopg connections, the pages' SQL + fetchall + "
        f"orjson.dumps, {args.floor_seconds:.0f} s: {floor['rate']:.1f} pages/s, p50 "
        f"{_ms(floor['p50'])}, p99 {_ms(floor['p99'])}; the server's pages/s are "
        f"{rate / floor['rate']:.2f}x the floor's"
    )


def _median_fixed(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {path: statistics.median(r[path] for r in rounds) for path in rounds[0]}


async def _middle_cursor(url: str, estate: Estate, args: argparse.Namespace) -> str | None:
    """The cursor halfway down the list, read in-process (the server is gone)."""
    from canonflow.api.pagination import encode_cursor
    from canonflow.db.engine import build_engine, build_sessionmaker, read_transaction
    from canonflow.matrix import service
    from canonflow.matrix.queries import MatrixFilter

    engine = build_engine(url)
    try:
        with read_transaction(build_sessionmaker(engine)) as session:
            environments = service.environments_of(session, estate.tenant_id)
            page = service.page(
                session, estate.tenant_id, environments, MatrixFilter(), after=None,
                limit=args.workflows // 2,
            )  # fmt: skip
    finally:
        engine.dispose()
    if page.next_after is None:
        return None
    return encode_cursor([page.next_after[0], str(page.next_after[1])])


def _free_port() -> int:
    from tests.support.postgres import free_port

    return free_port()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--summary-every", type=int, default=20, help="0: no summary")
    parser.add_argument("--floor-seconds", type=float, default=20.0)
    parser.add_argument("--workflows", type=int, default=10_000)
    parser.add_argument("--environments", type=int, default=20)
    parser.add_argument("--tenants", type=int, default=50, help="other tenants, 1,000 x 5")
    parser.add_argument("--runs", type=int, default=1, help="measurements of one estate")
    parser.add_argument("--server-src", help="PYTHONPATH of the server: another checkout's src")
    parser.add_argument(
        "--before-src", help="also serve this src (the code before a change) side by side"
    )
    parser.add_argument(
        "--before-load", action="store_true", help="run the load against --before-src too"
    )
    args = parser.parse_args()
    from tests.support.postgres import running_cluster

    with running_cluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        url = cluster.url()
        estate = load(url, args)
        print(
            f"matrix_load: {args.workflows:,} workflows x {args.environments} environments "
            f"+ {args.tenants} tenants of 1,000 x 5 on PostgreSQL, loaded in "
            f"{estate.counts['load_s']} s; server: canonflow serve"
            + (f" from {args.server_src}" if args.server_src else "")
        )
        for run in range(1, args.runs + 1):
            print(f"\nrun {run} of {args.runs}, each with fresh servers")
            args.loadavg = Path("/proc/loadavg").read_text().strip()
            asyncio.run(_measure(url, estate, args, Path(tmp) / str(run)))


if __name__ == "__main__":
    main()
