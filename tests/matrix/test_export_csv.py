"""The CSV export cannot carry a formula into a spreadsheet (OWASP "CSV injection")."""

from __future__ import annotations

import csv
import io

import orjson
from fastapi.testclient import TestClient

from canonflow.runtime import Runtime
from tests.matrix.conftest import make_tenancy

URL = "/api/v1/workflows/matrix/export"
HOSTILE = (
    '=HYPERLINK("http://evil.test","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\tTabbed",
    "\rReturned",
)
PLAIN = ("Billing", "50% off", "a=b", "x-y", "O'Brien")


def test_csv_cells_that_start_a_formula_are_quoted_and_json_is_unchanged(
    client: TestClient, runtime: Runtime
) -> None:
    t = make_tenancy(runtime, ("=env", "prod"))
    for name in HOSTILE + PLAIN:
        t.add_canonical(name)
        t.add_mapping(name, "prod")

    response = client.get(URL, params={"format": "csv"}, headers=t.headers)
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    names = {row["name"] for row in rows}
    assert names == {"'" + name for name in HOSTILE} | set(PLAIN)
    assert {row["environment"] for row in rows} == {"'=env", "prod"}
    for row in rows:
        assert all(not value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in row.values())

    as_json = client.get(URL, params={"format": "json"}, headers=t.headers)
    exported = orjson.loads(as_json.content)
    assert {row["name"] for row in exported["workflows"]} == set(HOSTILE + PLAIN)
    assert {env["name"] for env in exported["environments"]} == {"=env", "prod"}
