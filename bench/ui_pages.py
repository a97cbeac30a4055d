"""Benchmark: the web UI's pages beside the JSON API's, through a real uvicorn server.

Loads bench.matrix's estate (one tenant of 10,000 live canonical workflows x 20 environments,
200,000 cells, plus other tenants), records the cells' states as the write flows do, gives
one workflow a real body on both sides (so its cell detail computes a semantic diff), starts
`canonflow serve` in its own process on PostgreSQL (or SQLite), signs in through the form,
then times, over keep-alive HTTP on loopback:

- the matrix page (50 rows: first page and a deep page), the per-environment counts it
  loads after itself, a cell's detail (the htmx fragment, and the whole page with the panel
  as without JavaScript) and the overview `/`;
- beside each, the JSON API's answer for the same data: the matrix page; the catalogue
  entry + the diff (the detail's two reads); the summary; the environments + the summary.

Each figure is the request's time seen by the client minus the p50 of `GET /healthz` (the
loopback + HTTP floor, printed), i.e. the server's time; p50 and p95 of `--requests` after
`WARMUP` untimed ones; and the answer's bytes. Targets (issue 16, PostgreSQL): matrix
<= 30 ms p50 and <= 150 KB, cell detail <= 50 ms, overview <= 150 ms, HTML <= 1.5x the JSON.

    uv run python -m bench.ui_pages [--postgres] [--workflows 10000] [--environments 20]
        [--tenants 10] [--requests 50]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

WARMUP = 5
TARGETS_MS = {"matrix": 30.0, "detail": 50.0, "overview": 150.0}
MATRIX_MAX_BYTES = 150 * 1024
HTML_OVER_JSON = 1.5


@dataclass
class Figure:
    p50: float
    p95: float
    size: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _prepare(url: str, tenant_id: uuid.UUID, middle: int) -> dict[str, str]:
    """States recorded; a real body for one cell (its diff shows one changed parameter);
    an operator token (the detail then carries its action forms). Returns what to open."""
    from sqlalchemy import select
    from tests.factories import make_token
    from tests.support.n8n_fixtures import make_workflow

    from canonflow.catalogue.states import StateCause, record_state_changes
    from canonflow.core.enums import Role
    from canonflow.core.status import MappingStatus
    from canonflow.db.engine import build_engine, build_sessionmaker, transaction
    from canonflow.db.models import CanonicalWorkflow, Environment, Tenant, WorkflowEnvMap

    engine = build_engine(url)
    sessions = build_sessionmaker(engine)
    with transaction(sessions) as session:
        record_state_changes(session, tenant_id, StateCause.ENV_SYNC)
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        token = make_token(session, tenant, role=Role.OPERATOR, name="bench-operator")
        first = session.execute(
            select(CanonicalWorkflow)
            .where(
                CanonicalWorkflow.tenant_id == tenant_id, CanonicalWorkflow.is_deleted.is_(False)
            )
            .order_by(CanonicalWorkflow.name, CanonicalWorkflow.id)
            .limit(1)
        ).scalar_one()
        mapping = session.execute(
            select(WorkflowEnvMap)
            .where(
                WorkflowEnvMap.canonical_id == first.id,
                WorkflowEnvMap.status == MappingStatus.LINKED,
            )
            .order_by(WorkflowEnvMap.environment_id)
            .limit(1)
        ).scalar_one()
        environment = session.get(Environment, mapping.environment_id)
        assert environment is not None
        body = make_workflow(first.name, 8)
        first.workflow_definition = body
        changed = make_workflow(first.name, 8)
        changed["nodes"][3]["parameters"]["url"] = "https://example.invalid/changed-in-n8n"
        mapping.workflow_data = changed
        deep = session.execute(
            select(CanonicalWorkflow.canonical_slug)
            .where(CanonicalWorkflow.tenant_id == tenant_id)
            .order_by(CanonicalWorkflow.name, CanonicalWorkflow.id)
            .offset(middle)
            .limit(1)
        ).scalar_one()
        opened = {
            "token": token,
            "slug": first.canonical_slug,
            "canonical_id": str(first.id),
            "environment": environment.name,
            "environment_id": str(environment.id),
            "deep": deep,
        }
    engine.dispose()
    return opened


def _serve(url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    from cryptography.fernet import Fernet

    env = {
        **os.environ,
        "CANONFLOW_DATABASE_URL": url,
        "CANONFLOW_DATA_DIR": str(data_dir),
        "CANONFLOW_SECRET_KEY": Fernet.generate_key().decode(),
        "CANONFLOW_SCHEDULER_ENABLED": "false",
        "CANONFLOW_EMBEDDED_WORKER": "false",
        "CANONFLOW_BOOTSTRAP_ADMIN": "false",
        "CANONFLOW_LOG_LEVEL": "WARNING",
    }
    start = "from canonflow.cli.main import main; main()"
    command = [sys.executable, "-c", start, "serve", "--host", "127.0.0.1"]
    server = subprocess.Popen([*command, "--port", str(port)], env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit("canonflow serve did not start")
        time.sleep(0.2)


def _sign_in(http: httpx.Client, token: str) -> None:
    page = http.get("/signin").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field on the sign-in page"
    answer = http.post("/signin", data={"token": token, "next": "/", "csrf_token": found[1]})
    assert answer.status_code == 303, answer.text


def _time(
    http: httpx.Client, paths: list[str], count: int, headers: dict[str, str] | None = None
) -> tuple[list[float], int]:
    """`count` rounds of GET each of `paths` (their times summed per round); bytes of one."""
    size = 0
    for _ in range(WARMUP):
        for path in paths:
            answer = http.get(path, headers=headers)
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    times = []
    for _ in range(count):
        total, size = 0.0, 0
        for path in paths:
            started = time.perf_counter()
            answer = http.get(path, headers=headers)
            total += time.perf_counter() - started
            size += len(answer.content)
        times.append(total)
    return times, size


def _figure(times: list[float], size: int, floor: float, calls: int = 1) -> Figure:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    net = floor * calls
    return Figure((statistics.median(times) - net) * 1000, (p95 - net) * 1000, size)


def _layers(url: str, tenant_id: uuid.UUID, count: int) -> dict[str, float]:
    """p50 ms, in this process on the same database, of the pieces of the first matrix page:
    the API's service call for it (`page_json`), the UI's (`page`: the same statement, cells
    as dicts) and the UI's cells as HTML (`grid_rows`)."""
    from canonflow.db.engine import build_engine, build_sessionmaker, read_transaction
    from canonflow.matrix import service
    from canonflow.matrix.queries import MatrixFilter
    from canonflow.web.views.matrix import grid_rows

    def p50(work: Any) -> float:
        for _ in range(WARMUP):
            work()
        times = []
        for _ in range(count):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    engine = build_engine(url)
    sessions = build_sessionmaker(engine)
    plain = MatrixFilter()
    with read_transaction(sessions) as session:
        envs = service.environments_of(session, tenant_id)
        page = service.page(session, tenant_id, envs, plain, after=None, limit=50)
        found = {
            "page_json": p50(
                lambda: service.page_json(session, tenant_id, envs, plain, after=None, limit=50)
            ),
            "page": p50(
                lambda: service.page(session, tenant_id, envs, plain, after=None, limit=50)
            ),
            "grid_rows": p50(lambda: grid_rows(page.workflows, envs, "?open=")),
        }
    engine.dispose()
    return found


