"""`PUT /api/v1/repository` under the egress policy (the repository URL and the forge's
api_url), local repositories, canonflow's own data, and secrets that follow their host."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from canonflow.config import Mode, Settings
from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import GitRepository, Tenant
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token
from tests.support.git_remotes import make_bare_remote

GIT_TOKEN = "git-token-entered-for-git.example"
FORGE_TOKEN = "forge-token-entered-for-git.example"


@pytest.fixture
def admin(runtime: Runtime) -> str:
    with transaction(runtime.sessions) as session:
        return make_token(session, make_tenant(session, slug="acme"))


def _put(client: TestClient, admin: str, url: str, **more: Any) -> Any:
    return client.put("/api/v1/repository", json={"url": url} | more, headers=bearer(admin))


def _stored(runtime: Runtime) -> tuple[str, str | None, str | None, str | None]:
    """(url, Git auth as stored, forge api_url, forge token)."""
    with transaction(runtime.sessions) as session:
        row = session.query(GitRepository).one()
        auth = runtime.secrets.open(row.auth_secret) if row.auth_secret else None
        token = runtime.secrets.open(row.forge_token) if row.forge_token else None
        return row.url, auth, row.forge_api_url, token


def _production(database_url: str, tmp_path: Path, **more: Any) -> Settings:
    return Settings(
        mode=Mode.PRODUCTION,
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key=Fernet.generate_key().decode(),
        log_level="WARNING",
        **more,
    )


class TestProductionMode:
    @pytest.fixture
    def settings(self, database_url: str, tmp_path: Path) -> Settings:
        return _production(database_url, tmp_path)

    @pytest.mark.parametrize(
        ("url", "says"),
        [
            ("/srv/git/workflows.git", "CANONFLOW_ALLOW_LOCAL_REPOSITORIES=true"),
            ("file:///srv/git/workflows.git", "CANONFLOW_ALLOW_LOCAL_REPOSITORIES=true"),
            ("git://127.0.0.1/workflows.git", "CANONFLOW_ALLOWED_NETWORKS=127.0.0.0/8"),
            ("ssh://git@10.2.3.4/team/workflows.git", "CANONFLOW_ALLOWED_NETWORKS=10.0.0.0/8"),
            ("https://localhost/team/workflows.git", "CANONFLOW_ALLOWED_HOSTS=localhost"),
            ("http://[fd00:ec2::254]/x.git", "a cloud metadata address"),
        ],
    )
    def test_a_refused_repository_url_is_a_422_naming_the_setting(
        self, client: TestClient, admin: str, url: str, says: str
    ) -> None:
        response = _put(client, admin, url)
        assert response.status_code == 422, response.text
        assert response.json()["detail"].startswith("url: ")
        assert says in response.json()["detail"]
        assert client.get("/api/v1/repository", headers=bearer(admin)).status_code == 404

    def test_a_refused_forge_api_url_is_a_422(self, client: TestClient, admin: str) -> None:
        forge = {"provider": "gitea", "api_url": "http://172.20.0.3:3000/api/v1"}
        response = _put(client, admin, "https://93.184.215.14/team/w.git", forge=forge)
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert detail.startswith("forge.api_url: ")
        assert "CANONFLOW_ALLOWED_NETWORKS=172.16.0.0/12" in detail

    def test_a_stored_url_refused_at_connect_time_fails_the_job_readably(
        self, client: TestClient, admin: str, runtime: Runtime
    ) -> None:
        with transaction(runtime.sessions) as session:  # stored before production mode
            tenant = session.query(Tenant).filter_by(slug="acme").one()
            session.add(GitRepository(tenant_id=tenant.id, url="git://127.0.0.1:9/w.git"))
        accepted = client.post("/api/v1/canonical/sync-repo", headers=bearer(admin))
        job_id = uuid.UUID(accepted.json()["job_id"])
        runtime.runner.wait(job_id, timeout=60)
        job = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(admin)).json()
        assert job["status"] == JobStatus.FAILED.value
        assert "127.0.0.1 is a loopback address" in job["error"]
        assert "CANONFLOW_ALLOWED_NETWORKS=127.0.0.0/8" in job["error"]


class TestLocalRepositoriesAllowed:
    @pytest.fixture
    def settings(self, database_url: str, tmp_path: Path) -> Settings:
        return _production(database_url, tmp_path, allow_local_repositories=True)

    def test_a_local_repository_is_accepted(
        self, client: TestClient, admin: str, tmp_path: Path
    ) -> None:
        remote = make_bare_remote(tmp_path / "remotes")
        assert _put(client, admin, str(remote)).status_code == 200
        assert _put(client, admin, remote.as_uri()).status_code == 200


def test_a_repository_inside_canonflows_data_is_refused_in_every_mode(
    client: TestClient, admin: str, runtime: Runtime, tmp_path: Path
) -> None:
    cache_root = runtime.settings.resolved_git_cache_dir
    other_tenant = make_bare_remote(cache_root, str(uuid.uuid4()))
    linked = tmp_path / "looks-harmless.git"
    linked.symlink_to(other_tenant)
    for url in (
        str(other_tenant),
        other_tenant.as_uri(),
        str(linked),
        str(runtime.settings.data_dir.resolve() / "canonflow.db"),
        f"{tmp_path}/elsewhere/../data/git-cache/{uuid.uuid4()}",
    ):
        response = _put(client, admin, url)
        assert response.status_code == 422, (url, response.text)
        assert "canonflow's own data" in response.json()["detail"]


def test_a_new_git_host_without_auth_is_a_422_and_keeps_the_secret(
    client: TestClient, admin: str, runtime: Runtime
) -> None:
    first = "https://git.example/team/workflows.git"
    assert _put(client, admin, first, auth={"token": GIT_TOKEN}).status_code == 200
    for moved in (
        "https://elsewhere.example/team/workflows.git",
        "http://git.example/team/workflows.git",
        "https://git.example:8443/team/workflows.git",
        "ssh://git@git.example/team/workflows.git",
    ):
        response = _put(client, admin, moved)
        assert response.status_code == 422, (moved, response.text)
        assert "send auth with the new url" in response.json()["detail"]
        url, auth, _, _ = _stored(runtime)
        assert url == first and auth is not None and GIT_TOKEN in auth
    same_host = "https://GIT.example:443/team/renamed.git"
    assert _put(client, admin, same_host).status_code == 200
    assert GIT_TOKEN in (_stored(runtime)[1] or "")
    moved = "https://elsewhere.example/team/workflows.git"
    assert _put(client, admin, moved, auth={"token": "new-token"}).status_code == 200
    assert "new-token" in (_stored(runtime)[1] or "")


def test_a_new_git_host_without_a_stored_secret_needs_nothing(
    client: TestClient, admin: str
) -> None:
    assert _put(client, admin, "https://git.example/team/w.git").status_code == 200
    assert _put(client, admin, "https://elsewhere.example/team/w.git").status_code == 200


def test_a_new_forge_host_without_its_token_is_a_422_and_keeps_the_token(
    client: TestClient, admin: str, runtime: Runtime
) -> None:
    url = "https://git.example/team/workflows.git"
    forge = {"provider": "gitea", "api_url": "https://git.example/api/v1", "token": FORGE_TOKEN}
    assert _put(client, admin, url, forge=forge).status_code == 200
    moved = {"provider": "gitea", "api_url": "https://forge.elsewhere.example/api/v1"}
    response = _put(client, admin, url, forge=moved)
    assert response.status_code == 422, response.text
    assert "send forge.token with the new forge.api_url" in response.json()["detail"]
    assert _stored(runtime)[2:] == ("https://git.example/api/v1", FORGE_TOKEN)
    same_host = {"provider": "gitea", "api_url": "https://git.example/gitea/api/v1"}
    assert _put(client, admin, url, forge=same_host).status_code == 200
    assert _stored(runtime)[3] == FORGE_TOKEN
    with_token = moved | {"token": "token-for-elsewhere"}
    assert _put(client, admin, url, forge=with_token).status_code == 200
    assert _stored(runtime)[2:] == ("https://forge.elsewhere.example/api/v1", "token-for-elsewhere")


def test_the_git_token_standing_in_for_the_forge_token_follows_its_host_too(
    client: TestClient, admin: str, runtime: Runtime
) -> None:
    url = "https://git.example/team/workflows.git"
    forge = {"provider": "gitea", "api_url": "https://git.example/api/v1"}
    assert _put(client, admin, url, auth={"token": GIT_TOKEN}, forge=forge).status_code == 200
    moved = {"provider": "gitea", "api_url": "https://forge.elsewhere.example/api/v1"}
    response = _put(client, admin, url, forge=moved)
    assert response.status_code == 422, response.text
    assert "send forge.token with the new forge.api_url" in response.json()["detail"]
    assert _stored(runtime)[2] == "https://git.example/api/v1"
