"""Benchmark: environment sync of a real n8n holding 5,000 workflows of 5-40 nodes.

Prints the full sync's wall time, the floor (a bare paginated listing of the same instance
with the same client), their ratio, the sync's peak RSS, and the same for an immediate
second sync with the mapping rows it wrote. Targets: first sync <= 1.3x the floor, second
<= 1.1x with 0 rows written, peak RSS <= 250 MB (<= 400 MB beyond 5,000 workflows). With
--pages, then the untracked and matrix pages over the synced environment (bench.env_pages).

    uv run python -m bench.env_sync [--workflows 5000] [--database-url URL] [--pages]

The n8n instance and its workflows are kept in ~/.cache/canonflow-bench/ between runs.
Each sync runs in a child process so that its peak RSS is its own. Floor and syncs are each
the best of --repeats runs (3), the syncs on a fresh database each time.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

BENCH_HOME = Path.home() / ".cache" / "canonflow-bench"
RSS_TARGET_MB = 250  # up to 5,000 workflows
RSS_TARGET_LARGE_MB = 400  # beyond (issue 19: 50,000), no more than a page's worth
IMPORT_CHUNK = 5000  # workflows per `import:workflow` file
SEED_WORKFLOWS = 5000  # made by n8n itself; larger instances copy its rows
GROWN_MARK = "bench-grown"
ID_ALPHABET = string.ascii_letters + string.digits


def main() -> None:
    args = _parse()
    if args.child and args.floor:
        _floor_child(args.url, args.key)
        return
    if args.child:
        _child(args)
        return
    from tests.support.n8n import start_n8n

    data_dir = _data_dir(args.workflows)
    if args.workflows > SEED_WORKFLOWS:
        _grow(data_dir, args.workflows)
    instance = start_n8n(data_dir)
    try:
        _populate(instance, args.workflows)
        floor = _listing_floor(instance, args.repeats)
        if args.postgres:
            from tests.support.postgres import running_cluster

            with running_cluster() as cluster:
                args.database_url = cluster.url()
                _measure(args, instance, floor)
        else:
            _measure(args, instance, floor)
    finally:
        instance.stop()


def _measure(args: argparse.Namespace, instance: object, floor: float) -> None:
    firsts, seconds = [], []
    for _ in range(args.repeats):  # each repeat on a fresh database
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/bench.db"
            key = Fernet.generate_key().decode()
            env_id = _setup_database(url, key, instance)
            firsts.append(_run_child(url, key, env_id))
            seconds.append(_run_child(url, key, env_id))
            if args.pages and len(seconds) == args.repeats:  # on the last one's database
                pages = _pages_child(url, env_id)

    def best(runs: list[dict[str, float]]) -> dict[str, float]:
        return min(runs, key=lambda run: run["seconds"])

    _report(args.workflows, floor, best(firsts), best(seconds), url)
    if args.pages:
        print(
            f"  untracked list of the environment ({pages['untracked_rows']} rows): "
            f"p50 first page {pages['untracked_first_ms']:.1f} ms, "
            f"middle page {pages['untracked_deep_ms']:.1f} ms"
        )
        print(
            f"  matrix after linking each to a canonical ({pages['matrix_rows']} rows, "
            f"{pages['link_s']} s to link): p50 first page {pages['matrix_first_ms']:.1f} ms, "
            f"middle page {pages['matrix_deep_ms']:.1f} ms"
        )


def _pages_child(url: str, env_id: str) -> dict[str, float]:
    """The untracked and matrix pages over the synced environment (`bench.env_pages`)."""
    command = [sys.executable, "-m", "bench.env_pages", url, env_id]
    output = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=5000)
    parser.add_argument("--database-url", help="PostgreSQL database to use (emptied first)")
    parser.add_argument("--postgres", action="store_true", help="on a private PostgreSQL")
    parser.add_argument("--repeats", type=int, default=3, help="best of N, like the floor")
    parser.add_argument(
        "--pages", action="store_true", help="then time the untracked and matrix pages over it"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--environment-id", help=argparse.SUPPRESS)
    return parser.parse_args()


def _populate(instance: object, count: int) -> None:
    """Bring the instance to `count` workflows through n8n's own `import:workflow` CLI on its
    database, a file of IMPORT_CHUNK workflows at a time (its public API creates ~100/s:
    50,000 would take 8+ minutes; the import writes the same rows n8n's API would)."""
    have = _workflow_count(instance)
    if have >= count:
        return
    rng = random.Random(42)
    started = time.perf_counter()
    for first in range(have, count, IMPORT_CHUNK):
        last = min(first + IMPORT_CHUNK, count)
        bodies = [_importable(rng, f"bench {i:05d}") for i in range(first, last)]
        _import(instance, bodies)
    created = _workflow_count(instance) - have
    print(f"imported {created} workflows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if have + created < count:
        raise SystemExit(f"n8n holds {have + created} workflows after the import, not {count}")


def _data_dir(count: int) -> Path:
    from tests.support.n8n import n8n_version

    return BENCH_HOME / f"n8n-{n8n_version()}-{count}"


def _grow(data_dir: Path, count: int) -> None:
    """Beyond the seed: a copy of the seed instance (populated first if need be) grown to
    `count` by copying n8n's own rows (`bench._n8n_clone`), once; kept for later runs."""
    from tests.support.n8n import start_n8n

    from bench._n8n_clone import clone_workflows

    if (data_dir / GROWN_MARK).exists():
        return
    seed_dir = _data_dir(SEED_WORKFLOWS)
    seed = start_n8n(seed_dir)
    try:
        _populate(seed, SEED_WORKFLOWS)
    finally:
        seed.stop()
    if data_dir.exists():
        shutil.rmtree(data_dir)
    shutil.copytree(seed_dir, data_dir)
    started = time.perf_counter()
    added = clone_workflows(data_dir / ".n8n" / "database.sqlite", count, random.Random(43))
    (data_dir / GROWN_MARK).write_text(f"{count}\n")
    print(
        f"grew the seed by {added} workflows in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )


def _workflow_count(instance: object) -> int:
    from tests.support.n8n_fixtures import admin_client

    with admin_client(instance) as http:  # type: ignore[arg-type]
        have = 0
        params: dict[str, object] = {"limit": 250}
        while True:
            page = http.get("/workflows", params=params).json()
            have += len(page["data"])
            if not page["nextCursor"]:
                return have
            params["cursor"] = page["nextCursor"]


def _importable(rng: random.Random, name: str) -> dict[str, object]:
    """A body as the API would create it (5-40 nodes), with an n8n-style id of its own
    (16 alphanumerics), the way `import:workflow` expects a backup's workflow."""
    from tests.support.n8n_fixtures import make_workflow

    body = make_workflow(name, rng.randint(5, 40))
    body["id"] = "".join(rng.choices(ID_ALPHABET, k=16))
    body["active"] = False
    return body


def _import(instance: object, bodies: list[dict[str, object]]) -> None:
    from tests.support.n8n import free_port, n8n_bin, n8n_environment

    data_dir: Path = instance.data_dir  # type: ignore[attr-defined]
    version: str = instance.version  # type: ignore[attr-defined]
    path = data_dir / "bench-import.json"
    path.write_bytes(json.dumps(bodies).encode())
    try:
        subprocess.run(
            [str(n8n_bin(version)), "import:workflow", f"--input={path}"],
            env=n8n_environment(free_port(), data_dir, version),
            cwd=data_dir,
            capture_output=True,
            check=True,
            timeout=3600,
        )
    finally:
        path.unlink()


def _listing_floor(instance: object, repeats: int = 3) -> float:
    """Best of `repeats` bare listings, each in a fresh child process like the syncs."""
    times = []
    for _ in range(repeats):
        output = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.env_sync",
                "--child",
                "--floor",
                "--url",
                instance.base_url,
                f"--key={instance.api_key}",  # a key may begin with "-"
            ],  # type: ignore[attr-defined]
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(output.stdout.strip().splitlines()[-1]))
    return min(times)


def _floor_child(base_url: str, api_key: str) -> None:
    from canonflow.n8n import N8nClient

    with N8nClient(base_url, api_key) as client:
        started = time.perf_counter()
        for _page in client.iter_workflow_pages(limit=250):
            pass
        print(time.perf_counter() - started)


def _setup_database(url: str, key: str, instance: object) -> str:
    from canonflow.crypto import SecretBox
    from canonflow.db.engine import build_engine, build_sessionmaker, transaction
    from canonflow.db.migrate import upgrade
    from canonflow.db.models import Environment
    from canonflow.tenancy.service import create_tenant

    engine = build_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade(engine)
    with transaction(build_sessionmaker(engine)) as session:
        tenant = create_tenant(session, slug="bench")
        env = Environment(
            tenant_id=tenant.id,
            name="bench",
            base_url=instance.base_url,  # type: ignore[attr-defined]
            api_key=SecretBox(key).seal(instance.api_key),
            batch_size=250,  # type: ignore[attr-defined]
        )
        session.add(env)
        session.flush()
        env_id = str(env.id)
    engine.dispose()
    return env_id


def _run_child(url: str, key: str, env_id: str) -> dict[str, float]:
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.env_sync",
            "--child",
            "--url",
            url,
            f"--key={key}",  # a Fernet key may begin with "-"
            "--environment-id",
            env_id,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def _child(args: argparse.Namespace) -> None:
    import uuid

    from canonflow.crypto import SecretBox
    from canonflow.db.engine import build_engine, build_sessionmaker, transaction
    from canonflow.db.models import Environment
    from canonflow.sync.environment import sync_environment

    engine = build_engine(args.url)
    sessions = build_sessionmaker(engine)
    with transaction(sessions) as session:
        env = session.get(Environment, uuid.UUID(args.environment_id))
        assert env is not None
        tenant_id = env.tenant_id
    started = time.perf_counter()
    result = sync_environment(
        sessions, SecretBox(args.key), tenant_id=tenant_id, environment_id=env.id
    )
    seconds = time.perf_counter() - started
    peak_mb = _peak_rss_mb()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak_mb,
                "seen": result.seen,
                "written": result.created + result.updated + result.missing,
            }
        )
    )


