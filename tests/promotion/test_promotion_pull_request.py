"""Promotion with `commit_mode: pull_request`: the job commits on a branch, opens the pull
request (the forge is the local stand-in of `tests.support.forge_server`: no hosted forge
can run here) and the promotion waits; a repo sync that sees the merge continues it (the
deploy), one that sees it closed unmerged cancels it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from canonflow.core.enums import CommitMode, ForgeProvider
from canonflow.db.engine import transaction
from canonflow.repo import service as repositories
from canonflow.repo.schemas import ForgeSettings, RepositoryPut
from tests.promotion.conftest import Promoting
from tests.reconcile.conftest import set_value
from tests.support.forge_server import FakeForge


@pytest.fixture
def forge(promoting: Promoting) -> Iterator[FakeForge]:
    e = promoting.linked.e
    with FakeForge(ForgeProvider.GITEA) as fake:
        with transaction(e.runtime.sessions) as session:
            repositories.put(
                session,
                e.runtime.secrets,
                e.principal,
                RepositoryPut(
                    url=e.remote_url,
                    branch="main",
                    commit_mode=CommitMode.PULL_REQUEST,
                    forge=ForgeSettings(
                        provider=fake.provider,
                        api_url=fake.api_url,
                        repository="team/workflows",
                        token=fake.token,
                    ),
                ),
            )
        yield fake


def _value(workflow: dict[str, Any]) -> Any:
    [node] = [n for n in workflow["nodes"] if n["name"] == "Set"]
    return node["parameters"]["assignments"]["assignments"][0]["value"]


def _start_waiting(p: Promoting, forge: FakeForge) -> dict[str, Any]:
    linked = p.linked
    dev_id = linked.mapping("orders", "dev").n8n_workflow_id
    linked.edit_in_n8n("dev", dev_id, set_value("reviewed"))
    linked.sync("dev")
    assert p.dry_run("dev", "prod", all_changed=True)["commit_mode"] == "pull_request"
    accepted = p.start("dev", "prod", all_changed=True)
    job = linked.wait(accepted["job_id"])
    assert job["status"] == "succeeded", job
    [post] = [r for r in forge.requests if r["method"] == "POST"]
    assert post["json"]["head"].startswith("canonflow/promote-")
    pr_url = job["result"]["pr_url"]
    assert pr_url and job["result"]["message"] == f"waiting for merge: {pr_url}"
    assert job["result"]["state"] == "waiting_for_merge"
    promotion = p.promotion(accepted["promotion_id"])
    assert promotion["state"] == "waiting_for_merge" and promotion["pr_url"] == pr_url
    assert promotion["pr_number"] == 1 and promotion["branch"] == post["json"]["head"]
    return promotion


def _repo_sync_job(p: Promoting) -> dict[str, Any]:
    linked = p.linked
    response = linked.client.post("/api/v1/canonical/sync-repo", headers=linked.headers)
    assert response.status_code == 202, response.text
    job = linked.wait(response.json()["job_id"])
    assert job["status"] == "succeeded", job
    return job


def test_the_merge_continues_the_promotion(promoting: Promoting, forge: FakeForge) -> None:
    p, linked = promoting, promoting.linked
    prod_id = linked.mapping("orders", "prod").n8n_workflow_id
    before = _value(linked.get("prod", prod_id))
    promotion = _start_waiting(p, forge)
    assert _value(linked.get("prod", prod_id)) == before  # nothing deployed yet

    _repo_sync_job(p)  # not merged yet: it still waits
    assert p.promotion(promotion["id"])["state"] == "waiting_for_merge"

    clone = linked.e.clone
    clone.git("fetch", "--quiet", "origin")
    clone.git("pull", "--quiet", "origin", "main")
    clone.git("merge", "--quiet", "--no-ff", "-m", "merge", f"origin/{promotion['branch']}")
    clone.git("push", "--quiet", "origin", "HEAD:main")
    forge.merge(1)
    sync = _repo_sync_job(p)
    assert sync["result"]["promotions"]["deploying"] == [promotion["id"]], sync["result"]

    continued = p.promotion(promotion["id"])
    assert len(continued["job_ids"]) == 2
    deploy = linked.wait(continued["job_ids"][1])
    assert deploy["status"] == "succeeded" and deploy["result"]["state"] == "succeeded", deploy
    assert p.promotion(promotion["id"])["state"] == "succeeded"
    assert _value(linked.get("prod", prod_id)) == "reviewed"
    assert _value(linked.git_file("orders")) == "reviewed"


def test_a_pull_request_closed_unmerged_cancels_it(promoting: Promoting, forge: FakeForge) -> None:
    p, linked = promoting, promoting.linked
    prod_before = linked.mapping("orders", "prod").env_content_hash
    promotion = _start_waiting(p, forge)
    forge.close_pr(1)
    sync = _repo_sync_job(p)
    assert sync["result"]["promotions"]["cancelled"] == [promotion["id"]], sync["result"]
    cancelled = p.promotion(promotion["id"])
    assert cancelled["state"] == "cancelled" and cancelled["finished_at"] is not None
    assert "closed unmerged" in cancelled["detail"]
    assert len(cancelled["job_ids"]) == 1  # no deploy
    linked.sync("prod")
    assert linked.mapping("orders", "prod").env_content_hash == prod_before
    assert _value(linked.git_file("orders")) != "reviewed"


def test_a_target_edited_while_waiting_is_not_overwritten(
    promoting: Promoting, forge: FakeForge
) -> None:
    """The deploy phase re-checks the target: edited in prod while the pull request waited,
    the item is stale and prod keeps its edit."""
    p, linked = promoting, promoting.linked
    promotion = _start_waiting(p, forge)
    prod_id = linked.mapping("orders", "prod").n8n_workflow_id
    linked.edit_in_n8n("prod", prod_id, set_value("hotfix in prod"))
    clone = linked.e.clone
    clone.git("fetch", "--quiet", "origin")
    clone.git("pull", "--quiet", "origin", "main")
    clone.git("merge", "--quiet", "--no-ff", "-m", "merge", f"origin/{promotion['branch']}")
    clone.git("push", "--quiet", "origin", "HEAD:main")
    forge.merge(1)
    _repo_sync_job(p)
    deploy = linked.wait(p.promotion(promotion["id"])["job_ids"][1])
    assert deploy["status"] == "succeeded", deploy
    ended = p.promotion(promotion["id"])
    assert ended["state"] == "failed", ended
    [outcome] = ended["results"]["deploy"].values()
    assert outcome["result"] == "stale" and "changed in n8n since the plan" in outcome["detail"]
    assert _value(linked.get("prod", prod_id)) == "hotfix in prod"
