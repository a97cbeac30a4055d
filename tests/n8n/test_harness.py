"""The test harness itself: a failed start says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.n8n import N8nStartError, start_n8n


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
