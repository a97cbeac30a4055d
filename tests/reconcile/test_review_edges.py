"""Edges found in review: Git moved since the last repo sync, restores onto ignored
workflows, deleted mappings in a scoped plan, unknown ids in force and choices."""

from __future__ import annotations

import uuid

from canonflow.core.sync_state import SyncState
from tests.reconcile.conftest import Linked, plan_items, set_value


def test_env_wins_never_overwrites_a_file_changed_since_the_last_repo_sync(linked: Linked) -> None:
    dev_id = linked.mapping("orders", "dev").n8n_workflow_id
    linked.edit_in_n8n("dev", dev_id, set_value("edited in dev"))
    linked.sync("dev")
    colleague = linked.edit_in_git("orders", set_value("pushed by a colleague"))  # not synced

    job = linked.apply("env_wins")
    assert job["status"] == "succeeded", job
    [outcome] = job["result"]["items"]
    assert outcome["result"] == "stale" and "changed in Git" in outcome["detail"]
    assert linked.e.clone.git("ls-remote", "origin", "main").split()[0] == colleague
    linked.repo_sync()
    assert linked.state("orders", "dev") is SyncState.CONFLICT  # both changed: a person decides


def test_restoring_onto_an_ignored_workflow_is_refused(linked: Linked) -> None:
    prod_id = linked.mapping("orders", "prod").n8n_workflow_id
    linked.edit_in_n8n("prod", prod_id, set_value("prod edit"))
    linked.sync("prod")
    job = linked.apply("git_wins", scope={"environment_ids": [str(linked.e.prod_id)]})
    assert job["status"] == "succeeded", job
    [snapshot] = linked.client.get("/api/v1/snapshots", headers=linked.headers).json()["snapshots"]
    mapping_id = linked.mapping("orders", "prod").id
    ignored = linked.client.post(
        f"/api/v1/canonical/mappings/{mapping_id}/ignore", headers=linked.headers
    )
    assert ignored.status_code == 200, ignored.text
    refused = linked.client.post(
        f"/api/v1/snapshots/{snapshot['id']}/restore", headers=linked.headers
    )
    assert refused.status_code == 409 and "ignored" in refused.json()["detail"]


def test_a_deleted_mapping_is_not_planned_as_absent(linked: Linked) -> None:
    mapping_id = linked.mapping("billing", "dev").id
    deleted = linked.client.post(
        f"/api/v1/canonical/mappings/{mapping_id}/delete", headers=linked.headers
    )
    assert deleted.status_code == 200, deleted.text
    linked.edit_in_git("billing", set_value("v2"))
    linked.repo_sync()
    plan = linked.plan("git_wins", scope={"canonical_ids": [str(linked.canonical("billing").id)]})
    assert [(i["environment"], i["action"]) for i in plan_items(plan)] == [("prod", "deploy")]


def test_force_and_choices_must_name_mappings_in_scope(linked: Linked) -> None:
    for extra in ({"force": [str(uuid.uuid4())]}, {"choices": {str(uuid.uuid4()): "git"}}):
        response = linked.client.post(
            "/api/v1/canonical/reconcile",
            json={"strategy": "manual", **extra},
            headers=linked.headers,
        )
        assert response.status_code == 404, response.text
        assert "not in the plan's scope" in response.json()["detail"]


def test_an_apply_waits_for_no_sync_of_its_environment(linked: Linked) -> None:
    """A sync listing while deploys write would store what n8n held before them: the apply
    holds the environment's sync lease, and refuses to start while a sync holds it."""
    from datetime import timedelta

    from canonflow.db import leases
    from canonflow.sync.environment import sync_lease_name

    linked.edit_in_git("billing", set_value("v2"))
    linked.repo_sync()
    lease = leases.try_acquire(
        linked.e.runtime.sessions,
        name=sync_lease_name(linked.e.prod_id),
        tenant_id=linked.e.tenant_id,
        ttl=timedelta(minutes=1),
    )
    assert lease is not None
    try:
        job = linked.apply("git_wins", scope={"environment_ids": [str(linked.e.prod_id)]})
    finally:
        leases.release(lease)
    assert job["status"] == "failed" and "a sync of the environment is running" in job["error"]
    assert linked.state("billing", "prod") is SyncState.OUT_OF_DATE  # nothing written
    again = linked.apply("git_wins", scope={"environment_ids": [str(linked.e.prod_id)]})
    assert again["status"] == "succeeded", again
    assert linked.state("billing", "prod") is SyncState.IN_SYNC


def test_two_applies_never_run_at_once(linked: Linked) -> None:
    """The queue check refuses a second apply; one that raced past it (two servers) finds
    the tenant's apply lease taken and fails, writing nothing."""
    from datetime import timedelta

    from canonflow.db import leases

    linked.edit_in_git("billing", set_value("v2"))
    linked.repo_sync()
    held = leases.try_acquire(
        linked.e.runtime.sessions,
        name=f"reconcile-apply:{linked.e.tenant_id}",
        tenant_id=linked.e.tenant_id,
        ttl=timedelta(minutes=1),
    )
    assert held is not None
    try:
        job = linked.apply("git_wins")
    finally:
        leases.release(held)
    assert job["status"] == "failed" and "another apply is running" in job["error"]
    assert linked.state("billing", "prod") is SyncState.OUT_OF_DATE
