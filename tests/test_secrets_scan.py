"""After a full flow (environments on two real n8n, a repository behind a real Git HTTP
server that wants a token, a forge for the pull request, syncs, onboarding, reconcile, an
export, errors on purpose), no secret appears in plaintext: not in the database, not in the
logs, not in any API answer, not in the files canonflow keeps (its Git cache).

The forge is `FakeForge`, a stand-in: a hosted forge's pull-request API cannot run here.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from canonflow.app import create_app
from canonflow.core.enums import ForgeProvider, Role
from canonflow.db.engine import transaction
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token
from tests.support.forge_server import FakeForge
from tests.support.git_remotes import GitHttpServer, make_bare_remote
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import admin_client, make_workflow

GIT_TOKEN = "git-token-" + uuid.uuid4().hex
FORGE_TOKEN = "forge-token-" + uuid.uuid4().hex
WRONG_N8N_KEY = "wrong-n8n-key-" + uuid.uuid4().hex


class RecordingClient:
    """A TestClient whose every answer (status line, headers, body) is kept for the scan."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.answers: list[str] = []

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        self.answers.append(f"{method} {path} {response.status_code} {response.headers!r} ")
        self.answers.append(response.text)
        return response


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """The app configures structlog to print to the captured stderr at DEBUG: put back what
    was there, so no later test logs to a closed capture stream."""
    saved = structlog.get_config()
    try:
        yield
    finally:
        structlog.configure(**saved)


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitHttpServer]:
    root = tmp_path / "served"
    make_bare_remote(root)
    with GitHttpServer(root, token=GIT_TOKEN) as server:
        yield server


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    with FakeForge(ForgeProvider.GITEA, token=FORGE_TOKEN) as server:
        yield server


def _wait(api: RecordingClient, runtime: Runtime, headers: dict[str, str], accepted: Any) -> Any:
    assert accepted.status_code == 202, accepted.text
    job_id = uuid.UUID(accepted.json()["job_id"])
    runtime.runner.wait(job_id, timeout=180)
    return api.call("GET", f"/api/v1/jobs/{job_id}", headers=headers).json()


def _full_flow(
    api: RecordingClient,
    runtime: Runtime,
    admin: str,
    instances: dict[str, N8nInstance],
    git_server: GitHttpServer,
    forge: FakeForge,
) -> None:
    headers = bearer(admin)
    ids = {}
    for name, instance in instances.items():
        body = {"name": name, "base_url": instance.base_url, "api_key": instance.api_key}
        created = api.call(
            "POST",
            "/api/v1/environments",
            headers=headers,
            json=body | {"is_anchor": name == "prod"},
        )
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]
        tested = api.call(
            "POST", f"/api/v1/environments/{ids[name]}/test-connection", headers=headers
        )
        assert tested.json()["ok"] is True, tested.text
    repository = {
        "url": git_server.url("remote.git"),
        "branch": "main",
        "auth": {"token": GIT_TOKEN},
        "forge": {
            "provider": "gitea",
            "api_url": forge.api_url,
            "repository": forge.owner_repo,
            "token": FORGE_TOKEN,
        },
    }
    assert (
        api.call("PUT", "/api/v1/repository", headers=headers, json=repository).status_code == 200
    )
    checked = api.call("POST", "/api/v1/repository/test", headers=headers)
    assert checked.status_code == 200, checked.text
    for name in ids:
        job = _wait(
            api,
            runtime,
            headers,
            api.call("POST", f"/api/v1/environments/{ids[name]}/sync", headers=headers),
        )
        assert job["status"] == "succeeded", job
    job = _wait(
        api,
        runtime,
        headers,
        api.call("POST", "/api/v1/canonical/onboard/inventory", headers=headers),
    )
    assert job["status"] == "succeeded", job
    pr = api.call("POST", "/api/v1/canonical/onboard/create-pr", headers=headers)
    assert pr.status_code == 200, pr.text
    assert any(r["headers"].get("authorization") for r in forge.requests)  # the token was used
    _wait(api, runtime, headers, api.call("POST", "/api/v1/canonical/sync-repo", headers=headers))
    for path in (
        "/api/v1/me",
        "/api/v1/environments",
        f"/api/v1/environments/{ids['dev']}",
        "/api/v1/repository",
        "/api/v1/jobs",
        "/api/v1/workflows/matrix",
        "/api/v1/workflows/matrix/summary",
        "/api/v1/workflows/matrix/export?format=csv",
        "/api/v1/workflows/matrix/export?format=json",
        "/api/v1/canonical/untracked",
        "/api/v1/canonical/onboard/preflight",
        "/api/v1/canonical/onboard/completion",
        "/api/v1/snapshots",
    ):
        assert api.call("GET", path, headers=headers).status_code == 200, path
    plan = {"strategy": "git_wins", "dry_run": True}
    assert (
        api.call("POST", "/api/v1/canonical/reconcile", headers=headers, json=plan).status_code
        == 200
    )
    # errors on purpose: a wrong key, a failing sync with it, a token that was revoked
    api.call(
        "PATCH",
        f"/api/v1/environments/{ids['dev']}",
        headers=headers,
        json={"api_key": WRONG_N8N_KEY},
    )
    refused = api.call(
        "POST", f"/api/v1/environments/{ids['dev']}/test-connection", headers=headers
    )
    assert refused.json()["ok"] is False
    job = _wait(
        api,
        runtime,
        headers,
        api.call("POST", f"/api/v1/environments/{ids['dev']}/sync", headers=headers),
    )
    assert job["status"] == "failed"


