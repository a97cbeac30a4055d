"""`canonflow tenant`, `canonflow token`, `canonflow db` through the real command."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from canonflow.config import Settings
from canonflow.db.migrate import head_revision
from tests.cli.helpers import cli_env, run_cli
from tests.factories import bearer


def test_tenant_and_token_lifecycle(settings: Settings, client: TestClient) -> None:
    env = cli_env(settings)
    created = run_cli("tenant", "create", "acme", env=env)
    assert created.returncode == 0, created.stderr
    assert "tenant acme created" in created.stdout

    issued = run_cli("token", "create", "--tenant", "acme", "--role", "operator", env=env)
    assert issued.returncode == 0, issued.stderr
    secret = issued.stdout.strip().splitlines()[-1]
    assert secret.startswith("cf_")
    assert client.get("/api/v1/me", headers=bearer(secret)).json()["role"] == "operator"

    listing = run_cli("token", "list", "--tenant", "acme", env=env)
    assert listing.returncode == 0
    assert secret not in listing.stdout
    token_id = re.search(r"token ([0-9a-f-]{36})", issued.stdout)
    assert token_id is not None

    revoked = run_cli("token", "revoke", token_id.group(1), "--tenant", "acme", env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_cli_errors_are_one_readable_line(settings: Settings) -> None:
    env = cli_env(settings)
    assert run_cli("tenant", "create", "acme", env=env).returncode == 0
    for args, fragment in [
        (("tenant", "create", "acme"), "already exists"),
        (("tenant", "create", "Not Valid!"), "invalid tenant name"),
        (("token", "create", "--tenant", "ghost", "--role", "admin"), "no tenant named"),
        (("token", "revoke", "xyz", "--tenant", "acme"), "is not a token id"),
    ]:
        result = run_cli(*args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error:") and fragment in lines[0]


def test_db_upgrade_and_current(settings: Settings) -> None:
    env = cli_env(settings)
    upgraded = run_cli("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert head_revision() in upgraded.stdout
    assert run_cli("db", "current", env=env).stdout.strip() == head_revision()


def test_unreachable_database_is_one_line(settings: Settings) -> None:
    env = cli_env(settings) | {"CANONFLOW_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = run_cli("tenant", "list", env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: database unavailable")


def test_invalid_configuration_is_one_line(settings: Settings) -> None:
    result = run_cli("tenant", "list", env=cli_env(settings) | {"CANONFLOW_PORT": "eighty"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: invalid configuration: CANONFLOW_PORT: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]
