"""The matrix endpoints on hand-built rows, on both backends."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from fastapi.testclient import TestClient

from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import derive_sync_state
from canonflow.runtime import Runtime
from tests.matrix.conftest import H1, H2, H3, Tenancy, make_tenancy, names

URL = "/api/v1/workflows/matrix"


def _get(client: TestClient, t: Tenancy, path: str = "", **params: Any) -> Any:
    response = client.get(URL + path, params=params, headers=t.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _cell(page: dict[str, Any], name: str, env: uuid.UUID) -> dict[str, Any]:
    [row] = [row for row in page["workflows"] if row["name"] == name]
    cell: dict[str, Any] = row["environments"][str(env)]
    return cell


def test_every_cell_and_state(client: TestClient, estate: Tenancy) -> None:
    page = _get(client, estate)
    assert names(page) == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    assert [e["name"] for e in page["environments"]] == ["dev", "prod", "staging"]
    assert page["next_cursor"] is None
    e = estate.envs
    expected = {
        ("Alpha", "prod"): ("linked", "in_sync", True),
        ("Alpha", "dev"): ("linked", "drift", False),
        ("Alpha", "staging"): ("absent", None, False),
        ("Bravo", "prod"): ("linked", "out_of_date", False),
        ("Bravo", "dev"): ("linked", "conflict", False),
        ("Bravo", "staging"): ("linked", "unknown", False),
        ("Charlie", "staging"): ("linked", "in_sync", True),
        ("Delta", "prod"): ("missing", None, False),
        ("Delta", "dev"): ("ignored", None, False),
        ("Delta", "staging"): ("deleted", None, False),
        ("Echo", "staging"): ("linked", "orphaned", False),  # its canonical is deleted in Git
    }
    for (name, env), (status, state, synced) in expected.items():
        cell = _cell(page, name, e[env])
        assert (cell["status"], cell["state"], cell["synced"]) == (status, state, synced), name
    bravo_dev = _cell(page, "Bravo", e["dev"])
    assert (bravo_dev["env_hash"], bravo_dev["git_hash"], bravo_dev["base_hash"]) == (
        "2" * 12,
        "3" * 12,
        "1" * 12,
    )
    assert uuid.UUID(bravo_dev["mapping_id"])


def test_filters(client: TestClient, estate: Tenancy) -> None:
    assert names(_get(client, estate, state="drift")) == ["Alpha"]
    assert names(_get(client, estate, state=["conflict", "in_sync"])) == [
        "Alpha",
        "Bravo",
        "Charlie",
    ]
    assert names(_get(client, estate, status="missing")) == ["Delta"]
    assert names(_get(client, estate, status="absent")) == ["Alpha"]
    assert names(_get(client, estate, problems=True)) == ["Alpha", "Bravo", "Delta", "Echo"]
    assert names(_get(client, estate, q="HA")) == ["Alpha", "Charlie"]
    assert names(_get(client, estate, q="%")) == []  # a LIKE wildcard is a plain character
    prod = str(estate.envs["prod"])
    only_prod = _get(client, estate, environment_id=prod, problems=True)
    assert names(only_prod) == ["Bravo", "Delta"]
    assert [list(row["environments"]) for row in only_prod["workflows"]] == [[prod], [prod]]
    assert [e["name"] for e in only_prod["environments"]] == ["prod"]


def test_bad_input_and_other_tenants(client: TestClient, estate: Tenancy) -> None:
    other: Tenancy = estate.other  # type: ignore[attr-defined]
    foreign = client.get(
        URL, params={"environment_id": str(other.envs["prod"])}, headers=estate.headers
    )
    assert foreign.status_code == 404
    assert foreign.headers["content-type"].startswith("application/problem+json")
    assert client.get(URL, params={"state": "sideways"}, headers=estate.headers).status_code == 422
    assert client.get(URL, params={"cursor": "zzz"}, headers=estate.headers).status_code == 422
    assert client.get(URL, params={"limit": 501}, headers=estate.headers).status_code == 422
    assert client.get(URL).status_code == 401
    theirs = _get(client, other)
    assert names(theirs) == ["Alpha"] and len(theirs["environments"]) == 1


def test_pages_never_skip_or_repeat_while_rows_arrive(client: TestClient, runtime: Runtime) -> None:
    t = make_tenancy(runtime, ("prod",))
    originals = [f"wf {i:03d}" for i in range(0, 60, 2)]
    for name in originals:
        t.add_canonical(name)
        t.add_mapping(name, "prod")
    seen: list[str] = []
    cursor, inserted = None, itertools.count(1, 2)
    while True:
        page = _get(client, t, limit=7, **({"cursor": cursor} if cursor else {}))
        seen += names(page)
        for _ in range(2):  # new rows on both sides of the cursor
            t.add_canonical(f"wf {next(inserted):03d}")
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and seen == sorted(seen)
    assert set(originals) <= set(seen)


def test_summary(client: TestClient, estate: Tenancy) -> None:
    summary = {e["name"]: e for e in _get(client, estate, "/summary")["environments"]}
    assert summary["dev"]["statuses"] == {
        "linked": 3,
        "ignored": 1,
        "untracked": 1,
        "absent": 0,
    }
    assert summary["dev"]["states"] == {"drift": 1, "conflict": 1, "in_sync": 1}
    assert summary["staging"]["statuses"] == {"linked": 3, "deleted": 1, "absent": 1}
    # Echo's copy is orphaned (its canonical deleted in Git), never in sync
    assert summary["staging"]["states"] == {"in_sync": 1, "unknown": 1, "orphaned": 1}
    assert summary["prod"]["states"] == {"in_sync": 2, "out_of_date": 1}


def test_n8n_updated_at_is_utc_iso_text_on_page_and_export(
    client: TestClient, runtime: Runtime
) -> None:
    t = make_tenancy(runtime, ("prod", "dev"))
    t.add_canonical("Timed")
    paris = timezone(timedelta(hours=1))
    t.add_mapping("Timed", "prod", updated_at=datetime(2026, 11, 27, 10, 0, 5, 123456, paris))
    t.add_mapping("Timed", "dev", updated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    page = _get(client, t)
    prod, dev = _cell(page, "Timed", t.envs["prod"]), _cell(page, "Timed", t.envs["dev"])
    assert prod["n8n_updated_at"] == "2026-11-27T09:00:05.123456+00:00"
    assert dev["n8n_updated_at"] == "2026-01-02T03:04:05.000000+00:00"
    assert datetime.fromisoformat(dev["n8n_updated_at"]) == datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=UTC
    )
    as_csv = client.get(URL + "/export", params={"format": "csv"}, headers=t.headers)
    stamps = {
        r["environment"]: r["n8n_updated_at"] for r in csv.DictReader(io.StringIO(as_csv.text))
    }
    assert stamps == {"prod": prod["n8n_updated_at"], "dev": dev["n8n_updated_at"]}


def test_search_matches_the_name_as_typed_and_ignores_ascii_case(
    client: TestClient, runtime: Runtime
) -> None:
    t = make_tenancy(runtime, ("prod",))
    for name in ("Ärger Report", "50% off_sale", "Plain"):
        t.add_canonical(name)
    assert names(_get(client, t, q="Ärger")) == ["Ärger Report"]
    assert names(_get(client, t, q="REPORT")) == ["Ärger Report"]
    assert names(_get(client, t, q="% OFF_")) == ["50% off_sale"]
    assert names(_get(client, t, q="_")) == ["50% off_sale"]  # a LIKE wildcard, taken literally


def test_export_json_and_csv_hold_every_cell(client: TestClient, estate: Tenancy) -> None:
    response = client.get(URL + "/export", params={"format": "json"}, headers=estate.headers)
    assert response.status_code == 200
    exported = orjson.loads(response.content)
    assert exported["workflows"] == _get(client, estate)["workflows"]
    as_csv = client.get(URL + "/export", params={"format": "csv"}, headers=estate.headers)
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == 5 * 3
    drift = [r for r in rows if r["state"] == "drift"]
    assert [(r["name"], r["environment"], r["synced"]) for r in drift] == [
        ("Alpha", "dev", "false")
    ]
    problems = client.get(
        URL + "/export", params={"format": "csv", "problems": "true"}, headers=estate.headers
    )
    assert {r["name"] for r in csv.DictReader(io.StringIO(problems.text))} == {
        "Alpha",
        "Bravo",
        "Delta",
        "Echo",
    }


def test_sql_state_matches_the_domain_rule_everywhere(client: TestClient, runtime: Runtime) -> None:
    t = make_tenancy(runtime, ("prod",))
    combos = list(itertools.product([None, H1, H2, H3], repeat=3))
    expected: dict[str, str | None] = {}
    for i, (env_hash, git_hash, base_hash) in enumerate(combos):
        for status in (MappingStatus.LINKED, MappingStatus.MISSING):
            name = f"c{i:02d}-{status.value}"
            t.add_canonical(name)
            t.add_mapping(
                name, "prod", status, env_hash=env_hash, git_hash=git_hash, base_hash=base_hash
            )
            expected[name] = (
                derive_sync_state(env_hash, git_hash, base_hash).value
                if status is MappingStatus.LINKED
                else None
            )
    page = _get(client, t, limit=500)
    prod = str(t.envs["prod"])
    got = {row["name"]: row["environments"][prod]["state"] for row in page["workflows"]}
    assert got == expected


def test_copies_of_a_canonical_deleted_in_git_are_orphaned_cells(
    client: TestClient, runtime: Runtime
) -> None:
    t = make_tenancy(runtime, ("dev", "prod", "staging"))
    t.add_canonical("Live")
    t.add_mapping("Live", "prod")
    t.add_canonical("Gone", deleted=True)  # deleted in Git; prod and dev still hold copies
    t.add_mapping("Gone", "prod")  # equal hashes: would read as in sync
    t.add_mapping("Gone", "dev", env_hash=H2)
    t.add_canonical("Pruned", deleted=True)  # nothing of it left alive in n8n
    t.add_mapping("Pruned", "prod", MappingStatus.DELETED)
    t.add_mapping("Pruned", "dev", MappingStatus.MISSING)
    t.add_canonical("Hushed", deleted=True)  # its copy is ignored, but still in n8n
    t.add_mapping("Hushed", "staging", MappingStatus.IGNORED)
    page = _get(client, t)
    assert names(page) == ["Gone", "Hushed", "Live"]
    hushed = _cell(page, "Hushed", t.envs["staging"])
    assert (hushed["status"], hushed["state"]) == ("ignored", None)
    [gone] = [row for row in page["workflows"] if row["name"] == "Gone"]
    assert gone["deleted_in_git"] is True
    for env in ("prod", "dev"):
        cell = _cell(page, "Gone", t.envs[env])
        assert (cell["status"], cell["state"], cell["synced"]) == ("linked", "orphaned", False)
    assert _cell(page, "Gone", t.envs["staging"])["status"] == "absent"
    assert names(_get(client, t, state="orphaned")) == ["Gone"]
    assert names(_get(client, t, state="in_sync")) == ["Live"]
    assert names(_get(client, t, problems=True)) == ["Gone", "Hushed", "Live"]
    assert "Gone" not in names(_get(client, t, status="absent"))  # nothing to create
    assert names(_get(client, t, environment_id=str(t.envs["staging"]))) == ["Hushed", "Live"]
    summary = {e["name"]: e for e in _get(client, t, "/summary")["environments"]}
    assert summary["prod"]["states"] == {"in_sync": 1, "orphaned": 1}
    assert summary["dev"]["states"] == {"orphaned": 1}
    assert summary["staging"]["statuses"] == {"ignored": 1, "absent": 1}  # absent: Live only
    exported = orjson.loads(
        client.get(URL + "/export", params={"format": "json"}, headers=t.headers).content
    )
    assert exported["workflows"] == page["workflows"]
    as_csv = client.get(
        URL + "/export", params={"format": "csv", "state": "orphaned"}, headers=t.headers
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {(r["name"], r["environment"], r["state"], r["synced"]) for r in rows} == {
        ("Gone", "prod", "orphaned", "false"),
        ("Gone", "dev", "orphaned", "false"),
        ("Gone", "staging", "", "false"),
    }
