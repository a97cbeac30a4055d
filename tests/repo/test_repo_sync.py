"""Repo sync against real Git repositories, over file:// and git:// (git daemon)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from canonflow.core.hashing import content_hash
from canonflow.core.status import MappingStatus
from canonflow.db import leases
from canonflow.db.engine import transaction
from canonflow.db.models import Environment, WorkflowEnvMap
from canonflow.errors import Conflict
from canonflow.repo import canonicals
from tests.repo.conftest import MAX_BYTES, RepoUnderTest


def test_first_sync_is_a_full_scan(repo: RepoUnderTest) -> None:
    written = {
        f"workflows/flow-{i}.json": repo.write_workflow(f"workflows/flow-{i}.json", f"Flow {i}")
        for i in range(5)
    }
    repo.clone.write("README.md", "not a workflow, not in the directory")
    head = repo.clone.commit("five workflows")
    repo.clone.push()
    result = repo.sync()
    assert (result.mode, result.commit, result.created, result.skipped) == ("full", head, 5, [])
    rows = repo.canonicals()
    assert set(rows) == set(written)
    for path, workflow in written.items():
        row = rows[path]
        assert row.canonical_slug == path.split("/")[1].removesuffix(".json")
        assert row.name == workflow["name"] and row.git_commit == head
        assert row.content_hash == content_hash(workflow) and not row.is_deleted
        assert row.workflow_definition == workflow  # stored as read, through the hash step


def test_a_sync_with_no_new_commit_changes_nothing(repo: RepoUnderTest) -> None:
    repo.write_workflow("workflows/a.json", "A")
    repo.clone.commit("a")
    repo.clone.push()
    repo.sync()
    before = {path: row.updated_at for path, row in repo.canonicals().items()}
    again = repo.sync()
    assert (again.mode, again.created, again.updated) == ("none", 0, 0)
    assert {path: row.updated_at for path, row in repo.canonicals().items()} == before


def test_later_commits_apply_only_the_diff(repo: RepoUnderTest) -> None:
    for name in ("keep", "change", "drop", "move"):
        repo.write_workflow(f"workflows/{name}.json", name.title())
    repo.clone.commit("four")
    repo.clone.push()
    repo.sync()
    ids = {path: row.id for path, row in repo.canonicals().items()}
    _link_a_mapping(repo, ids["workflows/change.json"])

    changed = repo.write_workflow("workflows/change.json", "Change", nodes=7)
    repo.clone.delete("workflows/drop.json")
    repo.clone.rename("workflows/move.json", "workflows/moved.json")
    added = repo.write_workflow("workflows/new.json", "New")
    head = repo.clone.commit("change, drop, move, add")
    repo.clone.push()
    result = repo.sync(confirm_prune=True)  # 1 of 4 dropped: more than the guard's 20 %
    assert result.mode == "diff"
    assert (result.created, result.updated, result.renamed, result.deleted) == (1, 1, 1, 1)
    rows = repo.canonicals()
    assert rows["workflows/moved.json"].id == ids["workflows/move.json"]
    assert rows["workflows/moved.json"].canonical_slug == "moved"
    assert rows["workflows/drop.json"].is_deleted
    assert rows["workflows/change.json"].content_hash == content_hash(changed)
    assert rows["workflows/new.json"].content_hash == content_hash(added)
    assert rows["workflows/keep.json"].git_commit != head  # untouched rows keep their commit
    with transaction(repo.runtime.sessions) as session:
        mapping = session.scalars(select(WorkflowEnvMap)).one()
    assert mapping.git_content_hash == content_hash(changed)


def test_a_rewritten_history_is_rescanned_in_full(repo: RepoUnderTest) -> None:
    repo.write_workflow("workflows/a.json", "A")
    repo.write_workflow("workflows/b.json", "B")
    repo.clone.commit("a and b")
    repo.clone.push()
    repo.sync()
    repo.clone.delete("workflows/b.json")
    c = repo.write_workflow("workflows/c.json", "C")
    repo.clone.git("add", "--all")
    repo.clone.rewrite_history()  # amend the last commit and force-push
    result = repo.sync(confirm_prune=True)  # 1 of 2 dropped: more than the guard's 20 %
    assert result.mode == "full"
    rows = repo.canonicals()
    assert rows["workflows/b.json"].is_deleted
    assert rows["workflows/c.json"].content_hash == content_hash(c)
    assert not rows["workflows/a.json"].is_deleted


@pytest.mark.parametrize("pool", [False, True], ids=["inline", "process-pool"])
def test_bad_files_are_reported_and_the_rest_syncs(
    repo: RepoUnderTest, pool: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if pool:  # hash in spawned worker processes, as a large repository does
        monkeypatch.setattr(canonicals, "POOL_MIN_FILES", 1)
        monkeypatch.setattr(canonicals, "READ_CHUNK", 8)
    for i in range(50):
        repo.write_workflow(f"workflows/good-{i:02d}.json", f"Good {i}")
    repo.clone.write("workflows/broken.json", '{"nodes": [')
    repo.clone.write("workflows/package.json", json.dumps({"name": "left-pad", "version": "1"}))
    big = {"name": "Big", "nodes": [], "connections": {}, "padding": "x" * (MAX_BYTES + 1)}
    repo.clone.write("workflows/big.json", json.dumps(big))
    repo.write_workflow("workflows/same-slug.json", "First")
    repo.write_workflow("workflows/Same Slug.json", "Second")
    repo.clone.commit("good and bad")
    repo.clone.push()
    result = repo.sync()
    reasons = {item["path"]: item["reason"] for item in result.skipped}
    assert set(reasons) == {
        "workflows/broken.json",
        "workflows/package.json",
        "workflows/big.json",
        "workflows/Same Slug.json",
    }
    assert reasons["workflows/broken.json"].startswith("not valid JSON")
    assert reasons["workflows/package.json"].startswith("not an n8n workflow")
    assert "size limit" in reasons["workflows/big.json"]
    assert "same-slug" in reasons["workflows/Same Slug.json"]
    rows = repo.canonicals()
    assert len(rows) == 51 and "workflows/same-slug.json" in rows
    assert result.created == 51


def _link_a_mapping(repo: RepoUnderTest, canonical_id: object) -> None:
    with transaction(repo.runtime.sessions) as session:
        env = Environment(
            tenant_id=repo.tenant_id,
            name="dev",
            base_url="http://x",
            api_key=repo.runtime.secrets.seal("k"),
        )
        session.add(env)
        session.flush()
        session.add(
            WorkflowEnvMap(
                tenant_id=repo.tenant_id,
                environment_id=env.id,
                n8n_workflow_id="n1",
                canonical_id=canonical_id,
                status=MappingStatus.LINKED,
            )
        )


def test_one_repo_sync_at_a_time_per_tenant(repo: RepoUnderTest) -> None:
    repo.write_workflow("workflows/a.json", "A")
    repo.clone.commit("a")
    repo.clone.push()
    held = leases.try_acquire(
        repo.runtime.sessions,
        name=f"repo-sync:{repo.tenant_id}",
        tenant_id=repo.tenant_id,
        ttl=timedelta(minutes=5),
    )
    assert held is not None  # another process's run
    with pytest.raises(Conflict, match="already running"):
        repo.sync()
    assert repo.canonicals() == {}
    leases.release(held)
    assert repo.sync().created == 1
