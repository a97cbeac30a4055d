"""n8n killed in the middle of an apply of 50 deploys: the job fails cleanly, what was
applied is recorded, and a rerun finishes the rest. A real n8n of the test's own (it is
killed), reached through `tests.support.proxy.FaultProxy` so the kill can be timed to the
eleventh write."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from canonflow.app import create_app
from canonflow.core.sync_state import SyncState, derive_sync_state
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, WorkflowEnvMap
from canonflow.runtime import Runtime
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import bulk_create, make_workflow
from tests.support.onboarded import edit_every_file, onboard_one_environment
from tests.support.proxy import FaultProxy, ProxyRequest

COUNT, KILL_AT = 50, 11


def _states(runtime: Runtime, environment_id: uuid.UUID) -> list[SyncState]:
    with transaction(runtime.sessions) as session:
        rows = session.scalars(
            select(WorkflowEnvMap).where(WorkflowEnvMap.environment_id == environment_id)
        ).all()
        return [
            derive_sync_state(r.env_content_hash, r.git_content_hash, r.base_content_hash)
            for r in rows
        ]


def _add_a_node(document: dict[str, Any]) -> None:
    document["nodes"].append(
        {"name": "Added", "type": "n8n-nodes-base.noOp", "typeVersion": 1,
         "position": [900, 300], "parameters": {}}
    )  # fmt: skip


def test_n8n_killed_mid_apply_fails_cleanly_and_a_rerun_finishes(
    runtime: Runtime, n8n_factory: Any, tmp_path: Path
) -> None:
    n8n: N8nInstance = n8n_factory()
    bulk_create(n8n, [make_workflow(f"Flow {i:02d}", 4) for i in range(COUNT)])
    with FaultProxy(n8n.base_url) as proxy:
        onboarded = onboard_one_environment(
            runtime, base_url=proxy.base_url, api_key=n8n.api_key, tmp=tmp_path, name="stage"
        )
        edit_every_file(runtime, onboarded, _add_a_node, "add a node everywhere")
        setup = {"stage_id": onboarded.environment_id, "headers": onboarded.headers}
        assert _states(runtime, setup["stage_id"]).count(SyncState.OUT_OF_DATE) == COUNT
        puts = 0

        def kill_on_the_eleventh_write(request: ProxyRequest) -> None:
            nonlocal puts
            if request.method == "PUT":
                puts += 1
                if puts == KILL_AT:
                    n8n.kill()  # before the proxy forwards this write

        proxy.on_request(kill_on_the_eleventh_write)
        with TestClient(create_app(runtime=runtime)) as client:
            body = {"strategy": "git_wins", "dry_run": False}
            accepted = client.post(
                "/api/v1/canonical/reconcile", json=body, headers=setup["headers"]
            )
            assert accepted.status_code == 202, accepted.text
            job_id = uuid.UUID(accepted.json()["job_id"])
            runtime.runner.wait(job_id, timeout=300)
            with transaction(runtime.sessions) as session:
                job = session.get(BackgroundJob, job_id)
                assert job is not None
                status, error, result = job.status.value, job.error, job.result
            assert status == "failed"
            assert error is not None and "unreachable" in error and "plan again" in error
            assert result is not None
            applied = result["counts"]["applied"]
            # two writes in flight: the one before the kill may have been cut short too
            assert KILL_AT - 2 <= applied <= KILL_AT - 1
            assert result["not_attempted"] == COUNT - applied - result["counts"].get("failed", 0)
            states = _states(runtime, setup["stage_id"])
            assert states.count(SyncState.IN_SYNC) == applied  # recorded as it went
            assert states.count(SyncState.OUT_OF_DATE) == COUNT - applied

            proxy.on_request(None)
            n8n.restart()
            plan = client.post(
                "/api/v1/canonical/reconcile",
                json={"strategy": "git_wins"},
                headers=setup["headers"],
            )
            assert plan.json()["counts"]["deploy"] == COUNT - applied
            rerun = client.post("/api/v1/canonical/reconcile", json=body, headers=setup["headers"])
            assert rerun.status_code == 202, rerun.text
            rerun_id = uuid.UUID(rerun.json()["job_id"])
            runtime.runner.wait(rerun_id, timeout=300)
            with transaction(runtime.sessions) as session:
                finished = session.get(BackgroundJob, rerun_id)
                assert finished is not None
                assert finished.status.value == "succeeded", finished.error
                assert finished.result is not None
                assert finished.result["counts"] == {"applied": COUNT - applied}
    assert _states(runtime, setup["stage_id"]) == [SyncState.IN_SYNC] * COUNT
