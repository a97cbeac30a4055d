"""`make demo` and `make demo-stop` end to end, as a newcomer runs them: two real n8n, a
real Git repository and `canonflow serve`, in a temporary demo directory on a free port."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from pathlib import Path

import httpx

from tests.support.n8n import free_port, n8n_bin

ROOT = Path(__file__).resolve().parents[1]
MAKE_TIMEOUT_S = 240


def _make(target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=MAKE_TIMEOUT_S,
        check=False,
    )


def _alive(pid: int) -> bool:
    """Running and not a zombie waiting for init to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the sign-in page has no CSRF field"
    return found.group(1)


def _workflow_names(n8n_dir: Path, port: int) -> set[str]:
    key = (n8n_dir / "api-key").read_text().strip()
    answer = httpx.get(
        f"http://127.0.0.1:{port}/api/v1/workflows",
        params={"limit": 250},
        headers={"X-N8N-API-KEY": key},
    )
    answer.raise_for_status()
    assert not answer.json().get("nextCursor")
    return {item["name"] for item in answer.json()["data"]}


def _stop_and_check(env: dict[str, str], pids: dict[str, int], port: int) -> str:
    stopped = _make("demo-stop", env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert [name for name, pid in pids.items() if _alive(pid)] == []
    assert not _listening(port)
    return stopped.stdout


def _check_signed_in_ui(url: str, token: str) -> None:
    """/readyz, the sign-in form with the printed token, and the environments by API."""
    assert httpx.get(f"{url}readyz").json()["status"] == "ok"
    with httpx.Client(base_url=url) as http:
        csrf = _csrf(http.get("/signin").text)
        signed_in = http.post("/signin", data={"token": token, "next": "/", "csrf_token": csrf})
        assert signed_in.status_code == 303, signed_in.text
        overview = http.get("/")
        assert overview.status_code == 200
        for shown in ("demo", "prod", "dev"):  # the tenant, its environments
            assert shown in overview.text
    environments = httpx.get(
        f"{url}api/v1/environments", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert {row["name"]: row["is_anchor"] for row in environments} == {"prod": True, "dev": False}


def test_make_demo_serves_the_ui_and_make_demo_stop_stops_it(tmp_path: Path) -> None:
    """One test for the whole life of a demo (n8n's start dominates: ~15 s a time):
    start, start again (nothing new), stop, start after a stop (the same demo), stop."""
    demo = tmp_path / "demo"
    port = free_port()
    env = {
        **os.environ,
        "CANONFLOW_DEMO_DIR": str(demo),
        "CANONFLOW_DEMO_PORT": str(port),
        "CANONFLOW_N8N_BIN": str(n8n_bin()),
    }
    pids: dict[str, int] = {}
    try:
        started = _make("demo", env)
        assert started.returncode == 0, started.stdout + started.stderr
        state = json.loads((demo / "demo.json").read_text())
        pids = state["pids"]
        assert set(pids) == {"prod", "dev", "canonflow"}
        url = re.search(r"UI\s+(\S+)", started.stdout)
        token = re.search(r"token\s+(cf_\S+)", started.stdout)
        assert url and token, started.stdout
        assert url.group(1) == f"http://127.0.0.1:{port}/"
        _check_signed_in_ui(url.group(1), token.group(1))
        ports = state["n8n_ports"]
        prod = _workflow_names(demo / "n8n-prod", ports["prod"])
        dev = _workflow_names(demo / "n8n-dev", ports["dev"])
        assert (len(prod), len(dev), len(prod & dev)) == (27, 29, 22)  # 16 same + 6 drifted

        again = _make("demo", env)  # a second `make demo` starts nothing
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already running" in again.stdout
        assert token.group(1) in again.stdout
        assert json.loads((demo / "demo.json").read_text())["pids"] == pids
    finally:
        stopped = _stop_and_check(env, pids, port)
    assert "Left on disk" in stopped
    assert (demo / "remote.git" / "HEAD").exists()  # what it keeps, it says it keeps
    assert json.loads((demo / "demo.json").read_text())["pids"] == {}

    restarted: dict[str, int] = {}
    try:
        back = _make("demo", env)
        assert back.returncode == 0, back.stdout + back.stderr
        assert "seeding" not in back.stdout  # the same data, not a second estate
        restarted = json.loads((demo / "demo.json").read_text())["pids"]
        assert set(restarted) == {"prod", "dev", "canonflow"}
        assert json.loads((demo / "demo.json").read_text())["n8n_ports"] == ports
        assert _workflow_names(demo / "n8n-prod", ports["prod"]) == prod
        _check_signed_in_ui(url.group(1), token.group(1))  # the same token still signs in
    finally:
        _stop_and_check(env, restarted, port)
