"""Environment sync end to end: 1,000 workflows, the API job, and the CLI."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from canonflow.config import Settings
from canonflow.core.enums import JobStatus
from canonflow.core.hashing import content_hash
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant, WorkflowEnvMap
from canonflow.runtime import Runtime
from tests.cli.helpers import cli_env, run_cli
from tests.factories import bearer, make_token
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import admin_client, create_workflows
from tests.sync.conftest import EnvUnderTest, add_environment


@pytest.fixture(scope="module")
def thousand_n8n(n8n_factory: Callable[[], N8nInstance]) -> N8nInstance:
    """An instance of this module's own holding 1,000 workflows; tests only read it."""
    instance = n8n_factory()
    create_workflows(instance, 1000, prefix="bulk", nodes=6)
    return instance


def test_a_thousand_workflows_sync_right(runtime: Runtime, thousand_n8n: N8nInstance) -> None:
    env = add_environment(runtime, thousand_n8n, batch_size=100)
    result = env.sync()
    assert (result.complete, result.seen, result.created, result.missing) == (True, 1000, 1000, 0)
    with admin_client(thousand_n8n) as http:
        listed: dict[str, str] = {}
        params: dict[str, object] = {"limit": 250}
        while True:
            page = http.get("/workflows", params=params).json()
            listed |= {wf["id"]: content_hash(wf) for wf in page["data"]}
            if not page["nextCursor"]:
                break
            params["cursor"] = page["nextCursor"]
    rows = env.mappings()
    assert {key: row.env_content_hash for key, row in rows.items()} == listed
    assert {row.status for row in rows.values()} == {MappingStatus.UNTRACKED}
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(WorkflowEnvMap)) == 1000
    again = env.sync()
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1000)


@pytest.mark.compat
def test_the_api_runs_a_sync_job(
    client: TestClient,
    runtime: Runtime,
    dev_env: EnvUnderTest,
    create_in_n8n: Callable[..., dict[str, object]],
) -> None:
    create_in_n8n(dev_env, "Via the API")
    with transaction(runtime.sessions) as session:
        tenant = session.get(Tenant, dev_env.tenant_id)
        assert tenant is not None
        token = make_token(session, tenant)
    accepted = client.post(
        f"/api/v1/environments/{dev_env.environment_id}/sync", headers=bearer(token)
    )
    assert accepted.status_code == 202
    job_id = uuid.UUID(accepted.json()["job_id"])
    runtime.runner.wait(job_id, timeout=120)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(token)).json()
    assert job["status"] == JobStatus.SUCCEEDED.value, job
    assert job["result"]["created"] == 1 and job["result"]["complete"] is True
    assert job["progress_done"] == 1


def test_the_cli_adds_tests_syncs_and_removes_an_environment(
    settings: Settings, clean_n8n_dev: N8nInstance, runtime: Runtime
) -> None:
    env = cli_env(settings) | {"CANONFLOW_N8N_API_KEY": clean_n8n_dev.api_key}
    assert run_cli("tenant", "create", "acme", env=env).returncode == 0
    tenant = ["--tenant", "acme"]
    added = run_cli("env", "add", "dev", "--url", clean_n8n_dev.base_url, *tenant, env=env)
    assert added.returncode == 0, added.stderr
    assert clean_n8n_dev.api_key not in added.stdout + added.stderr
    listing = run_cli("env", "list", *tenant, env=env)
    assert "dev" in listing.stdout and clean_n8n_dev.api_key not in listing.stdout
    tested = run_cli("env", "test", "dev", *tenant, env=env)
    assert tested.returncode == 0 and "connected" in tested.stdout
    create_workflows(clean_n8n_dev, 3, prefix="cli")
    synced = run_cli("sync", "env", "dev", *tenant, env=env)
    assert synced.returncode == 0, synced.stderr
    assert re.search(r"dev: 3 seen, 3 new, 0 updated, 0 unchanged, 0 missing", synced.stdout)
    removed = run_cli("env", "remove", "dev", "--yes", *tenant, env=env)
    assert removed.returncode == 0, removed.stderr
    missing = run_cli("sync", "env", "dev", *tenant, env=env)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: no environment named 'dev'"


def test_the_cli_reports_a_wrong_key_in_one_line(
    settings: Settings, clean_n8n_dev: N8nInstance
) -> None:
    env = cli_env(settings) | {"CANONFLOW_N8N_API_KEY": "wrong-key-123"}
    run_cli("tenant", "create", "acme", env=env)
    run_cli("env", "add", "dev", "--url", clean_n8n_dev.base_url, "--tenant", "acme", env=env)
    for args in (("env", "test", "dev"), ("sync", "env", "dev")):
        result = run_cli(*args, "--tenant", "acme", env=env)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert "wrong-key-123" not in result.stderr
