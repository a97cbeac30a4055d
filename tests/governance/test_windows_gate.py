"""Sync windows against real n8n: a closed window refuses writes with the next allowed
time, an admin's override with a reason passes (audited), reads and syncs still run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from canonflow.core.sync_state import SyncState
from tests.governance.conftest import Governed
from tests.reconcile.conftest import set_value


def _daily(kind: str, start: datetime, duration_s: int) -> dict[str, Any]:
    return {
        "kind": kind,
        "cron": f"{start.minute} {start.hour} * * *",
        "duration_s": duration_s,
        "timezone": "UTC",
    }


def _apply(governed: Governed, headers: dict[str, str], **extra: Any) -> Any:
    return governed.linked.client.post(
        "/api/v1/canonical/reconcile",
        json={"strategy": "git_wins", "dry_run": False, **extra},
        headers=headers,
    )


def test_a_deny_window_refuses_an_apply_and_an_admin_override_passes(governed: Governed) -> None:
    linked = governed.linked
    started = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    response = governed.patch_env("prod", {"sync_windows": [_daily("deny", started, 3600)]})
    assert response.status_code == 200, response.text
    window = response.json()["window"]
    ends = started + timedelta(hours=1)
    assert window["open"] is False
    assert datetime.fromisoformat(window["next_open"]) == ends
    assert datetime.fromisoformat(window["next_change"]) == ends
    linked.edit_in_git("orders", set_value("late"))
    linked.repo_sync()

    plan = linked.plan("git_wins")  # a dry run is a read: it shows the window
    gates = {g["environment"]: g["window"]["open"] for g in plan["environments"]}
    assert gates == {"prod": False, "dev": True}
    refused = _apply(governed, governed.operator)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"] == "urn:canonflow:problem:window-closed"
    assert problem["environment"] == "prod"
    assert datetime.fromisoformat(problem["next_allowed_at"]) == ends
    assert linked.state("orders", "prod") is SyncState.OUT_OF_DATE

    by_operator = _apply(governed, governed.operator, window_override="hotfix")
    assert by_operator.status_code == 403, by_operator.text
    assert "needs the admin role" in by_operator.json()["detail"]
    blank = _apply(governed, governed.admin_a, window_override="")
    assert blank.status_code == 422, blank.text
    assert governed.audit("window.override") == []

    # syncs are never blocked, and neither are reads
    linked.sync("prod")
    synced = linked.client.post(
        f"/api/v1/environments/{linked.env_id('prod')}/sync", headers=governed.operator
    )
    assert synced.status_code == 202, synced.text
    assert linked.wait(synced.json()["job_id"])["status"] == "succeeded"

    overridden = _apply(governed, governed.admin_a, window_override="incident 42")
    assert overridden.status_code == 202, overridden.text
    job = linked.wait(overridden.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert linked.state("orders", "prod") is SyncState.IN_SYNC
    [entry] = governed.audit("window.override")
    assert entry.details["reason"] == "incident 42" and entry.details["environment"] == "prod"
    assert entry.actor == "alice"


def test_outside_every_allow_window_a_deploy_is_refused(governed: Governed) -> None:
    linked = governed.linked
    opens = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)
    response = governed.patch_env("prod", {"sync_windows": [_daily("allow", opens, 600)]})
    assert response.status_code == 200, response.text
    refused = governed.deploy("orders", "prod", governed.operator)
    assert refused.status_code == 409, refused.text
    assert datetime.fromisoformat(refused.json()["next_allowed_at"]) == opens
    assert "writes are next allowed at" in refused.json()["detail"]
    # dev has no window: a deploy there runs
    deployed = governed.deploy("orders", "dev", governed.operator)
    assert deployed.status_code == 202 and "job_id" in deployed.json(), deployed.text
    assert linked.wait(deployed.json()["job_id"])["status"] == "succeeded"

    shown = linked.client.get(
        f"/api/v1/environments/{linked.env_id('prod')}", headers=governed.operator
    )
    assert shown.json()["window"]["open"] is False
    assert shown.json()["sync_windows"] == [_daily("allow", opens, 600)]


def test_bad_windows_are_422(governed: Governed) -> None:
    for window, where in (
        ({"kind": "deny", "cron": "every day", "duration_s": 3600}, "cron"),
        (
            {"kind": "deny", "cron": "0 9 * * *", "duration_s": 3600, "timezone": "Mars/Base"},
            "timezone",
        ),
        ({"kind": "deny", "cron": "0 9 * * *", "duration_s": 30}, "duration_s"),
        ({"kind": "maybe", "cron": "0 9 * * *", "duration_s": 3600}, "kind"),
    ):
        response = governed.patch_env("prod", {"sync_windows": [window]})
        assert response.status_code == 422, (window, response.text)
        assert where in response.json()["detail"], response.json()
    operator = governed.linked.client.patch(
        f"/api/v1/environments/{governed.linked.env_id('prod')}",
        json={"protected": True},
        headers=governed.operator,
    )
    assert operator.status_code == 403
