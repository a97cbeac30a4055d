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
