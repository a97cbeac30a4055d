"""draft_pending in the matrix (issue 17): an n8n 2.x copy that runs Git's version but holds
a draft edited in n8n and not published. The state in SQL agrees with the domain rule; the
flag rides on every other state; filters, summary, export, the catalogue, the recorded
state (state_changes) and the grid's HTML say it."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from typing import Any

from fastapi.testclient import TestClient
from markupsafe import Markup
from sqlalchemy import select

from canonflow.catalogue.states import StateCause, record_state_changes, unrecorded
from canonflow.config import Settings
from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import derive_sync_state, has_pending_draft
from canonflow.db.engine import transaction
from canonflow.db.models import StateChange, Tenant
from canonflow.matrix.service import MatrixEnvironment
from canonflow.runtime import Runtime
from canonflow.web.views.matrix import grid_rows
from tests.cli.helpers import cli_env, run_cli
from tests.matrix.conftest import H1, H2, H3, Tenancy, make_tenancy, names

URL = "/api/v1/workflows/matrix"
H4 = "v1:" + "4" * 64


def _get(client: TestClient, t: Tenancy, path: str = "", **params: Any) -> Any:
    response = client.get(URL + path, params=params, headers=t.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _cell(page: dict[str, Any], name: str, t: Tenancy, env: str = "prod") -> dict[str, Any]:
    [row] = [row for row in page["workflows"] if row["name"] == name]
    cell: dict[str, Any] = row["environments"][str(t.envs[env])]
    return cell


def test_sql_state_and_flag_match_the_domain_rule_with_drafts(
    client: TestClient, runtime: Runtime
) -> None:
    t = make_tenancy(runtime, ("prod",))
    expected: dict[str, tuple[str, bool]] = {}
    for i, (env, git, base, draft) in enumerate(
        itertools.product([None, H1, H2], [None, H1, H2], [None, H1, H3], [None, H1, H4])
    ):
        name = f"c{i:03d}"
        t.add_canonical(name)
        t.add_mapping(name, "prod", env_hash=env, git_hash=git, base_hash=base, draft_hash=draft)
        state = derive_sync_state(env, git, base, draft_hash=draft).value
        expected[name] = (state, has_pending_draft(env, draft))
    page = _get(client, t, limit=500)
    got = {
        row["name"]: (cell["state"], cell["draft_pending"])
        for row in page["workflows"]
        for cell in row["environments"].values()
    }
    assert got == expected
    assert "draft_pending" in {state for state, _flag in expected.values()}
    # the recorded state (state_changes, the catalogue's counts) uses the same expression
    with transaction(runtime.sessions) as session:
        record_state_changes(session, t.tenant_id, StateCause.ENV_SYNC)
        assert unrecorded(session, t.tenant_id) == []


def _estate(runtime: Runtime) -> Tenancy:
    """prod: Draft (in sync by what runs, a draft differs), Drift+draft (drift by what runs,
    and a draft), Plain (in sync), Same (a draft hash equal to what runs: none pending)."""
    t = make_tenancy(runtime, ("dev", "prod"))
    for name in ("Draft", "Drift+draft", "Plain", "Same"):
        t.add_canonical(name)
    t.add_mapping("Draft", "prod", draft_hash=H2)
    t.add_mapping("Drift+draft", "prod", env_hash=H2, draft_hash=H3)
    t.add_mapping("Plain", "prod")
    t.add_mapping("Same", "prod", draft_hash=H1)
    for name in ("Draft", "Drift+draft", "Plain", "Same"):
        t.add_mapping(name, "dev")
    return t


def test_cells_filters_summary_and_problems(client: TestClient, runtime: Runtime) -> None:
    t = _estate(runtime)
    page = _get(client, t)
    cells = {name: _cell(page, name, t) for name in ("Draft", "Drift+draft", "Plain", "Same")}
    assert {n: (c["state"], c["synced"], c["draft_pending"]) for n, c in cells.items()} == {
        "Draft": ("draft_pending", False, True),
        "Drift+draft": ("drift", False, True),
        "Plain": ("in_sync", True, False),
        "Same": ("in_sync", True, False),
    }
    assert cells["Draft"]["draft_hash"] == H2[3:15]
    assert names(_get(client, t, state="draft_pending")) == ["Draft"]
    assert names(_get(client, t, state="drift")) == ["Drift+draft"]
    assert names(_get(client, t, state="in_sync")) == ["Draft", "Drift+draft", "Plain", "Same"]
    assert names(_get(client, t, problems=True)) == ["Draft", "Drift+draft"]
    summary = {e["name"]: e for e in _get(client, t, "/summary")["environments"]}
    assert summary["prod"]["states"] == {"in_sync": 2, "draft_pending": 1, "drift": 1}
    assert summary["prod"]["drafts_pending"] == 2
    assert summary["dev"]["drafts_pending"] == 0


def test_export_and_catalogue_carry_the_flag(client: TestClient, runtime: Runtime) -> None:
    t = _estate(runtime)
    response = client.get(URL + "/export", params={"format": "csv"}, headers=t.headers)
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    prod = {r["name"]: r for r in rows if r["environment"] == "prod"}
    assert (prod["Draft"]["state"], prod["Draft"]["draft_pending"]) == ("draft_pending", "true")
    assert prod["Draft"]["draft_hash"] == H2[3:15]
    assert (prod["Drift+draft"]["state"], prod["Drift+draft"]["draft_pending"]) == (
        "drift",
        "true",
    )
    assert prod["Plain"]["draft_pending"] == "false"
    exported = client.get(URL + "/export", params={"format": "json"}, headers=t.headers).json()
    [draft] = [w for w in exported["workflows"] if w["name"] == "Draft"]
    assert draft["environments"][str(t.envs["prod"])]["draft_pending"] is True
    with transaction(runtime.sessions) as session:
        record_state_changes(session, t.tenant_id, StateCause.ENV_SYNC)
        recorded = {c.to_state for c in session.query(StateChange).filter_by(tenant_id=t.tenant_id)}
    assert "draft_pending" in recorded
    catalogue = client.get("/api/v1/canonical/workflows", headers=t.headers)
    assert catalogue.status_code == 200, catalogue.text
    states = {item["name"]: item["states"] for item in catalogue.json()["items"]}
    assert states["Draft"] == {"draft_pending": 1, "in_sync": 1}
    slug = next(i["slug"] for i in catalogue.json()["items"] if i["name"] == "Drift+draft")
    one = client.get(f"/api/v1/canonical/workflows/by-slug/{slug}", headers=t.headers)
    assert one.status_code == 200, one.text
    prod_cell = next(c for c in one.json()["environments"] if c["environment"] == "prod")
    assert (prod_cell["state"], prod_cell["draft_pending"]) == ("drift", True)
    assert prod_cell["draft_hash"] == H3


def test_grid_cells_say_draft_pending_in_symbol_text_and_label() -> None:
    prod = MatrixEnvironment(id=uuid.uuid4(), name="prod")
    cell = {"status": MappingStatus.LINKED.value, "draft_pending": True}
    workflows = [
        {
            "name": name,
            "slug": name.lower(),
            "deleted_in_git": False,
            "environments": {str(prod.id): cell | {"state": state}},
        }
        for name, state in (("Draft", "draft_pending"), ("Edited", "drift"))
    ]
    [draft, edited] = [str(row) for row in grid_rows(workflows, [prod], "/matrix?open=")]
    assert '<td class="draft">' in draft
    assert "✎ draft pending</a>" in draft
    assert 'aria-label="Draft in prod: draft pending"' in draft
    assert '<td class="warn">' in edited
    assert "≠✎ drift, draft pending</a>" in edited
    assert isinstance(grid_rows(workflows, [prod], "/m?open=")[0], Markup)


def test_the_cli_shows_draft_pending_and_the_flag(runtime: Runtime, settings: Settings) -> None:
    t = _estate(runtime)
    with transaction(runtime.sessions) as session:
        slug = session.scalar(select(Tenant.slug).where(Tenant.id == t.tenant_id))
    assert slug is not None
    env = cli_env(settings) | {"NO_COLOR": "1", "COLUMNS": "200"}
    shown = run_cli("matrix", "--env", "prod", "--tenant", slug, env=env)
    assert shown.returncode == 0, shown.stderr
    lines = {line.split("│")[1].strip(): line for line in shown.stdout.splitlines() if "│" in line}
    assert "✎ draft pending" in lines["Draft"] and "+ draft" not in lines["Draft"]
    assert "~ drift + draft ✎" in lines["Drift+draft"]
    assert "✓ in sync" in lines["Same"] and "draft" not in lines["Same"]
    only = run_cli("matrix", "--state", "draft_pending", "--tenant", slug, env=env)
    assert only.returncode == 0, only.stderr
    assert "Draft" in only.stdout and "Plain" not in only.stdout and "1 workflows" in only.stdout


def test_only_a_linked_cell_carries_the_draft_flag(client: TestClient, runtime: Runtime) -> None:
    """A copy archived in n8n (missing) or ignored keeps the draft hash its last sight
    stored, yet runs nothing canonflow compares: no flag in the matrix or the catalogue,
    as the summary's `drafts_pending` counts linked cells only."""
    t = make_tenancy(runtime, ("prod",))
    for name, status in (
        ("Linked", MappingStatus.LINKED),
        ("Archived", MappingStatus.MISSING),
        ("Ignored", MappingStatus.IGNORED),
    ):
        t.add_canonical(name)
        t.add_mapping(name, "prod", status, draft_hash=H2)
    page = _get(client, t)
    flags = {
        name: _cell(page, name, t)["draft_pending"] for name in ("Linked", "Archived", "Ignored")
    }
    assert flags == {"Linked": True, "Archived": False, "Ignored": False}
    [prod] = _get(client, t, "/summary")["environments"]
    assert prod["drafts_pending"] == 1
    for name, flagged in flags.items():
        canonical = t.canonicals[name]
        entry = client.get(f"/api/v1/canonical/workflows/{canonical}", headers=t.headers)
        assert entry.status_code == 200, entry.text
        assert [cell["draft_pending"] for cell in entry.json()["environments"]] == [flagged]
