"""`/api/v1/policy/ignore-rules` on hand-built rows, both backends: validation, roles,
tenants, audit, and the recomputation of the tenant's cells."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.db.models import AuditEntry, CanonicalWorkflow, StateChange, WorkflowEnvMap
from canonflow.runtime import Runtime
from tests.factories import bearer, make_token
from tests.matrix.conftest import Tenancy, make_tenancy
from tests.support.n8n_fixtures import make_workflow

URL = "/api/v1/policy/ignore-rules"


def _admin(runtime: Runtime, t: Tenancy) -> dict[str, str]:
    from canonflow.db.models import Tenant

    with transaction(runtime.sessions) as session:
        tenant = session.get(Tenant, t.tenant_id)
        assert tenant is not None
        return bearer(make_token(session, tenant, role=Role.ADMIN))


def _put(
    client: TestClient, runtime: Runtime, admin: dict[str, str], rules: list[dict[str, Any]]
) -> dict[str, Any]:
    """PUT the rules: 202 with the stored list and the job applying them; waits for that
    job and answers the list with the job's result (`cells_recomputed`, `state_changes`)."""
    written = client.put(URL, json={"rules": rules}, headers=admin)
    assert written.status_code == 202, written.text
    body = dict(written.json())
    assert body["url"] == f"/api/v1/jobs/{body['job_id']}"
    runtime.runner.wait(uuid.UUID(body["job_id"]), timeout=120)
    job = client.get(body["url"], headers=admin).json()
    assert job["status"] == "succeeded", job
    return body | job["result"]


def test_put_validates_and_returns_the_stored_list(client: TestClient, runtime: Runtime) -> None:
    t = make_tenancy(runtime, ("prod", "dev"))
    admin = _admin(runtime, t)
    assert client.get(URL, headers=t.headers).json() == {"rules": []}
    bad = client.put(
        URL, json={"rules": [{"path": "settings.a"}, {"path": "x:a[0]"}]}, headers=admin
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "rules[1].path" in bad.json()["detail"] and "object key" in bad.json()["detail"]
    other = make_tenancy(runtime, ("prod",))
    foreign = str(other.envs["prod"])
    refused = client.put(
        URL, json={"rules": [{"path": "notes", "environments": [foreign]}]}, headers=admin
    )
    assert refused.status_code == 422 and foreign in refused.json()["detail"]
    viewer = client.put(URL, json={"rules": []}, headers=t.headers)  # t.headers: a viewer
    assert viewer.status_code == 403
    rules = [
        {"path": "settings.timezone"},
        {"path": "*:headers.Content-Type", "workflows": ["bill*"], "note": "n"},
        {"path": "notes", "environments": [str(t.envs["dev"])]},
    ]
    body = _put(client, runtime, admin, rules)
    assert [r["path"] for r in body["rules"]] == [
        "settings.timezone",
        '*:headers["Content-Type"]',  # stored in its canonical spelling
        "notes",
    ]
    assert body["rules"][2]["environments"] == [str(t.envs["dev"])]
    assert client.get(URL, headers=t.headers).json()["rules"] == body["rules"]
    assert client.get(URL, headers=other.headers).json() == {"rules": []}
    with transaction(runtime.sessions) as session:
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "ignore_rules.replace")
        ).one()
        assert audit.tenant_id == t.tenant_id


def test_a_rule_turns_cells_in_sync_and_back(client: TestClient, runtime: Runtime) -> None:
    """Stored documents only: prod's copy differs from Git in `settings.timezone`."""
    t = make_tenancy(runtime, ("prod", "dev"))
    admin = _admin(runtime, t)
    git = make_workflow("Orders", 5)
    env = copy.deepcopy(git)
    env["settings"]["timezone"] = "Europe/Paris"
    canonical = t.add_canonical("Orders")
    prod = t.add_mapping("Orders", "prod", env_hash="v1:" + "e" * 64)  # git == base: drift
    dev = t.add_mapping("Orders", "dev")
    with transaction(runtime.sessions) as session:
        session.get(CanonicalWorkflow, canonical).workflow_definition = git  # type: ignore[union-attr]
        for mapping, data in ((prod, env), (dev, git)):
            session.get(WorkflowEnvMap, mapping).workflow_data = data  # type: ignore[union-attr]
        record_state_changes(session, t.tenant_id, StateCause.ENV_SYNC)  # what is recorded now
    assert _state(client, t, "prod") == "drift"
    rule = {"path": "settings.timezone", "environments": [str(t.envs["prod"])]}
    on = _put(client, runtime, admin, [rule])
    assert on["state_changes"] == 1 and on["cells_recomputed"] >= 2
    assert _state(client, t, "prod") == "in_sync"
    again = _put(client, runtime, admin, [rule])
    assert (again["cells_recomputed"], again["state_changes"]) == (0, 0)  # nothing changed
    elsewhere = {"path": "notes", "workflows": ["no-such-*"]}  # applies to no cell
    more = _put(client, runtime, admin, [rule, elsewhere])
    assert (more["cells_recomputed"], more["state_changes"]) == (1, 0)  # dev: cleared only
    with transaction(runtime.sessions) as session:
        kept = session.get(WorkflowEnvMap, prod)
        assert kept is not None and kept.env_ignored_hash == kept.git_ignored_hash
    off = _put(client, runtime, admin, [])
    assert off["state_changes"] == 1
    assert _state(client, t, "prod") == "drift"
    with transaction(runtime.sessions) as session:
        changes = session.execute(
            select(StateChange.from_state, StateChange.to_state)
            .where(StateChange.mapping_id == prod, StateChange.cause == "ignore_rules")
            .order_by(StateChange.at)
        ).all()
        assert [tuple(c) for c in changes][-2:] == [("drift", "in_sync"), ("in_sync", "drift")]
        row = session.get(WorkflowEnvMap, prod)
        assert row is not None and row.ignore_fingerprint is None and row.env_ignored_hash is None


def _state(client: TestClient, t: Tenancy, env: str) -> Any:
    page = client.get("/api/v1/workflows/matrix", params={"q": "Orders"}, headers=t.headers)
    [row] = page.json()["workflows"]
    return row["environments"][str(t.envs[env])]["state"]
