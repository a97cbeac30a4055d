"""Real Git remotes for tests, driven by the git CLI: bare repositories, working clones
that commit and push as another user would, a `git daemon` serving git://, and
`git http-backend` behind a loopback HTTP(S) server that wants a token.

Every git process runs with a fixed identity and without the user's or the system's
configuration (`GIT_CONFIG_GLOBAL=/dev/null`, `GIT_CONFIG_NOSYSTEM=1`), so the tests
behave the same on every machine.

```python
remote = make_bare_remote(tmp_path)
clone = WorkingClone(remote.as_uri(), tmp_path / "alice")
clone.write("workflows/a.json", "{}")
sha = clone.commit("add a")
clone.push()
with GitDaemon(tmp_path) as daemon:
    url = daemon.url(remote.name)          # git://127.0.0.1:<port>/remote.git
with GitHttpServer(tmp_path, token="t0k") as server:
    url = server.url(remote.name)          # http://127.0.0.1:<port>/remote.git, Basic auth
```
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.n8n import free_port

AUTHOR_NAME = "Test Author"
AUTHOR_EMAIL = "author@example.test"
DAEMON_START_TIMEOUT_S = 10.0
DAEMON_STOP_TIMEOUT_S = 5.0


def git_env(at: datetime | None = None) -> dict[str, str]:
    """The environment of every git subprocess: fixed identity, no outside configuration."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME=AUTHOR_NAME,
        GIT_AUTHOR_EMAIL=AUTHOR_EMAIL,
        GIT_COMMITTER_NAME=AUTHOR_NAME,
        GIT_COMMITTER_EMAIL=AUTHOR_EMAIL,
    )
    if at is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = at.isoformat()
    return env


def run_git(*args: str, cwd: Path | None = None, at: datetime | None = None) -> str:
    """Run `git <args>`; return its stripped stdout; raise with git's stderr on failure."""
    command = ["git", "-c", "init.defaultBranch=main", *args]
    result = subprocess.run(
        command, cwd=cwd, env=git_env(at), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def make_bare_remote(tmp: Path, name: str = "remote.git") -> Path:
    """A new empty bare repository `tmp/name` whose default branch is main."""
    path = tmp / name
    run_git("init", "--quiet", "--bare", str(path))
    return path


class WorkingClone:
    """A working clone of a remote, as a colleague (or a CI job) would have it."""

    def __init__(self, remote_url: str, directory: Path) -> None:
        self.directory = directory
        run_git("clone", "--quiet", remote_url, str(directory))

    def git(self, *args: str, at: datetime | None = None) -> str:
        return run_git(*args, cwd=self.directory, at=at)

    @property
    def branch(self) -> str:
        return self.git("symbolic-ref", "--short", "HEAD")

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def switch(self, branch: str, *, create: bool = False) -> None:
        self.git("switch", "--quiet", *(["--create"] if create else []), branch)

    def write(self, path: str, text: str) -> None:
        target = self.directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def delete(self, path: str) -> None:
        self.git("rm", "--quiet", path)

    def rename(self, old: str, new: str) -> None:
        (self.directory / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", old, new)

    def commit(self, message: str, *, at: datetime | None = None) -> str:
        """Commit everything in the work tree; return the new commit's sha."""
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "--message", message, at=at)
        return self.head()

    def push(self, *, force: bool = False) -> None:
        branch = self.branch
        self.git("push", "--quiet", *(["--force"] if force else []), "origin", branch)

    def pull(self) -> None:
        self.git("pull", "--quiet", "--ff-only", "origin", self.branch)

    def rewrite_history(self) -> str:
        """Amend the last commit and force-push it: the old head leaves the branch's
        history. Returns the new head."""
        message = self.git("log", "-1", "--format=%B")
        self.git("commit", "--quiet", "--amend", "--allow-empty", "--message", f"{message} (rw)")
        self.push(force=True)
        return self.head()

    def files(self) -> dict[str, str]:
        """Every tracked file at HEAD (path → text)."""
        paths = self.git("ls-tree", "-r", "--name-only", "HEAD").splitlines()
        return {path: (self.directory / path).read_text(encoding="utf-8") for path in paths}


class GitDaemon:
    """`git daemon` serving every repository under `root` over git:// on loopback, with
    pushes enabled (unless `writable=False`). Use as a context manager; it is stopped at
    exit."""

    def __init__(self, root: Path, *, writable: bool = True) -> None:
        self.root = root
        self.writable = writable
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> Self:
        self._log = tempfile.TemporaryFile()
        command = ["git", "daemon", "--export-all", "--reuseaddr"]
        command += ["--enable=receive-pack"] if self.writable else []
        command += [f"--base-path={self.root}", "--listen=127.0.0.1", f"--port={self.port}"]
        self._process = subprocess.Popen(
            command,
            env=git_env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the daemon and the children it forked for connections still open."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                _signal_group(process.pid, kill=False)
                try:
                    process.wait(DAEMON_STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    _signal_group(process.pid, kill=True)
                    process.wait()
            _signal_group(process.pid, kill=True)  # forked children, if any are left
        if self._log is not None:
            self._log.close()
            self._log = None

    def _wait_ready(self) -> None:
        assert self._process is not None and self._log is not None
        deadline = time.monotonic() + DAEMON_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._log.seek(0)
                output = self._log.read().decode(errors="replace").strip()
                raise RuntimeError(f"git daemon exited at start: {output}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"git daemon did not listen on port {self.port} in time")


def _signal_group(pgid: int, *, kill: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL if kill else signal.SIGTERM)


class GitHttpServer:
    """`git http-backend` behind a loopback HTTP(S) server that wants HTTP Basic auth with
    `username` and `token` (as GitHub, Gitea and GitLab do for tokens). Serves every
    repository under `root`, pushes included. Pass `tls` (a server SSLContext) for https.
    """

    def __init__(
        self,
        root: Path,
        *,
        username: str = "x-access-token",
        token: str,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.root = root
        self.expected_authorization = "Basic " + base64.b64encode(
            f"{username}:{token}".encode()
        ).decode("ascii")
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self._tls = tls
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, name: str) -> str:
        assert self._server is not None
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}/{name}"

    def __enter__(self) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _GitHttpHandler)
        server.daemon_threads = True
        server.git = self  # type: ignore[attr-defined]
        if self._tls is not None:
            server.socket = self._tls.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="git-http", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()


class _GitHttpHandler(BaseHTTPRequestHandler):
    """One request: check the credentials, then run `git http-backend` as a CGI script."""

    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        git: GitHttpServer = self.server.git  # type: ignore[attr-defined]
        if self.headers.get("Authorization") != git.expected_authorization:
            git.requests.append((self.command, self.path, 401))
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, headers, body = self._run_backend(git.root, self._read_body())
        git.requests.append((self.command, self.path, status))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _run_backend(self, root: Path, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        path, _, query = self.path.partition("?")
        env = git_env() | {
            "GIT_PROJECT_ROOT": str(root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "REMOTE_USER": "tester",  # http-backend allows pushes from an authenticated user
            "REMOTE_ADDR": "127.0.0.1",
        }
        result = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        head, _, content = result.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, content = result.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        return status, headers, content


def self_signed_tls(directory: Path, host: str = "127.0.0.1") -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for `host` (an address or a name) with a new self-signed
    certificate, and the certificate's PEM file (to trust it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([san]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