def _database_text(runtime: Runtime) -> str:
    """Every value of every row of every table, as text."""
    parts = []
    with runtime.engine.connect() as connection:
        for table in inspect(runtime.engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                parts.extend(repr(value) for value in row)
                parts.extend(
                    value.decode("utf-8", "replace") for value in row if isinstance(value, bytes)
                )
    return "\n".join(parts)


def _files_text(root: Path) -> str:
    parts = []
    for path in root.rglob("*"):
        if path.is_file() and path.stat().st_size < 2_000_000:
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def test_no_secret_is_kept_shown_or_logged_in_plaintext(
    runtime: Runtime,
    clean_n8n_prod: N8nInstance,
    clean_n8n_dev: N8nInstance,
    git_server: GitHttpServer,
    forge: FakeForge,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for instance in (clean_n8n_prod, clean_n8n_dev):
        with admin_client(instance) as http:
            http.post("/workflows", json=make_workflow("Orders", 3)).raise_for_status()
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session, slug="secretive")
        admin = make_token(session, tenant, role=Role.ADMIN)
        viewer = make_token(session, tenant, role=Role.VIEWER, name="viewer")
    runtime.settings.log_level = "DEBUG"
    with TestClient(create_app(runtime=runtime)) as client:
        api = RecordingClient(client)
        _full_flow(
            api, runtime, admin, {"prod": clean_n8n_prod, "dev": clean_n8n_dev}, git_server, forge
        )
        assert api.call("GET", "/api/v1/me", headers=bearer(viewer)).status_code == 200
    secrets = {
        "n8n API key (prod)": clean_n8n_prod.api_key,
        "n8n API key (dev)": clean_n8n_dev.api_key,
        "wrong n8n API key": WRONG_N8N_KEY,
        "Git token": GIT_TOKEN,
        "forge token": FORGE_TOKEN,
        "admin bearer token": admin,
        "viewer bearer token": viewer,
    }
    captured = capsys.readouterr()
    places = {
        "database": _database_text(runtime),
        "logs": captured.out + captured.err + caplog.text,
        "API answers": "\n".join(api.answers),
        "files in the data directory": _files_text(runtime.settings.data_dir),
    }
    assert len(places["database"]) > 10_000 and "Orders" in places["database"]
    assert "job failed" in places["logs"]  # the failed sync was logged: logs were captured
    leaks = [
        f"{secret_name} in the {place}"
        for secret_name, secret in secrets.items()
        for place, content in places.items()
        if secret in content
    ]
    assert not leaks, leaks
