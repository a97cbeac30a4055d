"""The same estate on n8n 1.123 (prod) and 2.x (dev) hashes equal, pair by pair: the
version difference alone is never drift (issue 17, item 5)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from canonflow.core.hashing import content_hash
from tests.compat.estate import WEBHOOK_NAME, estate_bodies, seed
from tests.support.n8n import N8nInstance, free_port, is_v1, n8n_bin, n8n_environment
from tests.support.n8n_fixtures import N8nPair, _all, _send, admin_client, make_workflow

# what a workflow's settings may hold once n8n has stored it: what the estate sends, plus
# the defaults 1.x adds (`callerPolicy`, `availableInMCP`); 2.x adds nothing
SENT_OR_DEFAULT_SETTINGS = {
    "executionOrder",
    "timezone",
    "callerPolicy",
    "executionTimeout",
    "saveDataErrorExecution",
    "saveDataSuccessExecution",
    "saveManualExecutions",
    "saveExecutionProgress",
    "availableInMCP",
}


def _read_back(instance: N8nInstance) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every workflow of `instance` by name: as listed, and as GET answers it."""
    with admin_client(instance) as http:
        listed = {item["name"]: item for item in _all(http, "/workflows")}
        got = {
            name: _send(http, "GET", f"/workflows/{item['id']}").json()
            for name, item in listed.items()
        }
    return listed, got


def test_one_estate_on_both_versions_hashes_equal_pairwise(clean_mixed_pair: N8nPair) -> None:
    old, new = clean_mixed_pair.prod, clean_mixed_pair.dev
    assert is_v1(old.version) and not is_v1(new.version)
    bodies = estate_bodies()
    seed(old, bodies)
    seed(new, bodies)

    listed_old, got_old = _read_back(old)
    listed_new, got_new = _read_back(new)
    names = [body["name"] for body in bodies]
    assert sorted(listed_old) == sorted(listed_new) == sorted(names)
    assert listed_new[WEBHOOK_NAME]["active"] is True  # the active one is in the comparison
    for body in bodies:
        name = body["name"]
        hashes = {
            "sent": content_hash(body),
            "1.x GET": content_hash(got_old[name]),
            "1.x listing": content_hash(listed_old[name]),
            "2.x GET": content_hash(got_new[name]),
            "2.x listing": content_hash(listed_new[name]),
        }
        assert len(set(hashes.values())) == 1, (name, hashes)
    # the raw settings differ only by the defaults 1.x adds (normalization fills them in);
    # 2.x keeps exactly what was sent
    for body in bodies:
        name = body["name"]
        assert set(got_old[name]["settings"]) <= SENT_OR_DEFAULT_SETTINGS, got_old[name]
        assert set(got_new[name]["settings"]) == set(body["settings"]), got_new[name]


def _cli_import(instance: N8nInstance, workflow: dict[str, Any], tmp_path: Path) -> None:
    """`n8n import:workflow` into `instance`'s own database, its server running (as
    /work/shared/n8n/n8n-cli.sh does)."""
    source = tmp_path / "import.json"
    source.write_text(json.dumps(workflow))
    completed = subprocess.run(
        [str(n8n_bin(instance.version)), "import:workflow", f"--input={source}"],
        env=n8n_environment(free_port(), instance.data_dir, instance.version),
        cwd=instance.data_dir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]


def test_a_cli_imported_workflow_on_2x_hashes_like_its_api_created_1x_twin(
    clean_mixed_pair: N8nPair, tmp_path: Path
) -> None:
    old, new = clean_mixed_pair.prod, clean_mixed_pair.dev
    body = make_workflow("Compat CLI import", 6, trigger="webhook")
    exported = body | {
        "id": "cfCompatImport01",  # an export carries its id (the CLI needs one)
        "active": False,
        "pinData": {},
        "meta": {"instanceId": "elsewhere"},
    }
    _cli_import(new, exported, tmp_path)
    with admin_client(old) as http:
        twin = _send(http, "POST", "/workflows", json=body).json()

    listed, got = _read_back(new)
    imported = got["Compat CLI import"]
    # n8n 2.x adds no settings key of its own (no `binaryMode`) to an imported workflow
    assert set(imported["settings"]) == set(body["settings"]), imported["settings"]
    hashes = {
        content_hash(body),
        content_hash(twin),
        content_hash(imported),
        content_hash(listed["Compat CLI import"]),
    }
    assert len(hashes) == 1, hashes
