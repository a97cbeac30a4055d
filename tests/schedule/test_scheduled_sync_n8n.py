"""Scheduled syncs against two real n8n instances, kept by the app as `serve` keeps them (its
lifespan loop on SQLite, its embedded worker's periodic tick on PostgreSQL): an edit made in
n8n reaches canonflow without anyone calling sync; pausing stops that; resuming picks the
edit up again. On both backends."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from canonflow.app import create_app
from canonflow.config import Settings
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, SyncRun, WorkflowEnvMap
from canonflow.runtime import Runtime, build_runtime
from tests.factories import bearer, make_tenant, make_token
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import admin_client, make_workflow

INTERVAL_S = 2
DEADLINE_S = 90.0


@pytest.fixture
def fast_runtime(settings: Settings) -> Iterator[Runtime]:
    """A runtime that keeps schedules, whose operator allows 1 s intervals, ticking every
    second (the shortest cron period on PostgreSQL; SQLite's loop could go faster)."""
    runtime = build_runtime(
        settings.model_copy(update={"min_sync_interval_s": 1, "scheduler_tick_s": 1}),
        scheduler=True,
    )
    yield runtime
    runtime.close()


def _wait_for(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _names(runtime: Runtime, environment_id: str) -> set[str | None]:
    with transaction(runtime.sessions) as session:
        return set(
            session.scalars(
                select(WorkflowEnvMap.workflow_name).where(
                    WorkflowEnvMap.environment_id == uuid.UUID(environment_id)
                )
            )
        )


def _runs(runtime: Runtime, environment_id: str) -> int:
    with transaction(runtime.sessions) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(SyncRun)
                .where(SyncRun.environment_id == uuid.UUID(environment_id))
            )
            or 0
        )


def _idle(runtime: Runtime) -> bool:
    with transaction(runtime.sessions) as session:
        return not session.scalar(
            select(func.count())
            .select_from(BackgroundJob)
            .where(BackgroundJob.status.in_(("queued", "running")))
        )


def _rename(n8n: N8nInstance, workflow: dict[str, Any], name: str) -> None:
    body = {k: workflow[k] for k in ("nodes", "connections", "settings")} | {"name": name}
    with admin_client(n8n) as http:
        http.put(f"/workflows/{workflow['id']}", json=body).raise_for_status()


def test_schedules_keep_two_real_environments_current(
    fast_runtime: Runtime, clean_n8n_dev: N8nInstance, clean_n8n_prod: N8nInstance
) -> None:
    with transaction(fast_runtime.sessions) as session:
        token = make_token(session, make_tenant(session, slug="scheduled"))
    workflows = {}
    for n8n in (clean_n8n_dev, clean_n8n_prod):
        with admin_client(n8n) as http:
            created = http.post("/workflows", json=make_workflow("billing", 3))
            workflows[n8n.base_url] = created.raise_for_status().json()

    app = create_app(runtime=fast_runtime, scheduler=True)
    with TestClient(app) as client:
        environments = {}
        for name, n8n in (("dev", clean_n8n_dev), ("prod", clean_n8n_prod)):
            response = client.post(
                "/api/v1/environments",
                json={"name": name, "base_url": n8n.base_url, "api_key": n8n.api_key}
                | {"sync_interval_s": INTERVAL_S},
                headers=bearer(token),
            )
            assert response.status_code == 201, response.text
            environments[name] = (response.json()["id"], n8n)

        for env_id, _ in environments.values():  # the first scheduled syncs list it
            _wait_for("first sync", lambda e=env_id: _names(fast_runtime, e) == {"billing"})
        for _env_id, n8n in environments.values():  # an edit in n8n, nobody calls sync
            _rename(n8n, workflows[n8n.base_url], "billing v2")
        for env_id, _ in environments.values():
            _wait_for("the edit", lambda e=env_id: _names(fast_runtime, e) == {"billing v2"})

        dev_id, dev_n8n = environments["dev"]
        paused = client.patch(
            f"/api/v1/environments/{dev_id}", json={"paused": True}, headers=bearer(token)
        )
        assert paused.status_code == 200 and paused.json()["next_sync_at"] is None
        _wait_for("no sync queued or running", lambda: _idle(fast_runtime))
        runs_when_paused = _runs(fast_runtime, dev_id)
        _rename(dev_n8n, workflows[dev_n8n.base_url], "billing v3")
        prod_id, _ = environments["prod"]
        prod_runs = _runs(fast_runtime, prod_id)
        _wait_for("prod's next syncs", lambda: _runs(fast_runtime, prod_id) >= prod_runs + 2)
        assert _runs(fast_runtime, dev_id) == runs_when_paused  # paused: no sync since
        assert _names(fast_runtime, dev_id) == {"billing v2"}

        resumed = client.patch(
            f"/api/v1/environments/{dev_id}", json={"paused": False}, headers=bearer(token)
        )
        assert resumed.status_code == 200
        _wait_for("the edit after resume", lambda: _names(fast_runtime, dev_id) == {"billing v3"})

        for env_id, _ in environments.values():  # settle, then read what the API shows
            client.patch(
                f"/api/v1/environments/{env_id}", json={"paused": True}, headers=bearer(token)
            )
        _wait_for("no sync queued or running", lambda: _idle(fast_runtime))
        for listed in client.get("/api/v1/environments", headers=bearer(token)).json():
            assert listed["paused"] is True and listed["next_sync_at"] is None
            assert listed["last_sync"]["outcome"] == "succeeded", listed
            assert listed["last_sync"]["job_id"] is not None
    with transaction(fast_runtime.sessions) as session:
        origins = {job.params.get("origin") for job in session.scalars(select(BackgroundJob))}
    assert origins == {"scheduled"}