def _peak_rss_mb() -> float:
    """This process's own high-water mark (VmHWM). ru_maxrss would not do: Linux carries
    it over from the parent across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _report(
    count: int, floor: float, first: dict[str, float], second: dict[str, float], url: str
) -> None:
    backend = url.split(":", 1)[0]
    rss_target = RSS_TARGET_MB if count <= 5000 else RSS_TARGET_LARGE_MB
    from tests.support.n8n import n8n_version

    print(
        f"env sync, {count} workflows of 5-40 nodes, n8n {n8n_version()}, database {backend}; "
        f"load average {Path('/proc/loadavg').read_text().split()[0]}"
    )
    print(f"  floor: paginated listing (250/page)  {floor:7.2f} s")
    for label, run, target in (
        ("first sync", first, 1.3),
        ("second sync (no change)", second, 1.1),
    ):
        ratio = run["seconds"] / floor
        verdict = "ok" if ratio <= target else "ABOVE TARGET"
        memory = "ok" if run["peak_mb"] <= rss_target else "ABOVE TARGET"
        print(
            f"  {label:<24}{run['seconds']:7.2f} s  ratio {ratio:4.2f} "
            f"(target <= {target}) {verdict}; peak RSS {run['peak_mb']:.0f} MB "
            f"(target <= {rss_target} MB) {memory}; "
            f"seen {run['seen']:.0f}; mapping rows written {run['written']:.0f}"
        )


if __name__ == "__main__":
    main()
