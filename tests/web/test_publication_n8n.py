"""Env sync against a real n8n 2.x (issue 17): an active workflow's draft saved without
publishing shows `draft_pending` (API matrix, diff, the matrix page's cell); publishing it
turns the cell into drift (n8n moves no updatedAt when it publishes); archive → missing;
unarchive → linked and in sync. And on a real 1.123 the same sync code reads an ordinary
estate (active and inactive workflows) in sync, twice, hashing nothing the second time."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from canonflow.db.engine import transaction
from canonflow.db.models import Environment
from canonflow.matrix import service
from canonflow.matrix.queries import MatrixFilter
from canonflow.runtime import Runtime
from canonflow.sync.environment import sync_environment
from canonflow.sync.result import SyncResult
from tests.support.n8n import LEGACY_VERSION, N8nInstance, is_v1, n8n_version, start_n8n
from tests.support.n8n_fixtures import admin_client, make_workflow
from tests.support.onboarded import Onboarded, onboard_one_environment
from tests.web.conftest import signed_in

NOTE = "A draft edited in n8n is not published: the environment runs the published version."


def _sync(runtime: Runtime, onboarded: Onboarded) -> SyncResult:
    return sync_environment(
        runtime.sessions,
        runtime.secrets,
        tenant_id=onboarded.tenant_id,
        environment_id=onboarded.environment_id,
    )


def _cells(base: str, onboarded: Onboarded) -> dict[str, dict[str, Any]]:
    answer = httpx.get(f"{base}/api/v1/workflows/matrix", headers=onboarded.headers, timeout=30)
    assert answer.status_code == 200, answer.text
    env = str(onboarded.environment_id)
    return {row["name"]: row["environments"][env] for row in answer.json()["workflows"]}


def _create(http: httpx.Client, body: dict[str, Any]) -> str:
    created = http.post("/workflows", json=body)
    created.raise_for_status()
    return str(created.json()["id"])


def _save_draft(http: httpx.Client, workflow_id: str, url: str) -> None:
    """An edit saved in n8n without publishing it (what the editor's save does)."""
    workflow = http.get(f"/workflows/{workflow_id}").json()
    for node in workflow["nodes"]:
        if node["type"] == "n8n-nodes-base.httpRequest":
            node["parameters"]["url"] = url
    body = {key: workflow[key] for key in ("name", "nodes", "connections", "settings")}
    saved = http.put(f"/workflows/{workflow_id}", params={"publishIfActive": "false"}, json=body)
    saved.raise_for_status()
    assert saved.json()["activeVersionId"] != saved.json()["versionId"]


@pytest.mark.skipif(is_v1(n8n_version()), reason="drafts and archiving are n8n 2.x's")
def test_draft_publish_archive_unarchive_on_n8n_2x(
    runtime: Runtime, clean_n8n_prod: N8nInstance, base: str, tmp_path: Path
) -> None:
    with admin_client(clean_n8n_prod) as http:
        orders = _create(http, make_workflow("Orders", 5, trigger="webhook"))
        plain = _create(http, make_workflow("Plain", 3, trigger="webhook"))
        for workflow_id in (orders, plain):
            http.post(f"/workflows/{workflow_id}/activate").raise_for_status()
    onboarded = onboard_one_environment(
        runtime, base_url=clean_n8n_prod.api_url, api_key=clean_n8n_prod.api_key, tmp=tmp_path
    )
    cells = _cells(base, onboarded)
    assert {n: (c["state"], c["draft_pending"]) for n, c in cells.items()} == {
        "Orders": ("in_sync", False),
        "Plain": ("in_sync", False),
    }
    with transaction(runtime.sessions) as session:
        environment = session.get(Environment, onboarded.environment_id)
        assert environment is not None and environment.n8n_major == 2
    listed = httpx.get(f"{base}/api/v1/environments", headers=onboarded.headers, timeout=30)
    assert [e["n8n_major"] for e in listed.json()] == [2], listed.text

    # a draft saved without publishing: the environment still runs Git's version
    with admin_client(clean_n8n_prod) as http:
        _save_draft(http, orders, "https://example.com/draft-only")
    assert _sync(runtime, onboarded).updated == 1
    orders_cell = _cells(base, onboarded)["Orders"]
    assert (orders_cell["status"], orders_cell["state"]) == ("linked", "draft_pending")
    assert orders_cell["draft_pending"] is True and not orders_cell["synced"]
    summary = httpx.get(
        f"{base}/api/v1/workflows/matrix/summary", headers=onboarded.headers, timeout=30
    ).json()
    [prod] = summary["environments"]
    assert (prod["states"].get("draft_pending"), prod["drafts_pending"]) == (1, 1)
    diff = _diff(base, onboarded, orders_cell)
    assert diff["identical"] is True  # Git's version is what runs
    assert diff["draft"]["note"] == NOTE and diff["draft"]["identical"] is False
    assert "draft-only" in " ".join(line["text"] for line in diff["draft"]["lines"])
    token = onboarded.headers["Authorization"].removeprefix("Bearer ")
    with signed_in(base, token) as ui:
        page = ui.get("/matrix")
        assert page.status_code == 200
        cell = _grid_cell(page.text, "Orders")
        assert cell == ("draft", "Orders in prod: draft pending", "✎ draft pending")
        assert "✎ draft pending" in unescape(page.text.split('class="legend"')[1])
        slug = re.search(r'href="/workflows/([^"]+)">Orders<', page.text)
        assert slug is not None
        detail = ui.get("/matrix", params={"open": f"{slug.group(1)}:prod"}).text
        assert NOTE in unescape(detail) and "draft-only" in unescape(detail)
        diff_page = unescape(ui.get(f"/workflows/{slug.group(1)}/diff?env=prod").text)
        assert NOTE in diff_page and "Published → draft" in diff_page

    # publishing it: updatedAt does not move, yet the sync sees it; now it is drift
    with admin_client(clean_n8n_prod) as http:
        before = http.get(f"/workflows/{orders}").json()["updatedAt"]
        http.post(f"/workflows/{orders}/publish").raise_for_status()
        assert http.get(f"/workflows/{orders}").json()["updatedAt"] == before
    assert _sync(runtime, onboarded).updated == 1
    orders_cell = _cells(base, onboarded)["Orders"]
    assert (orders_cell["state"], orders_cell["draft_pending"]) == ("drift", False)

    # archive (2.x's delete): missing; unarchive: linked again, and in sync
    with admin_client(clean_n8n_prod) as http:
        http.post(f"/workflows/{plain}/archive").raise_for_status()
    archived = _sync(runtime, onboarded)
    assert (archived.complete, archived.missing, archived.archived) == (True, 1, 1)
    assert _cells(base, onboarded)["Plain"]["status"] == "missing"
    with admin_client(clean_n8n_prod) as http:
        http.post(f"/workflows/{plain}/unarchive").raise_for_status()
    _sync(runtime, onboarded)
    plain_cell = _cells(base, onboarded)["Plain"]
    assert (plain_cell["status"], plain_cell["state"]) == ("linked", "in_sync")


def _diff(base: str, onboarded: Onboarded, cell: dict[str, Any]) -> dict[str, Any]:
    catalogue = httpx.get(
        f"{base}/api/v1/canonical/workflows", headers=onboarded.headers, timeout=30
    ).json()
    [orders] = [item for item in catalogue["items"] if item["name"] == "Orders"]
    answer = httpx.get(
        f"{base}/api/v1/canonical/workflows/{orders['id']}/diff",
        params={"environment_id": str(onboarded.environment_id)},
        headers=onboarded.headers,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    assert found["to_hash"][3:15] == cell["env_hash"]
    return found


def _grid_cell(html: str, name: str) -> tuple[str, str, str]:
    """The matrix grid's cell of `name` in prod: its class, accessible label and text."""
    found = re.search(
        r'<td class="([^"]+)"><a href="[^"]*" aria-label="('
        + re.escape(name)
        + r' in prod: [^"]+)">'
        r"([^<]+)</a></td>",
        html,
    )
    assert found is not None, f"no cell of {name} in the grid"
    return found.group(1), unescape(found.group(2)), unescape(found.group(3))


def test_an_ordinary_estate_reads_in_sync_on_n8n_1x(
    runtime: Runtime, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The same sync code on a real 1.123 (started beside the suite's 2.x): active and
    inactive workflows onboard in sync, no draft, and a second sync hashes nothing."""
    if is_v1(n8n_version()):
        instance: N8nInstance = request.getfixturevalue("clean_n8n_prod")
        started = None
    else:
        instance = started = start_n8n(tmp_path / "n8n-1x", version=LEGACY_VERSION)
    try:
        with admin_client(instance) as http:
            ids = [
                _create(http, make_workflow(f"Flow {i}", 4, trigger="webhook")) for i in range(3)
            ]
            http.post(f"/workflows/{ids[0]}/activate").raise_for_status()
        onboarded = onboard_one_environment(
            runtime, base_url=instance.api_url, api_key=instance.api_key, tmp=tmp_path / "estate"
        )
        again = _sync(runtime, onboarded)
        assert (again.complete, again.updated, again.unchanged, again.missing) == (True, 0, 3, 0)
        with transaction(runtime.sessions) as session:
            environments = service.environments_of(session, onboarded.tenant_id)
            page = service.page(
                session, onboarded.tenant_id, environments, MatrixFilter(),
                after=None, limit=10,
            )  # fmt: skip
        cells = [cell for row in page.workflows for cell in row["environments"].values()]
        assert [(c["state"], c["draft_pending"]) for c in cells] == [("in_sync", False)] * 3
    finally:
        if started is not None:
            started.stop()
