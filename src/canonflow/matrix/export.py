"""The matrix export, streamed: CSV (one cell a line) or JSON (one workflow an item), read
in its own snapshot as the response is sent. Used by the API and the UI's export links."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any, Literal

import orjson
from sqlalchemy.orm import Session, sessionmaker

from canonflow.db.engine import read_transaction
from canonflow.matrix import service
from canonflow.matrix.queries import MatrixFilter
from canonflow.matrix.service import MatrixEnvironment
from canonflow.matrix.spreadsheet import InertCsvWriter

ExportFormat = Literal["csv", "json"]
_JSON = orjson.OPT_NON_STR_KEYS


def stream(
    sessions: sessionmaker[Session],
    tenant_id: uuid.UUID,
    environments: list[MatrixEnvironment],
    filters: MatrixFilter,
    format: ExportFormat,
) -> tuple[Iterator[bytes], str]:
    """The export's chunks and media type: every workflow the filters keep."""

    def rows() -> Iterator[dict[str, Any]]:
        with read_transaction(sessions) as snapshot:
            yield from service.export_rows(snapshot, tenant_id, environments, filters)

    if format == "csv":
        return csv_chunks(rows(), {str(e.id): e.name for e in environments}), "text/csv"
    return json_chunks(rows(), environments), "application/json"


CSV_COLUMNS = (
    "canonical_id",
    "name",
    "slug",
    "environment_id",
    "environment",
    "status",
    "state",
    "synced",
    "env_hash",
    "git_hash",
    "base_hash",
    "n8n_updated_at",
    "draft_pending",
    "draft_hash",
)


def csv_chunks(rows: Iterator[dict[str, Any]], names: dict[str, str]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = InertCsvWriter(buffer)  # no cell starts a formula
    writer.writerow(CSV_COLUMNS)
    for count, workflow in enumerate(rows, start=1):
        for environment_id, cell in workflow["environments"].items():
            writer.writerow(
                (
                    workflow["canonical_id"],
                    workflow["name"],
                    workflow["slug"],
                    environment_id,
                    names[environment_id],
                    cell["status"],
                    cell["state"] or "",
                    "true" if cell["synced"] else "false",
                    cell.get("env_hash") or "",
                    cell.get("git_hash") or "",
                    cell.get("base_hash") or "",
                    cell.get("n8n_updated_at") or "",
                    "true" if cell.get("draft_pending") else "false",
                    cell.get("draft_hash") or "",
                )
            )
        if count % 200 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def json_chunks(
    rows: Iterator[dict[str, Any]], environments: list[MatrixEnvironment]
) -> Iterator[bytes]:
    head = orjson.dumps([asdict(e) for e in environments], option=_JSON)
    yield b'{"environments":' + head + b',"workflows":['
    batch: list[bytes] = []
    first = True
    for workflow in rows:
        batch.append(orjson.dumps(workflow, option=_JSON))
        if len(batch) == 200:
            yield (b"" if first else b",") + b",".join(batch)
            first, batch = False, []
    if batch:
        yield (b"" if first else b",") + b",".join(batch)
    yield b"]}"
