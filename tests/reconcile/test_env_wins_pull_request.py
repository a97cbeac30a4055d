"""env_wins with `commit_mode: pull_request`: the edit goes to a branch with a pull request
(the forge is the local stand-in of `tests.support.forge_server`: no hosted forge can run
here); the canonical workflow changes only once the merge is synced."""

from __future__ import annotations

from canonflow.core.enums import CommitMode, ForgeProvider
from canonflow.core.sync_state import SyncState
from canonflow.db.engine import transaction
from canonflow.repo import service as repositories
from canonflow.repo.schemas import ForgeSettings, RepositoryPut
from tests.reconcile.conftest import Linked, set_value
from tests.support.forge_server import FakeForge


def test_env_wins_opens_a_pull_request_and_the_merge_makes_it_canonical(linked: Linked) -> None:
    e = linked.e
    with FakeForge(ForgeProvider.GITEA) as forge:
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
                        provider=forge.provider,
                        api_url=forge.api_url,
                        repository="team/workflows",
                        token=forge.token,
                    ),
                ),
            )
        dev_id = linked.mapping("orders", "dev").n8n_workflow_id
        linked.edit_in_n8n("dev", dev_id, set_value("proposed from dev"))
        linked.sync("dev")
        before = linked.canonical("orders").content_hash

        job = linked.apply("env_wins")
        assert job["status"] == "succeeded", job
        [outcome] = job["result"]["items"]
        assert outcome["result"] == "proposed", outcome
        assert (
            "pull request" in outcome["detail"]
            and forge.api_url.split("/api")[0] in outcome["detail"]
        )
        [post] = [r for r in forge.requests if r["method"] == "POST"]
        branch = post["json"]["head"]
        assert branch.startswith("canonflow/reconcile-") and post["json"]["base"] == "main"
        assert linked.canonical("orders").content_hash == before  # not canonical yet
        assert linked.state("orders", "dev") is SyncState.DRIFT

        clone = e.clone
        clone.git("fetch", "--quiet", "origin")
        clone.git("pull", "--quiet", "origin", "main")
        clone.git("merge", "--quiet", "--no-ff", "-m", "merge the proposal", f"origin/{branch}")
        clone.git("push", "--quiet", "origin", "HEAD:main")
        forge.merge(1)
    linked.repo_sync()
    assert (
        linked.canonical("orders").content_hash == linked.mapping("orders", "dev").env_content_hash
    )
    assert linked.state("orders", "dev") is SyncState.IN_SYNC  # the sync saw both sides equal
    assert linked.state("orders", "prod") is SyncState.OUT_OF_DATE
