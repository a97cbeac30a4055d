"""`canonflow notifications` through the command's entry point: set, list (no secret), test
(a real receiver), deliveries, and one-line errors. `set` runs as the real command in a
child process; the rest run in this process (`invoke_cli`: the same entry point, without
the interpreter's start-up)."""

from __future__ import annotations

import json
from pathlib import Path

from canonflow.config import Settings
from tests.cli.helpers import cli_env, invoke_cli, run_cli
from tests.notifications.conftest import SECRET
from tests.notifications.receiver import Receiver


def test_set_list_test_and_deliveries(settings: Settings, tmp_path: Path) -> None:
    env = cli_env(settings) | {"CANONFLOW_NOTIFY_BACKOFF_S": "0.01"}
    assert invoke_cli("tenant", "create", "acme", env=env).returncode == 0
    with Receiver([500]) as receiver:
        file = tmp_path / "hooks.json"
        hook = {"url": receiver.url, "kind": "generic", "secret": SECRET,
                "events": ["drift.detected"]}  # fmt: skip
        file.write_text(json.dumps({"destinations": [hook]}))
        done = run_cli("notifications", "set", str(file), "--tenant", "acme", env=env)
        assert done.returncode == 0, done.stderr
        listing = invoke_cli("notifications", "list", "--tenant", "acme", env=env)
        assert receiver.url in listing.stdout and "secret: set" in listing.stdout
        assert SECRET not in listing.stdout
        sent = invoke_cli("notifications", "test", "--tenant", "acme", env=env)
        assert sent.returncode == 0, sent.stderr
        assert "delivered after 2 attempt(s)" in sent.stdout
    assert len(receiver.requests) == 2 and receiver.requests[1].signed_by(SECRET)
    log = invoke_cli("notifications", "deliveries", "--tenant", "acme", env=env)
    assert log.returncode == 0, log.stderr
    assert "delivered" in log.stdout and "retrying" in log.stdout and SECRET not in log.stdout


def test_bad_input_is_one_readable_line(settings: Settings, tmp_path: Path) -> None:
    env = cli_env(settings)
    assert invoke_cli("tenant", "create", "acme", env=env).returncode == 0
    bad = tmp_path / "bad.json"
    teams = {"url": "http://127.0.0.1:9", "kind": "teams", "events": ["sync.failed"]}
    metadata = {"url": "http://169.254.169.254/", "events": ["sync.failed"]}
    cases = [
        ({"destinations": [teams]}, "kind"),
        ({"destinations": [metadata]}, "destinations[0].url"),
    ]
    for body, fragment in cases:
        bad.write_text(json.dumps(body))
        result = invoke_cli("notifications", "set", str(bad), "--tenant", "acme", env=env)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr
    bad.write_text("{not json")
    result = invoke_cli("notifications", "set", str(bad), "--tenant", "acme", env=env)
    assert result.returncode == 2 and "not JSON" in result.stderr
    nothing = invoke_cli("notifications", "test", "--tenant", "acme", env=env)
    assert nothing.returncode == 2 and "no notification destination" in nothing.stderr
