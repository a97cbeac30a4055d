"""The CLI's `env add` and `repo set` go through the same checks: one line, the setting."""

from __future__ import annotations

from canonflow.config import Settings
from tests.cli.helpers import cli_env, run_cli


def test_env_add_and_repo_set_refuse_in_production_with_one_line(settings: Settings) -> None:
    env = cli_env(settings) | {"CANONFLOW_MODE": "production"}
    assert run_cli("tenant", "create", "acme", env=env).returncode == 0
    t = ("--tenant", "acme")
    added = run_cli(
        "env", "add", "prod", "--url", "http://10.0.0.5:5678", "--api-key", "k", *t, env=env
    )
    assert added.returncode != 0
    assert added.stderr.count("\n") == 1 and "Traceback" not in added.stderr
    assert "CANONFLOW_ALLOWED_NETWORKS=10.0.0.0/8" in added.stderr
    repo = run_cli("repo", "set", "/srv/git/workflows.git", *t, env=env)
    assert repo.returncode != 0 and repo.stderr.count("\n") == 1
    assert "CANONFLOW_ALLOW_LOCAL_REPOSITORIES=true" in repo.stderr
    allowed = env | {"CANONFLOW_ALLOWED_NETWORKS": "10.0.0.0/8"}
    added = run_cli(
        "env", "add", "prod", "--url", "http://10.0.0.5:5678", "--api-key", "k", *t, env=allowed
    )
    assert added.returncode == 0, added.stderr
