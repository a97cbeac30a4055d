"""`/api/v1/workflows/matrix`, `/matrix/summary`, `/matrix/export`."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from canonflow.api.deps import BearerDep, RuntimeDep, SessionDep, Viewer, authorize
from canonflow.api.pagination import decode_cursor, encode_cursor
from canonflow.core.enums import Role
from canonflow.core.sync_state import SyncState
from canonflow.db.engine import read_transaction, statement_reads
from canonflow.errors import Invalid
from canonflow.matrix import export, service
from canonflow.matrix.queries import MatrixFilter
from canonflow.matrix.schemas import MatrixPageRead, MatrixSummaryRead

router = APIRouter(prefix="/api/v1/workflows/matrix", tags=["matrix"])
StatusName = Literal["linked", "untracked", "missing", "ignored", "deleted", "absent"]
EnvironmentIds = Annotated[list[uuid.UUID], Query(alias="environment_id")]
Statuses = Annotated[list[StatusName], Query(alias="status")]
States = Annotated[list[SyncState], Query(alias="state")]
_JSON = orjson.OPT_NON_STR_KEYS


@router.get("", response_model=MatrixPageRead, summary="Canonical workflows x environments")
async def matrix_page(
    runtime: RuntimeDep,
    credentials: BearerDep,
    environment_ids: EnvironmentIds = [],  # noqa: B006 (FastAPI copies defaults)
    statuses: Statuses = [],  # noqa: B006
    states: States = [],  # noqa: B006
    q: Annotated[str | None, Query(max_length=200)] = None,
    problems: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Response:
    filters = _filters(statuses, states, q, problems)
    after = _after(cursor) if cursor else None

    def work() -> bytes:  # all of it in one worker thread: this is the hot path
        # two statements, no transaction: the page is one statement, its own snapshot
        with statement_reads(runtime.sessions) as session:
            principal, known = authorize(runtime, session, credentials, Role.VIEWER)
            environments = service.chosen_environments(known, environment_ids)
            result = service.page_json(
                session, principal.tenant_id, environments, filters, after=after, limit=limit
            )
        following = result.next_after
        rest = {
            "environments": [asdict(e) for e in result.environments],
            "next_cursor": encode_cursor([following[0], str(following[1])]) if following else None,
        }
        workflows = service.encode_workflows(result.workflows)
        return b'{"workflows":' + workflows + b"," + orjson.dumps(rest, option=_JSON)[1:]

    return Response(await run_in_threadpool(work), media_type="application/json")


@router.get("/summary", response_model=MatrixSummaryRead)
async def matrix_summary(
    runtime: RuntimeDep,
    credentials: BearerDep,
    environment_ids: EnvironmentIds = [],  # noqa: B006
) -> Response:
    def work() -> bytes:
        with read_transaction(runtime.sessions) as session:
            principal, known = authorize(runtime, session, credentials, Role.VIEWER)
            environments = service.chosen_environments(known, environment_ids)
            summary = service.summary(session, principal.tenant_id, environments)
        return orjson.dumps({"environments": summary}, option=_JSON)

    return Response(await run_in_threadpool(work), media_type="application/json")


@router.get("/export", response_class=StreamingResponse)
def matrix_export(
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Viewer,
    format: Literal["csv", "json"] = "json",
    environment_ids: EnvironmentIds = [],  # noqa: B006
    statuses: Statuses = [],  # noqa: B006
    states: States = [],  # noqa: B006
    q: Annotated[str | None, Query(max_length=200)] = None,
    problems: bool = False,
) -> StreamingResponse:
    """The whole tenant (or what the filters keep), streamed: one cell a line in CSV."""
    environments = service.environments_of(session, principal.tenant_id, environment_ids)
    filters = _filters(statuses, states, q, problems)
    tenant_id = principal.tenant_id

    stream, media = export.stream(runtime.sessions, tenant_id, environments, filters, format)
    headers = {"Content-Disposition": f'attachment; filename="matrix.{format}"'}
    return StreamingResponse(stream, media_type=media, headers=headers)


def _filters(
    statuses: list[StatusName], states: list[SyncState], q: str | None, problems: bool
) -> MatrixFilter:
    return MatrixFilter(
        statuses=tuple(statuses), states=tuple(states), search=q or None, problems_only=problems
    )


def _after(cursor: str) -> tuple[str, uuid.UUID]:
    values = decode_cursor(cursor)
    try:
        name, last_id = values
        if not isinstance(name, str):
            raise ValueError(name)
        return name, uuid.UUID(last_id)
    except (ValueError, TypeError):
        raise Invalid("invalid cursor: pass back the next_cursor of a previous page") from None
