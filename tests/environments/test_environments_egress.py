"""`/api/v1/environments` under the egress policy (a refused base_url is a 422 naming the
setting to change) and secrets that follow their host (a new origin wants the API key)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from canonflow.config import Mode, Settings
from canonflow.core.enums import JobStatus, Role
from canonflow.db.engine import transaction
from canonflow.db.models import Environment, Tenant
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token

KEY = "n8n-key-entered-for-the-first-host"


@pytest.fixture
def admin(runtime: Runtime) -> str:
    with transaction(runtime.sessions) as session:
        return make_token(session, make_tenant(session, slug="acme"), role=Role.ADMIN)


def _create(client: TestClient, admin: str, base_url: str, **more: Any) -> Any:
    body = {"name": "prod", "base_url": base_url, "api_key": KEY} | more
    return client.post("/api/v1/environments", json=body, headers=bearer(admin))


def _stored_key(runtime: Runtime) -> tuple[str, str]:
    with transaction(runtime.sessions) as session:
        environment = session.query(Environment).one()
        return environment.base_url, runtime.secrets.open(environment.api_key)


def _production(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        mode=Mode.PRODUCTION,
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key=Fernet.generate_key().decode(),
        log_level="WARNING",
    )


class TestProductionMode:
    @pytest.fixture
    def settings(self, database_url: str, tmp_path: Path) -> Settings:
        return _production(database_url, tmp_path)

    @pytest.mark.parametrize(
        ("base_url", "says"),
        [
            ("http://127.0.0.1:5678", "127.0.0.1 is a loopback address; allow it with "
             "CANONFLOW_ALLOWED_NETWORKS=127.0.0.0/8"),
            ("http://localhost:5678", "localhost resolves to 127.0.0.1, a loopback address; "
             "allow it with CANONFLOW_ALLOWED_NETWORKS=127.0.0.0/8 or "
             "CANONFLOW_ALLOWED_HOSTS=localhost"),
            ("https://10.0.0.5", "10.0.0.5 is a private address; allow it with "
             "CANONFLOW_ALLOWED_NETWORKS=10.0.0.0/8"),
            ("http://[::ffff:192.168.1.4]:5678", "a private address"),
            ("http://169.254.169.254", "a cloud metadata address"),
            ("http://metadata.google.internal", "a cloud metadata service"),
        ],
    )  # fmt: skip
    def test_a_refused_base_url_is_a_422_naming_the_setting(
        self, client: TestClient, admin: str, base_url: str, says: str
    ) -> None:
        response = _create(client, admin, base_url)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert says in response.json()["detail"]
        assert client.get("/api/v1/environments", headers=bearer(admin)).json() == []

    def test_a_patch_to_a_refused_base_url_is_a_422_and_changes_nothing(
        self, client: TestClient, admin: str, runtime: Runtime
    ) -> None:
        created = _create(client, admin, "https://93.184.215.14")
        assert created.status_code == 201, created.text
        patched = client.patch(
            f"/api/v1/environments/{created.json()['id']}",
            json={"base_url": "http://192.168.1.10:5678", "api_key": "another-key"},
            headers=bearer(admin),
        )
        assert patched.status_code == 422, patched.text
        assert "CANONFLOW_ALLOWED_NETWORKS=192.168.0.0/16" in patched.json()["detail"]
        assert _stored_key(runtime) == ("https://93.184.215.14", KEY)


class TestAllowedNetworks:
    @pytest.fixture
    def settings(self, database_url: str, tmp_path: Path) -> Settings:
        return Settings(
            mode=Mode.PRODUCTION,
            database_url=database_url,
            data_dir=tmp_path / "data",
            secret_key=Fernet.generate_key().decode(),
            log_level="WARNING",
            allowed_networks="127.0.0.0/8",  # type: ignore[arg-type]  # as from the environment
            allowed_hosts="n8n.corp.example",  # type: ignore[arg-type]
        )

    def test_the_operator_allows_a_network_or_a_host(self, client: TestClient, admin: str) -> None:
        assert _create(client, admin, "http://localhost:5678").status_code == 201
        other = _create(client, admin, "http://n8n.corp.example", name="corp")
        assert other.status_code == 201, other.text
        refused = _create(client, admin, "http://10.1.1.1", name="ten")
        assert refused.status_code == 422


def test_development_refuses_only_the_metadata_service(client: TestClient, admin: str) -> None:
    assert _create(client, admin, "http://127.0.0.1:5678").status_code == 201
    assert _create(client, admin, "http://10.0.0.5", name="lan").status_code == 201
    refused = _create(client, admin, "http://[fd00:ec2::254]", name="imds")
    assert refused.status_code == 422
    assert "a cloud metadata address" in refused.json()["detail"]


@pytest.mark.parametrize(
    "new_url",
    ["http://localhost:5678", "https://127.0.0.1:5678", "http://127.0.0.1:5679"],
    ids=["host", "scheme", "port"],
)
def test_a_new_origin_without_the_api_key_is_a_422_and_keeps_the_key(
    client: TestClient, admin: str, runtime: Runtime, new_url: str
) -> None:
    env_id = _create(client, admin, "http://127.0.0.1:5678").json()["id"]
    patched = client.patch(
        f"/api/v1/environments/{env_id}", json={"base_url": new_url}, headers=bearer(admin)
    )
    assert patched.status_code == 422, patched.text
    assert "send api_key with the new base_url" in patched.json()["detail"]
    assert _stored_key(runtime) == ("http://127.0.0.1:5678", KEY)
    with_key = client.patch(
        f"/api/v1/environments/{env_id}",
        json={"base_url": new_url, "api_key": "key-for-the-new-host"},
        headers=bearer(admin),
    )
    assert with_key.status_code == 200, with_key.text
    assert _stored_key(runtime) == (new_url, "key-for-the-new-host")


@pytest.mark.parametrize(
    "same_origin",
    ["http://localhost:5678/n8n", "http://LocalHost:5678/", "http://localhost:80"],
    ids=["path", "case", "default-port"],
)
def test_the_same_origin_keeps_the_key_without_resending_it(
    client: TestClient, admin: str, runtime: Runtime, same_origin: str
) -> None:
    first = "http://localhost" if same_origin.endswith(":80") else "http://localhost:5678"
    env_id = _create(client, admin, first).json()["id"]
    patched = client.patch(
        f"/api/v1/environments/{env_id}", json={"base_url": same_origin}, headers=bearer(admin)
    )
    assert patched.status_code == 200, patched.text
    assert _stored_key(runtime)[1] == KEY


class TestConnectTime:
    """A base_url stored before production mode (or resolving elsewhere since) is refused
    when canonflow connects: the job fails, the connection test says why."""

    @pytest.fixture
    def settings(self, database_url: str, tmp_path: Path) -> Settings:
        return _production(database_url, tmp_path)

    def test_a_stored_loopback_base_url_fails_its_sync_and_its_test(
        self, client: TestClient, admin: str, runtime: Runtime
    ) -> None:
        with transaction(runtime.sessions) as session:
            tenant = session.query(Tenant).filter_by(slug="acme").one()
            environment = Environment(
                tenant_id=tenant.id,
                name="old",
                base_url="http://127.0.0.1:9",
                api_key=runtime.secrets.seal(KEY),
            )
            session.add(environment)
            session.flush()
            env_id = environment.id
        tested = client.post(
            f"/api/v1/environments/{env_id}/test-connection", headers=bearer(admin)
        )
        assert tested.status_code == 200 and tested.json()["ok"] is False
        assert "127.0.0.1 is a loopback address" in tested.json()["detail"]
        accepted = client.post(f"/api/v1/environments/{env_id}/sync", headers=bearer(admin))
        job_id = uuid.UUID(accepted.json()["job_id"])
        runtime.runner.wait(job_id, timeout=60)
        job = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(admin)).json()
        assert job["status"] == JobStatus.FAILED.value
        assert "CANONFLOW_ALLOWED_NETWORKS=127.0.0.0/8" in job["error"]
