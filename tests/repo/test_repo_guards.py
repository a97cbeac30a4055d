"""What a repo sync must not do silently: read a changed directory as a diff, rewrite history
unannounced, delete many canonical workflows at once, keep hashes of older rules (real Git)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from canonflow.config import Settings
from canonflow.core.enums import JobStatus
from canonflow.core.hashing import HASH_VERSION, content_hash
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, SyncRun, Tenant
from canonflow.errors import Conflict
from canonflow.repo import service
from canonflow.repo.schemas import RepositoryPut
from canonflow.runtime import Runtime
from tests.cli.helpers import cli_env, run_cli
from tests.factories import bearer, make_token
from tests.repo.conftest import RepoUnderTest, principal_of


def _commit(repo: RepoUnderTest, message: str) -> str:
    head = repo.clone.commit(message)
    repo.clone.push()
    return head


def _last_synced(repo: RepoUnderTest) -> str | None:
    with transaction(repo.runtime.sessions) as session:
        return service.get_or_raise(session, repo.tenant_id).last_synced_commit


def _put(repo: RepoUnderTest, **changes: str) -> None:
    fields = {"url": repo.url, "branch": "main", "workflows_dir": "workflows"} | changes
    with transaction(repo.runtime.sessions) as session:
        service.put(
            session, repo.runtime.secrets, principal_of(repo.tenant_id), RepositoryPut(**fields)
        )


def _states(repo: RepoUnderTest) -> dict[str, tuple[str | None, bool]]:
    return {path: (row.content_hash, row.is_deleted) for path, row in repo.canonicals().items()}


def _live(repo: RepoUnderTest) -> set[str]:
    return {path for path, row in repo.canonicals().items() if not row.is_deleted}


def test_changing_the_workflows_dir_makes_the_next_sync_a_full_scan(repo: RepoUnderTest) -> None:
    repo.write_workflow("workflows/a.json", "A")
    repo.write_workflow("flows/b.json", "B")
    head = _commit(repo, "a in workflows/, b in flows/")
    assert repo.sync().mode == "full" and _live(repo) == {"workflows/a.json"}
    _put(repo)  # the same settings again: the next sync may still be a diff
    assert _last_synced(repo) == head
    _put(repo, workflows_dir="flows")
    assert _last_synced(repo) is None
    result = repo.sync(confirm_prune=True)  # a is gone from what the tree now means
    assert (result.mode, result.created, result.deleted) == ("full", 1, 1)
    assert _live(repo) == {"flows/b.json"}


def test_a_rewritten_history_is_a_warning_of_the_run(repo: RepoUnderTest) -> None:
    for name in ("a", "b", "c", "d", "e", "f"):
        repo.write_workflow(f"workflows/{name}.json", name.upper())
    old_head = _commit(repo, "six")
    repo.sync()
    repo.write_workflow("workflows/a.json", "A", nodes=5)
    repo.clone.git("add", "--all")
    new_head = repo.clone.rewrite_history()
    result = repo.sync()
    assert result.mode == "full" and result.updated == 1
    assert [(w["kind"], w["old_head"], w["new_head"]) for w in result.warnings] == [
        ("history_rewritten", old_head, new_head)
    ]
    with transaction(repo.runtime.sessions) as session:
        run = session.scalars(select(SyncRun).order_by(SyncRun.started_at.desc())).first()
        assert run is not None and run.details["warnings"] == result.warnings
    assert repo.sync().warnings == []  # the next run follows the new history


def _five_synced(repo: RepoUnderTest) -> str:
    for i in range(5):
        repo.write_workflow(f"workflows/flow-{i}.json", f"Flow {i}")
    head = _commit(repo, "five")
    repo.sync()
    return head


def test_the_prune_guard_refuses_to_delete_many_and_changes_nothing(repo: RepoUnderTest) -> None:
    before = _five_synced(repo)
    repo.clone.delete("workflows/flow-0.json")
    repo.clone.delete("workflows/flow-1.json")
    changed = repo.write_workflow("workflows/flow-2.json", "Flow 2", nodes=6)
    _commit(repo, "two gone, one changed")
    rows_before = _states(repo)
    with pytest.raises(Conflict) as refused:
        repo.sync()
    message = refused.value.message
    assert "2 of 5 canonical workflows" in message and "40%" in message
    assert "--confirm-prune" in message and '"confirm_prune": true' in message
    assert _states(repo) == rows_before and _last_synced(repo) == before
    with transaction(repo.runtime.sessions) as session:
        run = session.scalars(select(SyncRun).order_by(SyncRun.started_at.desc())).first()
        assert run is not None and run.error == message and not run.complete
    confirmed = repo.sync(confirm_prune=True)
    assert (confirmed.deleted, confirmed.updated) == (2, 1)
    assert repo.canonicals()["workflows/flow-2.json"].content_hash == content_hash(changed)


def test_the_prune_guard_lets_a_share_within_it_pass(repo: RepoUnderTest) -> None:
    _five_synced(repo)
    repo.clone.delete("workflows/flow-0.json")  # 1 of 5: 20 %, not more
    _commit(repo, "one gone")
    assert repo.sync().deleted == 1


def test_the_prune_guard_never_lets_all_go_unconfirmed(repo: RepoUnderTest) -> None:
    _five_synced(repo)
    for i in range(5):
        repo.clone.delete(f"workflows/flow-{i}.json")
    repo.write_workflow("elsewhere/a.json", "A")
    _commit(repo, "moved out of the directory")
    with pytest.raises(Conflict) as refused:
        repo.sync(guard_percent=100)
    assert "all 5 canonical workflows" in refused.value.message
    assert len(_live(repo)) == 5
    assert repo.sync(guard_percent=100, confirm_prune=True).deleted == 5


def test_a_canonical_hashed_by_older_rules_is_hashed_again(repo: RepoUnderTest) -> None:
    workflow = repo.write_workflow("workflows/a.json", "A")
    repo.write_workflow("workflows/b.json", "B")
    _commit(repo, "a and b")
    repo.sync()
    with transaction(repo.runtime.sessions) as session:
        session.execute(
            update(CanonicalWorkflow)
            .where(CanonicalWorkflow.git_file_path == "workflows/a.json")
            .values(content_hash="v0:older-rules", hash_version=0)
        )
    result = repo.sync()  # no new commit, no blob changed
    assert (result.mode, result.updated, result.unchanged) == ("full", 1, 1)
    row = repo.canonicals()["workflows/a.json"]
    assert (row.content_hash, row.hash_version) == (content_hash(workflow), HASH_VERSION)
    assert repo.sync().mode == "none"


def test_the_api_and_the_cli_confirm_a_prune(
    client: TestClient, runtime: Runtime, repo: RepoUnderTest, settings: Settings
) -> None:
    _five_synced(repo)
    for i in range(3):
        repo.clone.delete(f"workflows/flow-{i}.json")
    _commit(repo, "three gone")
    with transaction(runtime.sessions) as session:
        tenant = session.get(Tenant, repo.tenant_id)
        assert tenant is not None
        token = make_token(session, tenant)

    def run(**kwargs: object) -> dict[str, object]:
        accepted = client.post("/api/v1/canonical/sync-repo", headers=bearer(token), **kwargs)
        assert accepted.status_code == 202, accepted.text
        job_id = uuid.UUID(accepted.json()["job_id"])
        runtime.runner.wait(job_id, timeout=60)
        job: dict[str, object] = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(token)).json()
        return job

    refused = run()  # no body: not confirmed
    assert refused["status"] == JobStatus.FAILED.value
    assert "3 of 5" in str(refused["error"]) and "confirm_prune" in str(refused["error"])
    assert run(json={"confirm_prune": False})["status"] == JobStatus.FAILED.value
    bad = client.post("/api/v1/canonical/sync-repo", headers=bearer(token), json={"prune": 1})
    assert bad.status_code == 422
    env, tenant_args = cli_env(settings), ("--tenant", tenant.slug)
    unconfirmed = run_cli("sync", "repo", *tenant_args, env=env)
    assert unconfirmed.returncode != 0 and "3 of 5" in unconfirmed.stderr
    confirmed = run_cli("sync", "repo", "--confirm-prune", *tenant_args, env=env)
    assert confirmed.returncode == 0, confirmed.stderr
    assert "3 deleted" in confirmed.stdout
    for i in (3, 4):
        repo.clone.delete(f"workflows/flow-{i}.json")
    _commit(repo, "the rest gone")
    done = run(json={"confirm_prune": True})
    assert done["status"] == JobStatus.SUCCEEDED.value, done
    assert isinstance(done["result"], dict) and done["result"]["deleted"] == 2
    assert _live(repo) == set()
