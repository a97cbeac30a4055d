"""Every failure of the `canonflow` command is one line on stderr and an exit code, never a
traceback: an error the Git, n8n or forge client raised that no service mapped, and even an
exception nobody expected."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from canonflow.cli.common import report_and_exit
from canonflow.config import Settings
from canonflow.forge import ForgeUnreachable
from canonflow.git import GitUnreachable
from canonflow.n8n import N8nUnreachable
from tests.cli.helpers import cli_env, run_cli

REMOTE_ERRORS = [
    GitUnreachable("cannot fetch main from git://git.test/x.git: connection refused"),
    N8nUnreachable("n8n at http://n8n.test is unreachable", base_url="http://n8n.test"),
    ForgeUnreachable("GitHub at https://forge.test failed (502)", api_url="https://forge.test"),
]


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def assert_one_error_line(stderr: str, fragment: str) -> None:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert fragment in errors[0], stderr


@pytest.mark.parametrize("error", REMOTE_ERRORS, ids=["git", "n8n", "forge"])
def test_an_unmapped_remote_error_is_one_line_and_exit_1(
    error: Exception, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        report_and_exit(error)
    assert exited.value.code == 1
    assert capsys.readouterr().err == f"error: {error}\n"


def test_a_broken_git_remote_and_a_dead_n8n_are_one_line_each(
    settings: Settings, tmp_path: Path
) -> None:
    env = cli_env(settings) | {"CANONFLOW_N8N_API_KEY": "n8n-key", "NO_COLOR": "1"}
    assert run_cli("tenant", "create", "default", env=env).returncode == 0
    dead_n8n = f"http://127.0.0.1:{dead_port()}"
    added = run_cli("env", "add", "dev", "--url", dead_n8n, "--kind", "development", env=env)
    assert added.returncode == 0, added.stderr
    broken_remote = str(tmp_path / "no-such-repository.git")
    assert run_cli("repo", "set", broken_remote, "--branch", "main", env=env).returncode == 0

    for args, fragment in [
        (("sync", "env", "dev"), f"n8n at {dead_n8n} is unreachable"),
        (("env", "test", "dev"), f"n8n at {dead_n8n} is unreachable"),
        (("sync", "repo"), f"cannot fetch main from {broken_remote}"),
        (("repo", "test"), f"cannot fetch main from {broken_remote}"),
    ]:
        result = run_cli(*args, env=env)
        assert result.returncode == 1, (args, result.stderr)
        assert_one_error_line(result.stderr, fragment)


def test_an_unexpected_exception_is_one_line_and_debug_shows_the_traceback(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANONFLOW_")}
    env |= {
        "CANONFLOW_DATA_DIR": str(tmp_path),
        "CANONFLOW_DATABASE_URL": "sqlite:////dev/null/canonflow/canonflow.db",  # not a dir
        "CANONFLOW_LOG_LEVEL": "WARNING",
    }
    result = run_cli("token", "list", "--tenant", "default", env=env)
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "unexpected error: ")
    assert result.stderr.rstrip().endswith("(run with CANONFLOW_LOG_LEVEL=DEBUG for details)")

    debug = run_cli(
        "token", "list", "--tenant", "default", env=env | {"CANONFLOW_LOG_LEVEL": "DEBUG"}
    )
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr
