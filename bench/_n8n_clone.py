"""Grow a stopped bench n8n past its seed by copying the rows n8n itself wrote.

Creating workflows through n8n is slow here: the public API ~50-100/s, and
`import:workflow` ~18/s on a loaded machine (it also indexes each workflow's dependencies,
~23 rows each, in a transaction of its own): 50,000 would take 8-45 minutes. So the bench
has n8n create a seed (5,000 workflows, through `import:workflow`), and grows a copy of that
instance to N by copying, for workflow i, the rows n8n wrote for seed workflow i mod 5,000
(`workflow_entity`, its owner's `shared_workflow`, its `workflow_history` version and its
`workflow_dependency` index), with a fresh 16-character id, a fresh version id and the name
`bench {i:05d}`, in one SQLite transaction while n8n is stopped. The listing then reads
rows n8n wrote, 50,000 of them.
"""

from __future__ import annotations

import random
import sqlite3
import string
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

ID_ALPHABET = string.ascii_letters + string.digits
CHUNK = 5000


def clone_workflows(database: Path, count: int, rng: random.Random) -> int:
    """Bring the n8n database to `count` workflows named `bench NNNNN`; returns how many
    were added. Workflow i copies seed workflow i mod (the seed's size)."""
    connection = sqlite3.connect(database)
    connection.row_factory = sqlite3.Row
    try:
        seed = _rows(connection, "SELECT * FROM workflow_entity ORDER BY name")
        have = len(seed)
        if have >= count:
            return 0
        shared = _grouped(connection, "shared_workflow", "workflowId")
        history = _grouped(connection, "workflow_history", "versionId")
        dependencies = _grouped(connection, "workflow_dependency", "workflowId")
        with connection:  # one transaction
            pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for i in range(have, count):
                source = seed[i % have]
                workflow_id = "".join(rng.choices(ID_ALPHABET, k=16))
                version_id = str(uuid.uuid4())
                pending["workflow_entity"].append(
                    source | {"id": workflow_id, "name": f"bench {i:05d}", "versionId": version_id}
                )
                pending["workflow_history"] += [
                    row | {"versionId": version_id, "workflowId": workflow_id}
                    for row in history[source["versionId"]]
                ]
                pending["shared_workflow"] += [
                    row | {"workflowId": workflow_id} for row in shared[source["id"]]
                ]
                pending["workflow_dependency"] += [
                    {k: v for k, v in row.items() if k != "id"} | {"workflowId": workflow_id}
                    for row in dependencies[source["id"]]
                ]
                if len(pending["workflow_entity"]) >= CHUNK:
                    _flush(connection, pending)
            _flush(connection, pending)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return count - have
    finally:
        connection.close()


def _rows(connection: sqlite3.Connection, sql: str) -> list[dict[str, Any]]:
    return [dict(row) for row in connection.execute(sql)]


def _grouped(
    connection: sqlite3.Connection, table: str, key: str
) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in _rows(connection, f'SELECT * FROM "{table}"'):
        groups[row[key]].append(row)
    return groups


def _flush(connection: sqlite3.Connection, pending: dict[str, list[dict[str, Any]]]) -> None:
    for table in ("workflow_entity", "workflow_history", "shared_workflow", "workflow_dependency"):
        rows = pending.pop(table, [])
        if not rows:
            continue
        columns = list(rows[0])
        names = ", ".join(f'"{column}"' for column in columns)
        marks = ", ".join("?" for _ in columns)
        connection.executemany(
            f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
            [tuple(row[column] for column in columns) for row in rows],
        )
