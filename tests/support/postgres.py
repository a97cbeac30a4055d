"""A private PostgreSQL cluster for the test run, from the Debian server binaries.

`make test` runs scripts/ensure-postgres.sh first (installing the `postgresql` package when
missing) and passes the binaries' directory in CANONFLOW_PG_BINDIR.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PostgresCluster:
    port: int
    data_dir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_bindir() -> Path:
    configured = os.environ.get("CANONFLOW_PG_BINDIR")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists():
            return candidate
    raise RuntimeError(
        "PostgreSQL server binaries not found: run scripts/ensure-postgres.sh (make test does)"
    )


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    # initdb and postgres refuse to run as root: run them as the `postgres` user then.
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


@contextlib.contextmanager
def running_cluster() -> Iterator[PostgresCluster]:
    bindir = find_bindir()
    owner = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="canonflow-pg-"))
    data_dir, socket_dir = root / "data", root / "sock"
    socket_dir.mkdir()
    if owner:
        entry = pwd.getpwnam(owner)
        for path in (root, socket_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    run = _runner(owner)
    run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]
    )
    options = (
        f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data_dir),
            "-o",
            options,
            "-l",
            str(root / "postgres.log"),
            "-w",
            "-t",
            "60",
            "start",
        ]
    )
    try:
        yield PostgresCluster(port=port, data_dir=data_dir)
    finally:
        run(
            [str(bindir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"],
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


def _runner(owner: str | None):  # type: ignore[no-untyped-def]
    def run(cmd: list[str], check: bool = True) -> None:
        result = subprocess.run(_as_owner(cmd, owner), capture_output=True, text=True)
        if check and result.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {result.stderr or result.stdout}")

    return run
