"""Repo sync edges: unreachable remotes, round trips through write-back, API and CLI."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from canonflow.config import Settings
from canonflow.core.enums import JobStatus, Role
from canonflow.core.git_layout import render_workflow_file
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow
from canonflow.errors import Unavailable
from canonflow.repo import service
from canonflow.repo.schemas import RepositoryAuth, RepositoryPut
from canonflow.repo.writeback import write_back
from canonflow.runtime import Runtime
from tests.cli.helpers import cli_env, run_cli
from tests.factories import bearer, make_tenant, make_token
from tests.repo.conftest import RepoUnderTest, principal_of
from tests.support.git_remotes import GitHttpServer, WorkingClone, make_bare_remote
from tests.support.n8n_fixtures import make_workflow
from tests.support.postgres import free_port


@pytest.mark.parametrize(
    "url", ["git://127.0.0.1:{port}/nothing.git", "file:///nonexistent/canonflow/repo.git"]
)
def test_an_unreachable_remote_is_one_clear_error_and_changes_nothing(
    runtime: Runtime, tmp_path: Path, url: str
) -> None:
    url = url.format(port=free_port())
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        service.put(session, runtime.secrets, principal_of(tenant.id), RepositoryPut(url=url))
    repo = RepoUnderTest(runtime, tenant.id, url, None, tmp_path / "cache")  # type: ignore[arg-type]
    with pytest.raises(Unavailable) as caught:
        repo.sync()
    assert caught.value.message.startswith(f"repository {url}: ")
    assert "\n" not in caught.value.message
    assert repo.canonicals() == {}
    with transaction(runtime.sessions) as session:
        stored = service.get_or_raise(session, tenant.id)
        assert stored.last_synced_commit is None


def test_write_back_then_sync_gives_identical_hashes(repo: RepoUnderTest, tmp_path: Path) -> None:
    for i in range(3):
        repo.write_workflow(f"workflows/w{i}.json", f"W{i}", nodes=4 + i)
    repo.clone.commit("three")
    repo.clone.push()
    repo.sync()
    before = {path: row.content_hash for path, row in repo.canonicals().items()}
    ids = [row.id for row in repo.canonicals().values()]
    result = write_back(
        repo.runtime.sessions,
        repo.runtime.secrets,
        tenant_id=repo.tenant_id,
        cache_root=repo.cache_root,
        canonical_ids=ids,
        branch="main",
        message="canonflow: normalise workflow files",
    )
    assert sorted(result.files) == sorted(before)
    synced = repo.sync()
    assert synced.mode == "diff" and synced.commit == result.commit
    assert {path: row.content_hash for path, row in repo.canonicals().items()} == before
    fresh = WorkingClone(repo.url, tmp_path / "check")
    for path, row in repo.canonicals().items():
        assert (fresh.directory / path).read_bytes() == render_workflow_file(
            row.workflow_definition
        )


def test_write_back_on_a_new_branch_leaves_main_alone(repo: RepoUnderTest, tmp_path: Path) -> None:
    repo.write_workflow("workflows/a.json", "A")
    main_head = repo.clone.commit("a")
    repo.clone.push()
    repo.sync()
    ids = [row.id for row in repo.canonicals().values()]
    result = write_back(
        repo.runtime.sessions,
        repo.runtime.secrets,
        tenant_id=repo.tenant_id,
        cache_root=repo.cache_root,
        canonical_ids=ids,
        branch="canonflow/onboarding-1",
        message="canonflow: onboarding",
    )
    assert result.commit != main_head
    assert repo.sync().mode == "none"  # main did not move
    with transaction(repo.runtime.sessions) as session:  # a later change to the same branch
        row = session.get(CanonicalWorkflow, ids[0])
        assert row is not None
        row.workflow_definition = row.workflow_definition | {"name": "A, renamed"}
    again = write_back(
        repo.runtime.sessions,
        repo.runtime.secrets,
        tenant_id=repo.tenant_id,
        cache_root=repo.cache_root,
        canonical_ids=ids,
        branch="canonflow/onboarding-1",
        message="canonflow: onboarding, again",
    )
    assert again.commit != result.commit  # built on the branch, not refused as a conflict


def test_api_configures_and_syncs_the_repository(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    remote = make_bare_remote(tmp_path / "remotes")
    clone = WorkingClone(f"file://{remote}", tmp_path / "work")
    clone.write("workflows/a.json", render_workflow_file(_workflow("A")).decode())
    clone.commit("a")
    clone.push()
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        admin, viewer = make_token(session, tenant), make_token(session, tenant, role=Role.VIEWER)
    body = {"url": f"file://{remote}", "auth": {"token": "s3cret-token"}}
    assert client.put("/api/v1/repository", json=body, headers=bearer(viewer)).status_code == 403
    put = client.put("/api/v1/repository", json=body, headers=bearer(admin))
    assert put.status_code == 200 and "s3cret-token" not in put.text
    assert put.json()["has_credentials"] is True
    shown = client.get("/api/v1/repository", headers=bearer(viewer)).json()
    assert shown["branch"] == "main" and shown["workflows_dir"] == "workflows"
    bad = client.put(
        "/api/v1/repository", json={"url": "https://user:pw@host/x.git"}, headers=bearer(admin)
    )
    assert bad.status_code == 422 and "credentials" in bad.json()["detail"]
    checked = client.post("/api/v1/repository/test", headers=bearer(admin)).json()
    assert checked["ok"] is True and checked["head"]
    accepted = client.post("/api/v1/canonical/sync-repo", headers=bearer(admin))
    assert accepted.status_code == 202
    job_id = uuid.UUID(accepted.json()["job_id"])
    runtime.runner.wait(job_id, timeout=60)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(admin)).json()
    assert job["status"] == JobStatus.SUCCEEDED.value, job
    assert job["result"]["created"] == 1 and job["result"]["mode"] == "full"


def test_api_without_a_repository_is_a_404_problem(client: TestClient, runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        token = make_token(session, make_tenant(session))
    response = client.post("/api/v1/canonical/sync-repo", headers=bearer(token))
    assert response.status_code == 404
    assert "no Git repository is configured" in response.json()["detail"]


def test_cli_sets_shows_tests_and_syncs(settings: Settings, tmp_path: Path) -> None:
    remote = make_bare_remote(tmp_path / "remotes")
    clone = WorkingClone(f"file://{remote}", tmp_path / "work")
    clone.write("workflows/a.json", render_workflow_file(_workflow("A")).decode())
    clone.write("workflows/bad.json", "{")
    clone.commit("a")
    clone.push()
    env = cli_env(settings)
    assert run_cli("tenant", "create", "acme", env=env).returncode == 0
    t = ("--tenant", "acme")
    assert run_cli("repo", "set", f"file://{remote}", *t, env=env).returncode == 0
    shown = run_cli("repo", "show", *t, env=env)
    assert "branch: main" in shown.stdout and "credentials: none" in shown.stdout
    assert run_cli("repo", "test", *t, env=env).returncode == 0
    synced = run_cli("sync", "repo", *t, env=env)
    assert synced.returncode == 0, synced.stderr
    assert "(full): 2 files, 1 new" in synced.stdout
    assert "skipped workflows/bad.json: not valid JSON" in synced.stdout
    missing = run_cli("repo", "set", "ftp://x", *t, env=env)
    assert missing.returncode == 2 and missing.stderr.startswith("error: url:")


def _workflow(name: str) -> dict[str, object]:
    return make_workflow(name)


def test_a_wrong_token_is_one_clear_error_and_changes_nothing(
    runtime: Runtime, tmp_path: Path
) -> None:
    """Over real HTTP (git http-backend with token auth on loopback)."""
    remote = make_bare_remote(tmp_path / "remotes")
    seed = WorkingClone(f"file://{remote}", tmp_path / "seed")
    seed.write("workflows/a.json", render_workflow_file(make_workflow("A")).decode())
    seed.commit("a")
    seed.push()
    with GitHttpServer(remote.parent, token="the-right-token") as server:
        url = server.url(remote.name)
        with transaction(runtime.sessions) as session:
            tenant = make_tenant(session)
            service.put(
                session,
                runtime.secrets,
                principal_of(tenant.id),
                RepositoryPut(url=url, auth=RepositoryAuth(token="a-wrong-token")),
            )
        repo = RepoUnderTest(runtime, tenant.id, url, seed, tmp_path / "cache")
        with pytest.raises(Unavailable) as caught:
            repo.sync()
        message = caught.value.message
        assert message.startswith(f"repository {url}: ") and "\n" not in message
        assert "a-wrong-token" not in message and "the-right-token" not in message
        assert repo.canonicals() == {}
        with transaction(runtime.sessions) as session:
            service.put(
                session,
                runtime.secrets,
                principal_of(tenant.id),
                RepositoryPut(url=url, auth=RepositoryAuth(token="the-right-token")),
            )
        assert repo.sync().created == 1
