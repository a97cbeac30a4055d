"""`make demo` / `make demo-stop`: canonflow with two real n8n instances, on loopback.

    python -m scripts.demo start   # what `make demo` runs (after installing n8n)
    python -m scripts.demo stop    # what `make demo-stop` runs

`start` starts n8n "prod" and "dev" (the project's own harness, tests/support/n8n.py),
seeds them with an overlapping estate (scripts/demo_estate.py), creates an empty bare Git
repository, configures canonflow on SQLite with its CLI (tenant "demo", an admin token,
environments prod (anchor) and dev, the repository), starts `canonflow serve` in the
background and waits for /readyz. Everything lives in the demo directory
(CANONFLOW_DEMO_DIR, default ./.demo): the pids, ports and token in demo.json, the logs,
each n8n's data, canonflow's data dir and, beside it (a local repository inside canonflow's
data is refused), the Git repository. A second `start` while it runs prints the same
URL and token; after a `stop`, `start` brings the same demo back.

CANONFLOW_DEMO_PORT (default 8000) is canonflow's port; the n8n ports are picked once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TENANT = "demo"
STATE_FILE = "demo.json"
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0
ENVIRONMENTS = (("prod", "production"), ("dev", "development"))
# variables of the caller's shell that would point canonflow somewhere else
_KEPT_SETTINGS = ("CANONFLOW_LOG_LEVEL", "CANONFLOW_LOG_FORMAT")


class DemoError(RuntimeError):
    """Printed as one line; `make demo` then fails."""


@dataclass
class State:
    """demo.json: what runs and how to reach it. Holds the admin token (mode 0600)."""

    canonflow_port: int
    n8n_ports: dict[str, int]
    pids: dict[str, int] = field(default_factory=dict)
    token: str = ""
    configured: bool = False

    @classmethod
    def load(cls, root: Path) -> State | None:
        path = root / STATE_FILE
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))

    def save(self, root: Path) -> None:
        path = root / STATE_FILE
        path.touch(mode=0o600)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


# --- paths and processes -------------------------------------------------------------------


def demo_dir() -> Path:
    return Path(os.environ.get("CANONFLOW_DEMO_DIR") or ".demo").resolve()


def demo_port() -> int:
    raw = os.environ.get("CANONFLOW_DEMO_PORT") or "8000"
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise DemoError(f"CANONFLOW_DEMO_PORT={raw!r} is not a port number")
    return int(raw)


def _data_dir(root: Path) -> Path:
    return root / "data"


def _repository(root: Path) -> Path:
    return root / "remote.git"


def _log(root: Path) -> Path:
    return root / "canonflow.log"


def _is_ours(pid: int, marker: bytes) -> bool:
    """Whether `pid` is alive (not a zombie) and is the process we recorded: a pid can be
    reused after a reboot, and we never signal a stranger."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z" and marker in cmdline


def _marker(name: str) -> bytes:
    return b"canonflow" if name == "canonflow" else b"n8n"


def _running(state: State) -> dict[str, int]:
    return {name: pid for name, pid in state.pids.items() if _is_ours(pid, _marker(name))}


