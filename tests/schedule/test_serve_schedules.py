"""`canonflow serve` for real keeps an environment in sync by itself: nobody calls sync (its
loop on SQLite, its embedded worker's periodic tick on PostgreSQL)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from canonflow.config import Settings
from tests.cli.helpers import cli_env
from tests.cli.test_serve import serving
from tests.support.n8n import N8nInstance
from tests.support.postgres import free_port

TOKEN = re.compile(r"cf_[A-Za-z0-9_-]{20,}")


def test_serve_runs_the_schedule(
    settings: Settings, tmp_path: Path, clean_n8n_dev: N8nInstance
) -> None:
    env = cli_env(settings) | {
        "CANONFLOW_SCHEDULER_TICK_S": "1",  # a cron period on PostgreSQL
        "CANONFLOW_MIN_SYNC_INTERVAL_S": "1",
    }
    port = free_port()
    log = tmp_path / "serve.log"
    with serving(env, port, log):
        (token,) = TOKEN.findall(log.read_text())
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
        ) as http:
            _scheduled_sync_happens(http, clean_n8n_dev)


def _scheduled_sync_happens(http: httpx.Client, n8n: N8nInstance) -> None:
    created = http.post(
        "/environments",
        json={
            "name": "dev",
            "base_url": n8n.base_url,
            "api_key": n8n.api_key,
            "sync_interval_s": 1,
        },
    )
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 60
    while True:
        (listed,) = http.get("/environments").json()
        if listed["last_sync"] and listed["last_sync"]["outcome"] == "succeeded":
            break
        assert time.monotonic() < deadline, f"no scheduled sync: {listed}"
        time.sleep(0.3)
    jobs = http.get("/jobs").json()["jobs"]
    assert jobs and all(job["params"]["origin"] == "scheduled" for job in jobs)
