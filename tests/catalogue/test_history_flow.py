"""Per-workflow history from a real sequence: onboard (real n8n prod and dev, a real bare Git
remote) -> edit in dev -> env sync -> env_wins -> repo sync -> git_wins -> ignore, unignore,
delete. After every write the stored state equals the state computed in SQL, and the
matrix summary's kept counts the full scan."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from canonflow.catalogue.states import unrecorded
from canonflow.db.engine import transaction
from canonflow.db.models import WorkflowEnvMap
from canonflow.repo.sync import PruneGuard, sync_repository
from tests.onboarding.conftest import estate  # noqa: F401 (a fixture, over the conftest's)
from tests.reconcile.conftest import (  # noqa: F401 (a fixture)
    MAX_FILE_BYTES,
    Linked,
    linked,
    set_value,
)
from tests.support.n8n_fixtures import make_workflow
from tests.support.summary_counts import assert_counts_kept

URL = "/api/v1/canonical/workflows"


def _assert_recorded(o: Linked) -> None:
    with transaction(o.e.runtime.sessions) as session:
        assert unrecorded(session, o.e.tenant_id) == []
    assert_counts_kept(o.e.runtime, o.e.tenant_id)  # and the summary's counts with them


def _history(o: Linked, slug: str, **params: Any) -> list[tuple[str, str | None, str, str]]:
    canonical = o.canonical(slug)
    response = o.client.get(f"{URL}/{canonical.id}/history", params=params, headers=o.headers)
    assert response.status_code == 200, response.text
    names = {str(o.env_id(w)): w for w in ("prod", "dev")}
    return [
        (names[i["environment_id"]], i["from_state"], i["to_state"], i["cause"])
        for i in response.json()["items"]
    ]


def test_history_of_a_real_sequence(linked: Linked) -> None:  # noqa: F811
    o = linked
    _assert_recorded(o)  # onboarding, write-back and repo sync recorded what they changed
    # the workflow's timeline starts when onboarding links its copies (untracked until
    # then, which the environment's own timeline holds); write-back and repo sync moved none
    assert sorted(_history(o, "orders")) == [
        ("dev", "untracked", "in_sync", "onboarding"),
        ("prod", "untracked", "in_sync", "onboarding"),
    ]
    before_edit = datetime.now(UTC)

    dev_id = o.mapping("orders", "dev").n8n_workflow_id
    o.edit_in_n8n("dev", dev_id, set_value("edited in dev"))
    o.sync("dev")
    _assert_recorded(o)
    assert _history(o, "orders", since=before_edit.isoformat()) == [
        ("dev", "in_sync", "drift", "env_sync")
    ]

    job = o.apply("env_wins")
    assert job["status"] == "succeeded", job
    _assert_recorded(o)
    o.repo_sync()  # reads the pushed commit back: no state moves
    _assert_recorded(o)
    after_commit = _history(o, "orders", since=before_edit.isoformat())
    assert after_commit[0] == ("dev", "in_sync", "drift", "env_sync")
    assert sorted(after_commit[1:]) == [
        ("dev", "drift", "in_sync", "commit"),
        ("prod", "in_sync", "out_of_date", "commit"),  # Git is newer than prod now
    ]

    job = o.apply("git_wins")
    assert job["status"] == "succeeded", job
    _assert_recorded(o)
    mapping = o.mapping("orders", "dev").id
    for action in ("ignore", "unignore", "delete"):
        response = o.client.post(
            f"/api/v1/canonical/mappings/{mapping}/{action}", headers=o.headers
        )
        assert response.status_code == 200, response.text
        _assert_recorded(o)
    assert _history(o, "orders", since=before_edit.isoformat())[3:] == [
        ("prod", "out_of_date", "in_sync", "deploy"),
        ("dev", "in_sync", "ignored", "ignore"),
        ("dev", "ignored", "in_sync", "unignore"),
        ("dev", "in_sync", "deleted", "delete"),
    ]
    # the untouched workflows moved not at all since the edit
    assert _history(o, "billing", since=before_edit.isoformat()) == []

    trend = o.client.get(
        "/api/v1/workflows/drift-trend", params={"days": 1}, headers=o.headers
    ).json()["items"]
    today = {i["environment_id"]: i for i in trend}
    dev = today[str(o.env_id("dev"))]
    assert (dev["opened"], dev["closed"]) == (1, 1)
    assert dev["mean_time_to_sync_s"] is not None and dev["mean_time_to_sync_s"] > 0
    assert dev["counts"] == {"in_sync": 3}  # orders' dev copy is deleted: not counted
    assert today[str(o.env_id("prod"))]["counts"] == {"in_sync": 4}

    got = o.client.get(f"{URL}/by-slug/orders", headers=o.headers).json()
    cells = {c["environment"]: c for c in got["environments"]}
    assert (cells["prod"]["state"], cells["dev"]["status"]) == ("in_sync", "deleted")
    assert cells["prod"]["active"] is False and cells["prod"]["n8n_workflow_id"]
    assert got["git_commit"] and got["definition"]["name"] == "Orders"
    assert got["events"][0]["to_status"] == "deleted"  # newest first


def test_a_manual_link_and_a_deletion_in_git_are_recorded(linked: Linked) -> None:  # noqa: F811
    o = linked
    o.e.create("dev", make_workflow("Invoices", 3))
    o.sync("dev")
    _assert_recorded(o)
    with transaction(o.e.runtime.sessions) as session:
        [mapping_id] = session.scalars(
            select(WorkflowEnvMap.id).where(
                WorkflowEnvMap.tenant_id == o.e.tenant_id,
                WorkflowEnvMap.workflow_name == "Invoices",
            )
        )
    response = o.client.post(
        "/api/v1/canonical/link",
        json={"mapping_id": str(mapping_id), "create_canonical": True},
        headers=o.headers,
    )
    assert response.status_code == 200, response.text
    _assert_recorded(o)
    # a new canonical workflow (no file yet): its Git hash is its own, so in sync at once
    assert _history(o, "invoices") == [("dev", "untracked", "in_sync", "link")]

    before = datetime.now(UTC)
    o.e.clone.git("pull", "--quiet", "origin", "main")
    o.e.clone.git("rm", "--quiet", "workflows/billing.json")
    o.e.clone.commit("billing is retired")
    o.e.clone.git("push", "--quiet", "origin", "HEAD:main")
    sync_repository(
        o.e.runtime.sessions,
        o.e.runtime.secrets,
        tenant_id=o.e.tenant_id,
        cache_root=o.e.runtime.settings.resolved_git_cache_dir,
        max_file_bytes=MAX_FILE_BYTES,
        prune_guard=PruneGuard(confirmed=True),  # 1 of 4 is past the guard's 20 %
    )
    _assert_recorded(o)
    assert sorted(_history(o, "billing", since=before.isoformat())) == [
        ("dev", "in_sync", "orphaned", "repo_sync"),
        ("prod", "in_sync", "orphaned", "repo_sync"),
    ]
    listed = o.client.get(URL, params={"state": "orphaned", "deleted": "true"}, headers=o.headers)
    assert [item["slug"] for item in listed.json()["items"]] == ["billing"]