def _stop_group(pid: int, marker: bytes) -> None:
    """SIGTERM to the process group (each was started in a session of its own), SIGKILL
    what is left after STOP_TIMEOUT_S."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _is_ours(pid, marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _ready(port: int) -> bool:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


# --- canonflow ----------------------------------------------------------------------------


def _canonflow_env(root: Path, port: int) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CANONFLOW_") or k in _KEPT_SETTINGS
    }
    env.update(
        CANONFLOW_MODE="development",
        CANONFLOW_DATA_DIR=str(_data_dir(root)),
        CANONFLOW_HOST="127.0.0.1",
        CANONFLOW_PORT=str(port),
        CANONFLOW_TENANT=TENANT,
        CANONFLOW_ALLOW_LOCAL_REPOSITORIES="true",
    )
    return env


def _canonflow_command() -> list[str]:
    beside = Path(sys.executable).with_name("canonflow")
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-c", "from canonflow.cli.main import main; main()"]


def _cli(root: Path, port: int, *args: str, extra_env: dict[str, str] | None = None) -> str:
    """Run one `canonflow` command on the demo's data; its stdout, or DemoError."""
    shown = shlex.join(args)
    print(f"  $ canonflow {shown}", flush=True)
    result = subprocess.run(  # noqa: S603 (our own command line)
        [*_canonflow_command(), *args],
        env={**_canonflow_env(root, port), **(extra_env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DemoError(f"`canonflow {shown}` failed: {result.stderr.strip()}")
    return result.stdout


def _prepare_canonflow(root: Path, state: State) -> str:
    """While n8n starts: the Git repository, canonflow's database, the tenant, an admin
    token (returned) and the repository setting, through the CLI."""
    port = state.canonflow_port
    print(f"  creating the Git repository {_repository(root)}", flush=True)
    subprocess.run(  # noqa: S603
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(_repository(root))],  # noqa: S607
        check=True,
    )
    _data_dir(root).mkdir(parents=True, exist_ok=True)
    _cli(root, port, "db", "upgrade")
    _cli(root, port, "tenant", "create", TENANT, "--display-name", "Demo")
    issued = _cli(
        root, port, "token", "create", "--tenant", TENANT, "--role", "admin", "--name", "demo admin"
    )
    _cli(root, port, "repo", "set", str(_repository(root)), "--branch", "main")
    return issued.strip().splitlines()[-1].strip()


def _add_environments(root: Path, state: State, n8n_keys: dict[str, str]) -> None:
    for name, kind in ENVIRONMENTS:
        url = f"http://127.0.0.1:{state.n8n_ports[name]}"
        args = ["env", "add", name, "--url", url, "--kind", kind]
        if name == "prod":
            args.append("--anchor")
        _cli(
            root,
            state.canonflow_port,
            *args,
            extra_env={"CANONFLOW_N8N_API_KEY": n8n_keys[name]},
        )


def _start_canonflow(root: Path, port: int) -> int:
    with _log(root).open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 (our own command line)
            [*_canonflow_command(), "serve"],
            env=_canonflow_env(root, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + READY_TIMEOUT_S
    try:
        while not _ready(port):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(_log(root).read_text(errors="replace").splitlines()[-15:])
                raise DemoError(f"canonflow serve did not become ready; {_log(root)} ends:\n{tail}")
            time.sleep(0.2)
    except BaseException:  # a failure or Ctrl-C: leave no server behind
        _stop_group(process.pid, b"canonflow")
        process.wait()
        raise
    return process.pid


# --- start / stop ------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One `make demo` / `make demo-stop` at a time per demo directory."""
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    with (root / "demo.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DemoError(
                f"another `make demo` or `make demo-stop` is busy with {root}"
            ) from None
        yield


def start() -> None:
    root = demo_dir()
    port = demo_port()
    with _locked(root):
        _start(root, port)


def _start(root: Path, port: int) -> None:
    state = State.load(root)
    if state is not None:
        running = _running(state)
        if len(running) == len(state.pids) == 3 and _ready(state.canonflow_port):
            print(f"The demo is already running (pids in {root / STATE_FILE}).")
            _print_welcome(root, state)
            return
        for name, pid in running.items():  # half a demo: stop it and start it whole again
            print(f"stopping the leftover {name} (pid {pid})")
            _stop_group(pid, _marker(name))
    if state is None or not state.configured:
        _forget_partial_start(root)
        state = State(canonflow_port=port, n8n_ports={})
    state.canonflow_port = port
    _check_port_free(port)
    began = time.monotonic()
    _bring_up(root, state)
    print(f"everything is up after {time.monotonic() - began:.0f} s", flush=True)
    _print_welcome(root, state)


def _bring_up(root: Path, state: State) -> None:
    from tests.support import n8n as harness

    first = not state.configured
    names = [name for name, _ in ENVIRONMENTS]
    print(f"starting n8n {' and '.join(names)} (about 15 s) ...", flush=True)
    if first:
        print("configuring canonflow meanwhile:", flush=True)
    ports = [state.n8n_ports.get(name) or harness.free_port() for name in names]
    with ThreadPoolExecutor(len(names) + 1) as pool:
        futures = [
            pool.submit(harness.start_n8n, root / f"n8n-{name}", port)
            for name, port in zip(names, ports, strict=True)
        ]
        prepared = pool.submit(_prepare_canonflow, root, state) if first else None
    failed = [exc for future in futures if (exc := future.exception()) is not None]
    if failed:  # the harness kills the ones that started when this process exits
        raise DemoError(str(failed[0]))
    instances = dict(zip(names, (future.result() for future in futures), strict=True))
    state.n8n_ports = {name: instance.port for name, instance in instances.items()}
    state.pids = {name: instance.pid for name, instance in instances.items()}
    state.save(root)
    if prepared is not None:
        state.token = prepared.result()
        _seed_and_add_environments(root, state, instances)
        state.configured = True
        state.save(root)
    print("starting canonflow serve ...", flush=True)
    state.pids["canonflow"] = _start_canonflow(root, state.canonflow_port)
    state.save(root)
    # from here on the n8n instances outlive this process: `make demo-stop` stops them
    import atexit

    atexit.unregister(harness._kill_leftovers)


def _seed_and_add_environments(root: Path, state: State, instances: dict[str, Any]) -> None:
    from scripts import demo_estate

    prod, dev = demo_estate.estate()
    print(f"seeding prod ({len(prod)} workflows) and dev ({len(dev)}) ...", flush=True)
    with ThreadPoolExecutor(2) as pool:
        seeded = [
            pool.submit(demo_estate.seed, instances[name].api_url, instances[name].api_key, bodies)
            for name, bodies in (("prod", prod), ("dev", dev))
        ]
        _add_environments(root, state, {name: i.api_key for name, i in instances.items()})
    for future in seeded:
        future.result()


def _forget_partial_start(root: Path) -> None:
    """A first start that failed half way: start from nothing (only what it creates)."""
    n8n_dirs = [root / f"n8n-{name}" for name, _ in ENVIRONMENTS]
    for leftover in (_data_dir(root), _repository(root), *n8n_dirs):
        shutil.rmtree(leftover, ignore_errors=True)
    (root / STATE_FILE).unlink(missing_ok=True)


def _check_port_free(port: int) -> None:
    import socket

    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise DemoError(
                f"127.0.0.1:{port} is already in use: stop what listens there or choose "
                "another port with CANONFLOW_DEMO_PORT=..."
            )


def stop() -> None:
    root = demo_dir()
    if not (root / STATE_FILE).exists():
        print(f"No demo in {root}: nothing to stop.")
        return
    with _locked(root):
        _stop(root)


def _stop(root: Path) -> None:
    state = State.load(root)
    if state is None:
        print(f"No demo in {root}: nothing to stop.")
        return
    running = _running(state)
    for name in ("canonflow", "dev", "prod"):
        if name in running:
            _stop_group(running[name], _marker(name))
            print(f"stopped {name} (pid {running[name]})")
    if not running:
        print("Nothing was running.")
    state.pids = {}
    state.save(root)
    for name, _ in ENVIRONMENTS:  # n8n's copy of its editor UI (~76 MB), made again at start
        shutil.rmtree(root / f"n8n-{name}" / ".cache", ignore_errors=True)
    print(f"\nLeft on disk in {root} ({_size_mb(root)} MB):")
    print("  data/           canonflow's SQLite database, secret key and Git cache")
    print("  remote.git/     the demo's Git repository (bare)")
    print("  n8n-prod/, n8n-dev/  each n8n's database, API key and n8n.log")
    print(f"  canonflow.log, {STATE_FILE}  the server's log; ports and the admin token")
    print(f"`make demo` starts this demo again as it was; `rm -rf {root}` forgets it.")


def _size_mb(root: Path) -> int:
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    return round(total / 1_000_000)


def _print_welcome(root: Path, state: State) -> None:
    from scripts import demo_estate
    from tests.support.n8n import OWNER_EMAIL, OWNER_PASSWORD

    url = f"http://127.0.0.1:{state.canonflow_port}/"
    prod, dev = state.n8n_ports["prod"], state.n8n_ports["dev"]
    print(
        f"""
canonflow demo is running.

  UI        {url}
  token     {state.token}
            (admin of tenant "{TENANT}": paste it on the sign-in page)
  n8n prod  http://127.0.0.1:{prod}/  (the anchor)
  n8n dev   http://127.0.0.1:{dev}/
            n8n sign-in for both: {OWNER_EMAIL} / {OWNER_PASSWORD}
  Git       {_repository(root)} (bare, empty until onboarding pushes to it)
  logs      {_log(root)}, {root}/n8n-prod/n8n.log, {root}/n8n-dev/n8n.log

The estate: {demo_estate.summary()}.

What to click first: sign in, then "Onboarding" in the top bar. Run the preflight, then
the inventory: prod's workflows become the canonical set in Git, dev's link to them by
name (the renamed ones by content) and the 4 only in dev stay untracked for the link step
(the Untracked page suggests a match for the copy). Then open "Matrix": dev's drifted and
renamed workflows show as drift; open a cell for its diff.

Before "Reconcile" can deploy or commit, the migration must be on Git's main branch. The
demo has no forge, so onboarding pushes a branch and opens no pull request: merge it
yourself, then click "Sync now" on the Repository page:
  cd {_repository(root)} && git update-ref refs/heads/main \\
    "$(git for-each-ref --format='%(refname)' refs/heads/canonflow/ | tail -1)"

The CLI on this demo:  export CANONFLOW_DATA_DIR={_data_dir(root)} CANONFLOW_TENANT={TENANT}
Stop everything:       make demo-stop
""",
        flush=True,
    )


def main(argv: list[str]) -> int:
    commands = {"start": start, "stop": stop}
    if len(argv) != 1 or argv[0] not in commands:
        print("usage: python -m scripts.demo start|stop", file=sys.stderr)
        return 2
    try:
        commands[argv[0]]()
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
