"""Benchmark: repo sync of a repository of 10,000 workflow files (~10 KB each).

Prints the initial full sync, a sync with no new commit, a sync after a commit that changes
3 files, and the floor: the time `git cat-file --batch` takes to read all 10,000 blobs, with
the initial sync's ratio to it. Targets: no-change sync <= 100 ms, 3-file sync <= 300 ms,
initial sync <= 3x the floor.

It also prints the work no initial sync can skip, measured alone: the fetch of the pack into
an empty cache, and the CPU time of hashing every file (parse, normalize, hash) spread
perfectly over the cores. Their sum, against the floor, shows how close to 3x this machine
can get at all.

    uv run python -m bench.repo_sync [--files 10000] [--postgres]

The generated repository is kept in ~/.cache/canonflow-bench/ between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

BENCH_HOME = Path.home() / ".cache" / "canonflow-bench"
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/tmp",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
    "PATH": "/usr/bin:/bin",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    remote = _repository(args.files)
    floor = _cat_file_floor(remote)
    if args.postgres:
        from tests.support.postgres import running_cluster

        with running_cluster() as cluster:
            _measure(remote, floor, cluster.url(), args.files)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            _measure(remote, floor, f"sqlite:///{tmp}/bench.db", args.files)


def _git(*args: str, cwd: Path, stdin: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=cwd, input=stdin, capture_output=True, check=True, env=GIT_ENV
    ).stdout


def _repository(count: int) -> Path:
    """A bare repository with `count` workflow files in one packed commit (made once)."""
    from tests.support.n8n_fixtures import make_workflow

    from canonflow.core.git_layout import render_workflow_file

    remote = BENCH_HOME / f"repo-{count}.git"
    if (remote / "packed").exists():
        return remote
    remote.mkdir(parents=True, exist_ok=True)
    _git("init", "--quiet", "--bare", "--initial-branch=main", ".", cwd=remote)
    rng = random.Random(7)
    stream = bytearray(
        b"commit refs/heads/main\ncommitter bench <bench@localhost> 1700000000 +0000\n"
    )
    stream += b"data 5\ninit\n"
    for i in range(count):
        body = render_workflow_file(make_workflow(f"bench {i:05d}", rng.randint(8, 30)))
        stream += f"M 100644 inline workflows/bench-{i:05d}.json\ndata {len(body)}\n".encode()
        stream += body + b"\n"
    _git("fast-import", "--quiet", cwd=remote, stdin=bytes(stream))
    _git("gc", "--quiet", "--aggressive", cwd=remote)
    (remote / "packed").touch()
    return remote


def _cat_file_floor(remote: Path, repeats: int = 3) -> float:
    listing = _git("ls-tree", "-r", "main", "workflows/", cwd=remote).decode().splitlines()
    ids = "".join(line.split()[2] + "\n" for line in listing).encode()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        _git("cat-file", "--batch", cwd=remote, stdin=ids)
        best = min(best, time.perf_counter() - started)
    return best


def _measure(remote: Path, floor: float, url: str, count: int) -> None:
    from canonflow.core.enums import Role
    from canonflow.crypto import SecretBox
    from canonflow.db.engine import build_engine, build_sessionmaker, transaction
    from canonflow.db.migrate import upgrade
    from canonflow.repo import service
    from canonflow.repo.schemas import RepositoryPut
    from canonflow.repo.sync import RepoSyncResult, sync_repository
    from canonflow.tenancy.service import Principal, create_tenant

    engine = build_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade(engine)
    sessions = build_sessionmaker(engine)
    secrets = SecretBox(Fernet.generate_key().decode())
    from tests.support.git_remotes import GitDaemon

    with tempfile.TemporaryDirectory() as tmp, GitDaemon(Path(tmp)) as daemon:
        work = Path(tmp) / "remote.git"
        _git("clone", "--quiet", "--bare", str(remote), str(work), cwd=Path(tmp))
        with transaction(sessions) as session:
            tenant = create_tenant(session, slug="bench")
            principal = Principal(tenant.id, "bench", None, "bench", Role.ADMIN)
            # over git:// as a remote server would be (libgit2 re-packs local file:// remotes)
            service.put(session, secrets, principal, RepositoryPut(url=daemon.url("remote.git")))
        cache = Path(tmp) / "cache"

        def sync() -> tuple[float, RepoSyncResult]:
            started = time.perf_counter()
            result = sync_repository(
                sessions, secrets, tenant_id=tenant.id, cache_root=cache, max_file_bytes=2**21
            )
            return time.perf_counter() - started, result

        initial, first = sync()
        fetch = _fetch_alone(daemon.url("remote.git"), Path(tmp) / "fetch-only")
        unchanged, _ = sync()
        _commit_three_changes(work, Path(tmp) / "clone")
        three, third = sync()
    engine.dispose()
    digest = _digest_cpu(remote)
    cores = os.cpu_count() or 1
    bound = fetch + digest / cores
    backend = url.split(":", 1)[0]
    print(f"repo sync, {count} workflow files, database {backend}")
    print(f"  floor: git cat-file --batch of all blobs  {floor * 1000:8.0f} ms")
    print(
        f"  initial full sync   {initial * 1000:8.0f} ms  ratio {initial / floor:5.2f} "
        f"(target <= 3); created {first.created}"
    )
    print(
        f"  unskippable work    {bound * 1000:8.0f} ms  ratio {bound / floor:5.2f}: fetch "
        f"{fetch * 1000:.0f} ms + hashing {digest * 1000:.0f} ms of CPU / {cores} cores"
    )
    print(f"  no new commit       {unchanged * 1000:8.0f} ms  (target <= 100 ms)")
    print(
        f"  3 files changed     {three * 1000:8.0f} ms  (target <= 300 ms); "
        f"mode {third.mode}, updated {third.updated}"
    )


def _fetch_alone(url: str, cache: Path) -> float:
    from canonflow.git import GitRepository

    started = time.perf_counter()
    with GitRepository.open_or_clone(cache, url) as git:
        git.fetch("main")
    return time.perf_counter() - started


def _digest_cpu(remote: Path) -> float:
    """Seconds of one core to parse, normalize and hash every file (blobs already read)."""
    from canonflow.core.hashing import digest_documents

    listing = _git("ls-tree", "-r", "main", "workflows/", cwd=remote).decode().splitlines()
    ids = "".join(line.split()[2] + "\n" for line in listing).encode()
    out = _git("cat-file", "--batch", cwd=remote, stdin=ids)
    blobs, position = [], 0
    while position < len(out):
        header_end = out.index(b"\n", position)
        size = int(out[position:header_end].split()[2])
        blobs.append(out[header_end + 1 : header_end + 1 + size])
        position = header_end + 1 + size + 1
    started = time.process_time()
    digest_documents(blobs)
    return time.process_time() - started


def _commit_three_changes(remote: Path, clone: Path) -> None:
    _git("clone", "--quiet", str(remote), str(clone), cwd=remote.parent)
    for i in (1, 2, 3):
        path = clone / "workflows" / f"bench-{i:05d}.json"
        document = json.loads(path.read_text())
        document["name"] += " (edited)"
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    _git("commit", "--quiet", "-am", "edit three", cwd=clone)
    _git("push", "--quiet", "origin", "main", cwd=clone)


if __name__ == "__main__":
    main()