def measure(url: str, args: argparse.Namespace) -> None:
    from bench.matrix import load

    estate = load(url, args)
    opened = _prepare(url, estate.tenant_id, args.workflows // 2)
    cell = f"{opened['slug']}:{opened['environment']}"
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = _serve(url, Path(tmp), port)
        try:
            base = f"http://127.0.0.1:{port}"
            with (
                httpx.Client(base_url=base, timeout=60) as ui,
                httpx.Client(
                    base_url=base,
                    timeout=60,
                    headers={"Authorization": f"Bearer {opened['token']}"},
                ) as api,
            ):
                _sign_in(ui, opened["token"])
                n = args.requests
                health, _ = _time(api, ["/healthz"], n)
                floor = statistics.median(health)
                hx = {"HX-Request": "true"}
                detail_hx = {**hx, "HX-Target": "detail"}
                matrix_api = "/api/v1/workflows/matrix?limit=50"
                entry = f"/api/v1/canonical/workflows/{opened['canonical_id']}"
                diff = f"{entry}/diff?environment_id={opened['environment_id']}&against=git"
                summary_api = "/api/v1/workflows/matrix/summary"
                rows: list[tuple[str, str, Figure, Figure | None]] = []

                def row(
                    name: str, kind: str, html: list[str], json: list[str] | None,
                    headers: dict[str, str] | None = None,
                ) -> None:  # fmt: skip
                    page = _figure(*_time(ui, html, n, headers), floor, len(html))
                    other = _figure(*_time(api, json, n), floor, len(json)) if json else None
                    rows.append((name, kind, page, other))

                row("matrix, first page (50 rows)", "matrix", ["/matrix"], [matrix_api])
                deep = f"/matrix?after={opened['deep']}"
                row("matrix, a page in the middle", "matrix", [deep], None)
                row("matrix counts (loaded after)", "", ["/matrix/summary"], [summary_api], hx)
                row(
                    "cell detail (htmx fragment)", "detail", [f"/matrix?open={cell}"],
                    [entry, diff], detail_hx,
                )  # fmt: skip
                row("cell detail, whole page (no JS)", "", [f"/matrix?open={cell}"], None)
                row("overview /", "overview", ["/"], ["/api/v1/environments", summary_api])
        finally:
            server.terminate()
            server.wait(timeout=30)
    _report(estate.counts, floor, rows, url)
    layers = _layers(url, estate.tenant_id, args.requests)
    print(
        f"  the first matrix page's pieces, in-process p50: the API's service.page_json "
        f"{layers['page_json']:.1f} ms; the UI's service.page {layers['page']:.1f} ms + "
        f"grid_rows {layers['grid_rows']:.1f} ms; the rest of each page is the request "
        f"(session cookie and token check, transaction, FastAPI, template, HTTP)"
    )


def _report(
    counts: dict[str, Any],
    floor: float,
    rows: list[tuple[str, str, Figure, Figure | None]],
    url: str,
) -> None:
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(
        f"\nUI pages on {backend} through canonflow serve (uvicorn): {counts['canonicals']:,} "
        f"canonicals, {counts['mappings']:,} mappings; loopback floor (GET /healthz p50) "
        f"{floor * 1000:.2f} ms, subtracted from every figure\n"
    )
    head = f"{'page':34} {'HTML p50 / p95':>18} {'HTML KB':>8} {'JSON p50':>9} {'JSON KB':>8}"
    print(head + f" {'x JSON':>12}  target")
    for name, kind, page, other in rows:
        json_ms = f"{other.p50:.1f} ms" if other else "-"
        json_kb = f"{other.size / 1024:.1f}" if other else "-"
        ratio = (
            f"{page.p50 / other.p50:.2f}/{page.size / other.size:.2f}"
            if other and other.p50 > 0
            else "-"
        )
        verdict = ""
        if kind:
            target = TARGETS_MS[kind]
            met = page.p50 <= target
            verdict = f"p50 <= {target:.0f} ms: {'met' if met else 'MISSED'}"
            if kind == "matrix":
                fits = page.size <= MATRIX_MAX_BYTES
                verdict += f"; <= 150 KB: {'met' if fits else 'MISSED'}"
            if other:
                cheap = page.p50 <= HTML_OVER_JSON * other.p50
                verdict += f"; <= 1.5x JSON time: {'met' if cheap else 'MISSED'}"
        print(
            f"{name:34} {page.p50:7.1f} / {page.p95:6.1f} ms {page.size / 1024:8.1f} "
            f"{json_ms:>9} {json_kb:>8} {ratio:>12}  {verdict}"
        )
    print("  (x JSON: time / bytes of the HTML over the JSON of the same data)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="on a private PostgreSQL")
    parser.add_argument("--workflows", type=int, default=10_000)
    parser.add_argument("--environments", type=int, default=20)
    parser.add_argument("--tenants", type=int, default=10, help="other tenants, 1,000 x 5")
    parser.add_argument("--requests", type=int, default=50)
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
