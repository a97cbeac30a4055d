"""`/api/v1/canonical/workflows` (list, get, by slug, history) and
`/api/v1/workflows/drift-trend`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response

from canonflow.api.deps import SessionDep, Viewer
from canonflow.api.pagination import decode_cursor, encode_cursor
from canonflow.catalogue import service
from canonflow.catalogue.queries import CatalogueFilter
from canonflow.catalogue.schemas import (
    CatalogueItem,
    CataloguePageRead,
    CatalogueWorkflowRead,
    DriftTrendRead,
    HistoryRead,
    StateChangeRead,
)
from canonflow.catalogue.states import CELL_STATES
from canonflow.errors import Invalid

router = APIRouter(prefix="/api/v1/canonical/workflows", tags=["catalogue"])
trend_router = APIRouter(prefix="/api/v1/workflows", tags=["catalogue"])
Text = Annotated[str | None, Query(max_length=200)]


@router.get("", response_model=CataloguePageRead, summary="List canonical workflows")
def list_workflows(
    session: SessionDep,
    principal: Viewer,
    q: Annotated[str | None, Query(max_length=200, description="name or slug contains")] = None,
    slug: Text = None,
    deleted: Annotated[bool, Query(description="deleted ones only (default: live)")] = False,
    in_git: Annotated[bool | None, Query(description="has a file in Git yet")] = None,
    tag: Annotated[str | None, Query(max_length=200, description="n8n tag in the anchor")] = None,
    state: Annotated[str | None, Query(description="any cell in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> CataloguePageRead:
    if state is not None and state not in CELL_STATES:
        raise Invalid(f"unknown state {state!r}: one of {', '.join(CELL_STATES)}")
    filters = CatalogueFilter(q or None, slug or None, deleted, in_git, tag or None, state)
    result = service.page(
        session, principal.tenant_id, filters, after=_after(cursor) if cursor else None, limit=limit
    )
    following = result.next_after
    return CataloguePageRead(
        items=[CatalogueItem.model_validate(item) for item in result.items],
        next_cursor=encode_cursor([following[0], str(following[1])]) if following else None,
    )


@router.get("/by-slug/{slug}", response_model=CatalogueWorkflowRead, summary="Get one by its slug")
def get_by_slug(slug: str, session: SessionDep, principal: Viewer) -> CatalogueWorkflowRead:
    return CatalogueWorkflowRead.model_validate(
        service.get(session, principal.tenant_id, slug=slug)
    )


@router.get("/{canonical_id}", response_model=CatalogueWorkflowRead, summary="Get one")
def get_workflow(
    canonical_id: uuid.UUID, session: SessionDep, principal: Viewer
) -> CatalogueWorkflowRead:
    return CatalogueWorkflowRead.model_validate(
        service.get(session, principal.tenant_id, canonical_id=canonical_id)
    )


@router.get("/{canonical_id}/history", response_model=HistoryRead, summary="State timeline")
def workflow_history(
    canonical_id: uuid.UUID,
    session: SessionDep,
    principal: Viewer,
    since: Annotated[datetime | None, Query(description="changes at or after this time")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> HistoryRead:
    if since is not None and since.tzinfo is None:
        raise Invalid("since needs a time zone (e.g. 2026-12-01T00:00:00Z)")
    items = service.history(session, principal.tenant_id, canonical_id, since=since, limit=limit)
    return HistoryRead(items=[StateChangeRead.model_validate(i) for i in items])


@trend_router.get("/drift-trend", response_model=DriftTrendRead, summary="Drift per day")
def drift_trend(
    session: SessionDep,
    principal: Viewer,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    environment_id: uuid.UUID | None = None,
) -> Response:
    """Serialized with orjson straight from the service's dicts (the shape is
    `DriftTrendRead`): 20 environments x 30 days are 600 items, and validating them again
    cost a third of the answer (bench/drift_trend.py)."""
    items = service.drift_trend(
        session, principal.tenant_id, days=days, environment_id=environment_id
    )
    return Response(orjson.dumps({"items": items}), media_type="application/json")


def _after(cursor: str) -> tuple[str, uuid.UUID]:
    values = decode_cursor(cursor)
    try:
        name, last_id = values
        if not isinstance(name, str):
            raise ValueError(name)
        return name, uuid.UUID(last_id)
    except (ValueError, TypeError):
        raise Invalid("invalid cursor: pass back the next_cursor of a previous page") from None
