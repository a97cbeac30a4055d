"""`canonflow serve` for real: migrates, serves, prints an admin token on first start only."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from canonflow.config import Settings
from tests.cli.helpers import canonflow_bin, cli_env
from tests.support.postgres import free_port

TOKEN = re.compile(r"cf_[A-Za-z0-9_-]{20,}")


@contextmanager
def serving(env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    """Run `canonflow serve` until the block ends; its output goes to `log`."""
    with log.open("w") as output:
        process = subprocess.Popen(
            [canonflow_bin(), "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(port, process, log)
            yield
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_until_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early: {log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("serve did not answer /healthz within 60 s")


def test_first_start_prints_a_working_admin_token_once(settings: Settings, tmp_path: Path) -> None:
    env = cli_env(settings)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(env, port, tmp_path / "first.log"):
        assert httpx.get(f"{base}/docs").status_code == 200
        assert httpx.get(f"{base}/readyz").json()["status"] == "ok"
    tokens = TOKEN.findall((tmp_path / "first.log").read_text())
    assert len(tokens) == 1, (tmp_path / "first.log").read_text()
    with serving(env, port, tmp_path / "second.log"):
        response = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {tokens[0]}"})
        assert response.status_code == 200
        assert response.json()["role"] == "admin"
    assert TOKEN.findall((tmp_path / "second.log").read_text()) == []


def test_production_mode_without_a_secret_key_refuses_to_start(settings: Settings) -> None:
    env = cli_env(settings) | {"CANONFLOW_MODE": "production"}
    env.pop("CANONFLOW_SECRET_KEY")
    result = subprocess.run(
        [canonflow_bin(), "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CANONFLOW_SECRET_KEY is required" in lines[0]
