"""Run the real `canonflow` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from canonflow.config import Settings


def cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANONFLOW_")}
    env |= {
        "CANONFLOW_DATABASE_URL": settings.resolved_database_url,
        "CANONFLOW_DATA_DIR": str(settings.data_dir),
        "CANONFLOW_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }
    if settings.secret_key is not None:
        env["CANONFLOW_SECRET_KEY"] = settings.secret_key.get_secret_value()
    return env


def canonflow_bin() -> str:
    return str(Path(sys.executable).with_name("canonflow"))


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [canonflow_bin(), *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def invoke_cli(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `canonflow` in this process, as `run_cli` runs it in a child: the same entry point
    (`main`, with its one-line errors and exit codes), environment and console width, and the
    same answer. For tests about what a command does, not about the process (its start-up,
    its imports): each spares the 1-3 s a fresh interpreter costs here. Settings, the
    consoles' width and the logging configuration are restored afterwards."""
    import structlog
    from typer.testing import CliRunner

    from canonflow.cli import common
    from canonflow.cli.main import main
    from canonflow.config import get_settings

    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CANONFLOW_")}
    overrides |= {k: v for k, v in env.items() if k.startswith("CANONFLOW_") or k == "COLUMNS"}
    logging_config = structlog.get_config()
    widths = [(console, console._width) for console in (common.console, common.err_console)]
    argv, code = sys.argv, 0
    with CliRunner().isolation(input=stdin, env=overrides) as (out, err, _):
        get_settings.cache_clear()
        for console, _width in widths:
            console.width = int(env.get("COLUMNS", "80"))
        sys.argv = ["canonflow", *args]
        try:
            main()
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 0 if exit.code is None else 1
        finally:
            sys.argv = argv
            sys.stdout.flush()
            sys.stderr.flush()
            for console, width in widths:
                console._width = width
            get_settings.cache_clear()
            structlog.configure(**logging_config)
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return subprocess.CompletedProcess(["canonflow", *args], code, stdout, stderr)
