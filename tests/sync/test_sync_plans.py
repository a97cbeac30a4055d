"""The statements an environment sync sends for a listed page look their rows up by key,
not by walking every mapping of the tenant or the environment.

SQLite plans without statistics, and it guessed that `tenant_id = ?` selects ~10 rows. So
its plan for `tenant_id = ? AND id IN (<a page of ids>)` walked the tenant's index over
all its mappings, on every page: quadratic in the size of the environment (issue 19's
50,000-workflow first sync spent half its time there). The test records every statement
of real syncs against a real n8n and asks SQLite for each one's plan. Plans do not depend
on the data without statistics, so a few workflows show the plan of 50,000.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event

from canonflow.sync import environment
from tests.sync.conftest import EnvUnderTest

Create = Callable[..., dict[str, Any]]
#: Rows named by key in the statement: a list of ids (or n8n ids, or canonical ids).
KEYED = re.compile(r"\b(id|n8n_workflow_id|canonical_id) IN \(\?")
#: A plan step that ranges over the tenant's (or environment's) mappings.
WALK = re.compile(
    r"SCAN workflow_env_map\b|SEARCH workflow_env_map USING (COVERING )?INDEX \w+ "
    r"\(tenant_id=\?( AND environment_id=\?)?\)"
)


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every single-row-set statement sent through `engine` (not executemany), with its
    parameters, while the block runs."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if not many:
            seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def walks(engine: Engine, sql: str, params: Any) -> list[str]:
    """The plan steps of a keyed statement that range over the tenant's mappings."""
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
    return [row[3] for row in plan if WALK.search(row[3])]


def test_a_syncs_keyed_statements_look_rows_up_by_key(
    backend: str,
    dev_env: EnvUnderTest,
    create_in_n8n: Create,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's planner: PostgreSQL plans from its statistics")
    monkeypatch.setattr(environment, "PAGE_SIZE", 3)
    monkeypatch.setattr(environment, "MISSING_PAGE", 3)
    made = [create_in_n8n(dev_env, f"Planned {i}") for i in range(7)]
    engine = dev_env.runtime.engine
    with statements(engine) as seen:
        first = dev_env.sync()
        with dev_env.n8n_http() as http:
            body = {k: made[0][k] for k in ("nodes", "connections", "settings")}
            http.put(f"/workflows/{made[0]['id']}", json={**body, "name": "Planned again"})
            http.delete(f"/workflows/{made[1]['id']}").raise_for_status()
        second = dev_env.sync()
    assert (first.created, second.updated, second.missing) == (7, 1, 1)

    keyed = {sql: params for sql, params in seen if "workflow_env_map" in sql and KEYED.search(sql)}
    assert len(keyed) >= 3  # the page's mappings, the state recording, the ignored hashes
    walking = {sql: steps for sql, params in keyed.items() if (steps := walks(engine, sql, params))}
    assert walking == {}
