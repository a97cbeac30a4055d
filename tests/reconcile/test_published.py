"""Deploys and deletes leave each workflow running what they should, on n8n 2.x (publishing)
and 1.123 (`compat`): an active webhook workflow answers on its production URL with the
deployed version, an inactive one stays inactive, an active orphan is deleted, credentials
bind from 2.x's listing, a key that cannot publish leaves a draft (said so), an archived
target is not written. Real n8n, real Git."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import SyncState
from canonflow.db.engine import transaction
from canonflow.db.models import Environment
from tests.reconcile.conftest import Linked, set_value
from tests.reconcile.test_deploys import _push_file, _with_credential
from tests.support.n8n import is_v1, n8n_version
from tests.support.published import (
    answer_of,
    answering_workflow,
    hook_url,
    limited_key,
    wait_for_answer,
)

pytestmark = pytest.mark.compat
V1 = is_v1(n8n_version())


def _answering(value: str) -> Any:
    """A change to the answering workflow's Version node (n8n JSON and Git file alike)."""

    def change(workflow: dict[str, Any]) -> None:
        [node] = [n for n in workflow["nodes"] if n["name"] == "Version"]
        node["parameters"]["assignments"]["assignments"][0]["value"] = value

    return change


def _linked_hook(linked: Linked, slug: str = "hook") -> tuple[str, str]:
    """An active webhook workflow in prod answering "v1", in Git and linked in sync; its
    n8n id and production URL."""
    body = answering_workflow(slug.capitalize(), "v1")
    with linked.n8n("prod") as http:
        created = http.post("/workflows", json=body)
        created.raise_for_status()
        n8n_id = created.json()["id"]
        http.post(f"/workflows/{n8n_id}/activate").raise_for_status()
    url = hook_url(linked.e.prod, body)
    assert wait_for_answer(url, "v1") == "v1"
    _push_file(linked, slug, linked.get("prod", n8n_id))
    linked.repo_sync()
    linked.sync("prod")
    assert linked.state(slug, "prod") is SyncState.IN_SYNC
    return n8n_id, url


def _apply_to_prod(linked: Linked, *slugs: str, **extra: Any) -> dict[str, Any]:
    scope = {
        "canonical_ids": [str(linked.canonical(s).id) for s in slugs],
        "environment_ids": [str(linked.e.prod_id)],
    }
    return linked.apply("git_wins", scope=scope, **extra)


def test_active_runs_the_deployed_version_and_inactive_stays_inactive(linked: Linked) -> None:
    hook_id, url = _linked_hook(linked)
    linked.edit_in_git("hook", _answering("from git"))
    linked.edit_in_git("orders", set_value("from git"))
    linked.repo_sync()

    job = _apply_to_prod(linked, "hook", "orders")

    assert job["status"] == "succeeded", job
    assert job["result"]["counts"] == {"applied": 2}, job
    deployed = linked.get("prod", hook_id)
    assert deployed["active"] is True
    if not V1:
        assert deployed["activeVersionId"] == deployed["versionId"]  # published, no draft
    assert wait_for_answer(url, "from git") == "from git"  # its production URL, new version
    orders = linked.get("prod", linked.mapping("orders", "prod").n8n_workflow_id)
    assert orders["active"] is False
    for slug in ("hook", "orders"):
        assert linked.state(slug, "prod") is SyncState.IN_SYNC
    linked.sync("prod")  # n8n agrees on the next read
    for slug in ("hook", "orders"):
        assert linked.state(slug, "prod") is SyncState.IN_SYNC


def test_git_wins_deletes_an_active_orphan(linked: Linked) -> None:
    hook_id, url = _linked_hook(linked)
    clone = linked.e.clone
    clone.git("pull", "--quiet", "origin", "main")
    clone.git("rm", "--quiet", "workflows/hook.json")
    clone.commit("hook is retired")
    clone.git("push", "--quiet", "origin", "HEAD:main")
    linked.repo_sync()

    job = _apply_to_prod(linked, "hook", confirm_prune=True)

    assert job["status"] == "succeeded", job
    assert job["result"]["counts"] == {"applied": 1}, job
    with linked.n8n("prod") as http:
        assert http.get(f"/workflows/{hook_id}").status_code == 404  # deleted, not archived
    assert linked.mapping("hook", "prod").status is MappingStatus.DELETED
    assert wait_for_answer(url, None) is None


