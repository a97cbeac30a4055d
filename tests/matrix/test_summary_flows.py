"""The summary's kept counts equal the full scan after every write flow, through the real
flows against real n8n (prod and dev) and a real bare Git remote, on both backends:
onboarding, env sync (new, changed, missing, reappearing), link, ignore / unignore /
delete, ignore rules, git_wins (deploy), restore, env_wins (commit), repo sync (changed, a
deleted file: orphaned), re-adoption (a canonical workflow undeleted), environment delete.
(`tests/catalogue/test_history_flow.py` checks the same after each of its writes.)"""

from __future__ import annotations

from sqlalchemy import select

from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant, WorkflowEnvMap
from canonflow.repo.sync import PruneGuard, sync_repository
from tests.factories import bearer, make_token
from tests.onboarding.conftest import estate  # noqa: F401 (a fixture, over the conftest's)
from tests.reconcile.conftest import (  # noqa: F401 (a fixture)
    MAX_FILE_BYTES,
    Linked,
    linked,
    set_value,
)
from tests.support.n8n_fixtures import make_workflow
from tests.support.summary_counts import assert_counts_kept

SET_VALUE = "n8n-nodes-base.set:assignments.assignments[0].value"


def _kept(o: Linked) -> None:
    assert_counts_kept(o.e.runtime, o.e.tenant_id)


def _summary(o: Linked) -> dict[str, dict[str, object]]:
    response = o.client.get("/api/v1/workflows/matrix/summary", headers=o.headers)
    assert response.status_code == 200, response.text
    return {e["name"]: e for e in response.json()["environments"]}


def _admin(o: Linked) -> dict[str, str]:
    with transaction(o.e.runtime.sessions) as session:
        return bearer(make_token(session, session.get_one(Tenant, o.e.tenant_id)))


def _mapping_named(o: Linked, name: str, where: str) -> WorkflowEnvMap:
    with transaction(o.e.runtime.sessions) as session:
        return session.scalars(
            select(WorkflowEnvMap).where(
                WorkflowEnvMap.tenant_id == o.e.tenant_id,
                WorkflowEnvMap.environment_id == o.env_id(where),
                WorkflowEnvMap.workflow_name == name,
                WorkflowEnvMap.status != MappingStatus.DELETED,
            )
        ).one()


def test_every_write_flow_keeps_the_summary_counts(linked: Linked) -> None:  # noqa: F811
    o = linked
    _kept(o)  # onboarding, write-back, repo sync
    assert _summary(o)["dev"]["states"] == {"in_sync": 4}

    o.e.create("dev", make_workflow("Invoices", 3))  # env sync: a new workflow
    o.sync("dev")
    _kept(o)
    invoices = _mapping_named(o, "Invoices", "dev")
    response = o.client.post(
        "/api/v1/canonical/link",
        json={"mapping_id": str(invoices.id), "create_canonical": True},
        headers=o.headers,
    )
    assert response.status_code == 200, response.text
    _kept(o)
    assert _summary(o)["prod"]["statuses"]["absent"] == 1  # Invoices is in dev only

    orders_dev = o.mapping("orders", "dev").n8n_workflow_id
    o.edit_in_n8n("dev", orders_dev, set_value("edited in dev"))  # env sync: changed
    o.sync("dev")
    _kept(o)
    assert _summary(o)["dev"]["states"]["drift"] == 1
    assert o.apply("env_wins")["status"] == "succeeded"  # commit
    _kept(o)
    o.repo_sync()
    _kept(o)
    assert o.apply("git_wins")["status"] == "succeeded"  # deploy to prod
    _kept(o)

    snapshots = o.client.get(  # restore what the deploy overwrote in prod
        "/api/v1/snapshots",
        params={"mapping_id": str(o.mapping("orders", "prod").id)},
        headers=o.headers,
    ).json()["snapshots"]
    response = o.client.post(f"/api/v1/snapshots/{snapshots[0]['id']}/restore", headers=o.headers)
    assert response.status_code == 202, response.text
    assert o.wait(response.json()["job_id"])["status"] == "succeeded"
    _kept(o)
    o.sync("prod")
    _kept(o)

    with o.n8n("dev") as http:  # env sync: missing, then recreated (a new n8n id)
        assert http.delete(f"/workflows/{invoices.n8n_workflow_id}").status_code == 200
    o.sync("dev")
    _kept(o)
    assert _summary(o)["dev"]["statuses"]["missing"] == 1
    o.e.create("dev", make_workflow("Invoices", 3))
    o.sync("dev")
    _kept(o)

    billing_dev = o.mapping("billing", "dev").id
    for action in ("ignore", "unignore", "delete"):
        response = o.client.post(
            f"/api/v1/canonical/mappings/{billing_dev}/{action}", headers=o.headers
        )
        assert response.status_code == 200, response.text
        _kept(o)

    admin = _admin(o)
    for rules in ([{"path": SET_VALUE}], []):  # ignore rules applied, then taken away
        response = o.client.put("/api/v1/policy/ignore-rules", json={"rules": rules}, headers=admin)
        assert response.status_code == 202, response.text
        assert o.wait(response.json()["job_id"])["status"] == "succeeded"
        _kept(o)

    o.edit_in_git("orders", set_value("v2 in Git"), "orders v2")  # repo sync: changed
    o.repo_sync()
    _kept(o)
    o.e.clone.git("pull", "--quiet", "origin", "main")  # repo sync: a file deleted
    o.e.clone.git("rm", "--quiet", "workflows/sub-flow.json")
    o.e.clone.commit("sub flow is retired")
    o.e.clone.git("push", "--quiet", "origin", "HEAD:main")
    sync_repository(
        o.e.runtime.sessions,
        o.e.runtime.secrets,
        tenant_id=o.e.tenant_id,
        cache_root=o.e.runtime.settings.resolved_git_cache_dir,
        max_file_bytes=MAX_FILE_BYTES,
        prune_guard=PruneGuard(confirmed=True),
    )
    _kept(o)
    assert _summary(o)["prod"]["states"]["orphaned"] == 1
    assert o.apply("env_wins")["status"] == "succeeded"  # re-adopted (and orders committed)
    _kept(o)
    assert "orphaned" not in _summary(o)["prod"]["states"]

    response = o.client.delete(f"/api/v1/environments/{o.e.dev_id}", headers=admin)
    assert response.status_code == 204, response.text
    _kept(o)
    assert list(_summary(o)) == ["prod"]
