"""A fleet mid-upgrade: prod still on n8n 1.123 (the anchor), dev already on 2.x. Onboarding
through canonflow's API links every dev copy to its canonical and reads it in sync, and an
env sync of the 2.x environment keeps it so (issue 17: the version alone is not drift)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from canonflow.core.enums import JobStatus, Role
from canonflow.db.engine import transaction
from canonflow.repo import service as repositories
from canonflow.repo.schemas import RepositoryPut
from canonflow.runtime import Runtime
from canonflow.tenancy.service import Principal
from tests.compat.estate import WEBHOOK_NAME, estate_bodies, seed
from tests.factories import add_prod_and_dev, bearer, make_tenant, make_token
from tests.onboarding.conftest import calling
from tests.support.git_remotes import make_bare_remote
from tests.support.n8n import is_v1
from tests.support.n8n_fixtures import N8nPair, _send, admin_client, make_workflow

MATRIX = "/api/v1/workflows/matrix"


def _run_job(client: TestClient, runtime: Runtime, headers: dict[str, str], url: str) -> Any:
    accepted = client.post(url, headers=headers)
    assert accepted.status_code == 202, accepted.text
    job_id = uuid.UUID(accepted.json()["job_id"])
    runtime.runner.wait(job_id, timeout=180)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
    assert job["status"] == JobStatus.SUCCEEDED.value, job
    return job["result"]


def _cells(client: TestClient, headers: dict[str, str]) -> dict[tuple[str, str], Any]:
    """(workflow name, environment name) → matrix cell, every page."""
    cells: dict[tuple[str, str], Any] = {}
    params: dict[str, Any] = {"limit": 500}
    while True:
        response = client.get(MATRIX, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        env_names = {e["id"]: e["name"] for e in page["environments"]}
        for row in page["workflows"]:
            for env_id, cell in row["environments"].items():
                cells[(row["name"], env_names[env_id])] = cell
        if not page["next_cursor"]:
            return cells
        params["cursor"] = page["next_cursor"]


# what is under test is the n8n versions, not canonflow's database: SQLite only (CI time)
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_onboarding_prod_on_1x_and_dev_on_2x_links_every_copy_in_sync(
    client: TestClient, runtime: Runtime, clean_mixed_pair: N8nPair, tmp_path: Path
) -> None:
    prod, dev = clean_mixed_pair.prod, clean_mixed_pair.dev
    assert is_v1(prod.version) and not is_v1(dev.version)
    bodies = estate_bodies()
    seed(prod, bodies)
    seed(dev, bodies)
    sub, parent = make_workflow("Compat Sub Flow", 3), make_workflow("Compat Parent Flow", 2)
    for instance in (prod, dev):  # a parent calling its environment's own sub-workflow
        with admin_client(instance) as http:
            sub_id = _send(http, "POST", "/workflows", json=sub).json()["id"]
            _send(http, "POST", "/workflows", json=calling(parent, sub_id))
    names = {body["name"] for body in bodies} | {"Compat Sub Flow", "Compat Parent Flow"}

    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        environments = add_prod_and_dev(session, runtime.secrets, tenant.id, prod, dev)
        principal = Principal(tenant.id, tenant.slug, None, "tester", Role.ADMIN)
        remote = f"file://{make_bare_remote(tmp_path / 'remotes')}"
        repositories.put(session, runtime.secrets, principal, RepositoryPut(url=remote))
        headers = bearer(make_token(session, tenant, role=Role.OPERATOR))
        dev_id = environments[1].id

    result = _run_job(client, runtime, headers, "/api/v1/canonical/onboard/inventory")
    assert result["canonicals_created"] == len(names)

    def assert_every_copy_linked_in_sync() -> None:
        cells = _cells(client, headers)
        assert {name for name, _ in cells} == names
        for name in names:
            for env in ("prod", "dev"):
                cell = cells[(name, env)]
                assert (cell["status"], cell["state"]) == ("linked", "in_sync"), (name, env, cell)
        # the webhook workflow is active on both: what 2.x runs is what 1.x runs
        assert cells[(WEBHOOK_NAME, "dev")]["env_hash"] == cells[(WEBHOOK_NAME, "prod")]["env_hash"]

    assert_every_copy_linked_in_sync()
    synced = _run_job(client, runtime, headers, f"/api/v1/environments/{dev_id}/sync")
    assert synced["complete"] is True
    assert_every_copy_linked_in_sync()
    summary = client.get(f"{MATRIX}/summary", headers=headers).json()
    for environment in summary["environments"]:
        in_sync = environment["states"].get("in_sync", 0)
        assert in_sync == len(names), environment