def test_credentials_bind_from_the_2x_listing(linked: Linked) -> None:
    """2.x lists credentials: one no workflow uses yet binds, and a learnt id that went
    stale (the credential was made again) gives way to the live one. 1.x learns from
    workflows only: the unused one is missing there."""
    with linked.n8n("prod") as http:
        unused = http.post(
            "/credentials",
            json={"name": "Fresh", "type": "httpBasicAuth", "data": {"user": "u", "password": "p"}},
        )
        unused.raise_for_status()
    _push_file(linked, "needs-fresh", _with_credential("Needs Fresh", {"name": "Fresh"}))
    linked.repo_sync()

    job = _apply_to_prod(linked, "needs-fresh")

    assert job["status"] == "succeeded", job
    [outcome] = job["result"]["items"]
    if V1:
        assert outcome["result"] == "blocked"
        assert "no httpBasicAuth credential 'Fresh'" in outcome["detail"]
        return
    assert outcome["result"] == "applied", outcome
    created = linked.get("prod", outcome["n8n_workflow_id"])
    [node] = [n for n in created["nodes"] if n["name"] == "HTTP Request"]
    assert node["credentials"]["httpBasicAuth"] == {"id": unused.json()["id"], "name": "Fresh"}

    with linked.n8n("prod") as http:  # "Fresh" made again: the learnt id is stale
        http.delete(f"/credentials/{unused.json()['id']}").raise_for_status()
        again = http.post(
            "/credentials",
            json={"name": "Fresh", "type": "httpBasicAuth", "data": {"user": "u", "password": "q"}},
        )
        again.raise_for_status()
    linked.sync("prod")  # the stored workflow still names the deleted id
    linked.edit_in_git("needs-fresh", set_value("again"))
    linked.repo_sync()
    job = _apply_to_prod(linked, "needs-fresh")
    assert job["result"]["counts"] == {"applied": 1}, job
    rewritten = linked.get("prod", outcome["n8n_workflow_id"])
    [node] = [n for n in rewritten["nodes"] if n["name"] == "HTTP Request"]
    assert node["credentials"]["httpBasicAuth"]["id"] == again.json()["id"]


def test_a_key_that_cannot_publish_leaves_a_draft_and_says_so(linked: Linked) -> None:
    if V1:
        pytest.skip("1.x keys carry no scopes: every key that may update may activate")
    hook_id, url = _linked_hook(linked)
    before = linked.mapping("hook", "prod")
    key = limited_key(linked.e.prod, ["workflow:read", "workflow:list", "workflow:update"])
    with transaction(linked.e.runtime.sessions) as session:
        prod = session.scalars(select(Environment).where(Environment.id == linked.e.prod_id)).one()
        prod.api_key = linked.e.runtime.secrets.seal(key)
    linked.edit_in_git("hook", _answering("from git"))
    linked.repo_sync()

    job = _apply_to_prod(linked, "hook")

    assert job["status"] == "succeeded", job
    assert job["result"]["counts"] == {"drafted": 1}, job
    [outcome] = job["result"]["items"]
    assert "saved in n8n as a draft but not published" in outcome["detail"]
    assert "still runs its previous version" in outcome["detail"]
    workflow = linked.get("prod", hook_id)
    assert workflow["active"] is True and workflow["activeVersionId"] != workflow["versionId"]
    assert wait_for_answer(url, "v1", timeout=1.0) == "v1"  # what runs did not change
    after = linked.mapping("hook", "prod")
    assert after.env_content_hash == before.env_content_hash  # it records what runs
    assert after.base_content_hash == before.base_content_hash
    assert after.n8n_draft_hash is not None  # and the draft beside it, as a sync would
    assert after.n8n_active_version_id == workflow["activeVersionId"] != workflow["versionId"]
    assert linked.state("hook", "prod") is SyncState.OUT_OF_DATE  # Git's version still due


def test_an_archived_target_is_stale_and_never_written(linked: Linked) -> None:
    if V1:
        pytest.skip("1.x cannot archive through its public API")
    hook_id, url = _linked_hook(linked)
    with linked.n8n("prod") as http:
        http.post(f"/workflows/{hook_id}/archive").raise_for_status()
    archived = linked.get("prod", hook_id)
    linked.edit_in_git("hook", _answering("from git"))
    linked.repo_sync()

    job = _apply_to_prod(linked, "hook")

    assert job["result"]["counts"] == {"stale": 1}, job
    [outcome] = job["result"]["items"]
    assert f"workflow {hook_id} is archived in n8n, so it counts as missing" in outcome["detail"]
    assert linked.get("prod", hook_id)["versionId"] == archived["versionId"]  # not written
    assert answer_of(url) is None


def test_the_environment_hash_is_what_an_active_2x_workflow_runs(linked: Linked) -> None:
    """A draft edited in n8n but not published: a deploy's re-check compares what runs."""
    if V1:
        pytest.skip("1.x has no drafts: an active workflow runs what it holds")
    hook_id, url = _linked_hook(linked)
    draft = answering_workflow("Hook", "draft", path=url.rsplit("/", 1)[1])
    current = linked.get("prod", hook_id)
    draft["nodes"] = [
        {**node, "id": old["id"]}
        for node, old in zip(draft["nodes"], current["nodes"], strict=True)
    ]
    with linked.n8n("prod") as http:
        http.put(
            f"/workflows/{hook_id}", params={"publishIfActive": "false"}, json=draft
        ).raise_for_status()
    assert wait_for_answer(url, "v1", timeout=0.5) == "v1"
    linked.sync("prod")
    assert linked.state("hook", "prod") is SyncState.DRAFT_PENDING
    linked.edit_in_git("hook", _answering("from git"))
    linked.repo_sync()

    job = _apply_to_prod(linked, "hook")  # planned on the hash of what runs: not stale

    assert job["result"]["counts"] == {"applied": 1}, job
    assert wait_for_answer(url, "from git") == "from git"
    workflow = linked.get("prod", hook_id)
    assert workflow["activeVersionId"] == workflow["versionId"]
    recorded = linked.mapping("hook", "prod")  # the deploy published: no draft is left
    assert recorded.n8n_draft_hash is None
    assert recorded.n8n_active_version_id == workflow["activeVersionId"]
    assert linked.state("hook", "prod") is SyncState.IN_SYNC


def test_a_pending_draft_equal_to_gits_version_is_published_by_the_deploy(
    linked: Linked,
) -> None:
    """Git's version saved in n8n as a draft but not published: the deploy's PUT changes
    no version, and the workflow must still end up running it."""
    if V1:
        pytest.skip("1.x has no drafts: an active workflow runs what it holds")
    hook_id, url = _linked_hook(linked)
    linked.edit_in_git("hook", _answering("from git"))
    linked.repo_sync()
    draft = linked.get("prod", hook_id)
    _answering("from git")(draft)
    body = {k: draft[k] for k in ("name", "nodes", "connections", "settings")}
    with linked.n8n("prod") as http:
        saved = http.put(f"/workflows/{hook_id}", params={"publishIfActive": "false"}, json=body)
        saved.raise_for_status()
    assert saved.json()["activeVersionId"] != saved.json()["versionId"]
    assert wait_for_answer(url, "v1", timeout=0.5) == "v1"

    job = _apply_to_prod(linked, "hook")

    assert job["result"]["counts"] == {"applied": 1}, job
    assert wait_for_answer(url, "from git") == "from git"
    workflow = linked.get("prod", hook_id)
    assert workflow["active"] is True and workflow["activeVersionId"] == workflow["versionId"]
    assert linked.state("hook", "prod") is SyncState.IN_SYNC
