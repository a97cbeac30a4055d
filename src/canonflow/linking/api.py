"""`/api/v1/canonical/untracked`, `/link`, `/link/bulk` and the mapping actions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from canonflow.api.deps import Operator, SessionDep, Viewer
from canonflow.api.pagination import decode_cursor, encode_cursor
from canonflow.environments import service as environments
from canonflow.errors import Invalid
from canonflow.linking import service
from canonflow.linking.schemas import (
    BulkLinkBody,
    BulkLinkItem,
    BulkLinkResult,
    LinkBody,
    LinkResult,
    MappingRead,
    UntrackedItem,
    UntrackedPage,
)
from canonflow.linking.untracked import untracked_page

router = APIRouter(prefix="/api/v1/canonical", tags=["linking"])


@router.get("/untracked", response_model=UntrackedPage)
def list_untracked(
    session: SessionDep,
    principal: Viewer,
    environment_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> UntrackedPage:
    if environment_id is not None:
        environments.get_or_raise(session, principal.tenant_id, environment_id)
    rows = untracked_page(
        session,
        principal.tenant_id,
        environment_id=environment_id,
        limit=limit + 1,
        after=_after(cursor) if cursor else None,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].name, str(rows[-1].mapping_id)])
    return UntrackedPage(
        items=[UntrackedItem.model_validate(row, from_attributes=True) for row in rows],
        next_cursor=next_cursor,
    )


@router.post("/link", response_model=LinkResult)
def link(body: LinkBody, session: SessionDep, principal: Operator) -> LinkResult:
    outcome = service.link(session, principal, _request(body))
    return LinkResult.model_validate(outcome, from_attributes=True)


@router.post("/link/bulk", response_model=BulkLinkResult)
def link_bulk(body: BulkLinkBody, session: SessionDep, principal: Operator) -> BulkLinkResult:
    outcomes = service.link_many(session, principal, [_request(item) for item in body.items])
    items = [
        BulkLinkItem(
            mapping_id=o.request.mapping_id,
            result="linked",
            canonical_id=o.outcome.canonical_id,
            created_canonical=o.outcome.created_canonical,
        )
        if o.outcome is not None
        else BulkLinkItem(
            mapping_id=o.request.mapping_id,
            result="error",
            error=o.error.message if o.error else "failed",
            error_code=o.error.code if o.error else None,
        )
        for o in outcomes
    ]
    linked = sum(1 for item in items if item.result == "linked")
    return BulkLinkResult(linked=linked, failed=len(items) - linked, items=items)


@router.post("/mappings/{mapping_id}/ignore", response_model=MappingRead)
def ignore(mapping_id: uuid.UUID, session: SessionDep, principal: Operator) -> MappingRead:
    return MappingRead.model_validate(
        service.set_ignored(session, principal, mapping_id, ignored=True)
    )


@router.post("/mappings/{mapping_id}/unignore", response_model=MappingRead)
def unignore(mapping_id: uuid.UUID, session: SessionDep, principal: Operator) -> MappingRead:
    return MappingRead.model_validate(
        service.set_ignored(session, principal, mapping_id, ignored=False)
    )


@router.post("/mappings/{mapping_id}/delete", response_model=MappingRead)
def delete(mapping_id: uuid.UUID, session: SessionDep, principal: Operator) -> MappingRead:
    return MappingRead.model_validate(service.delete(session, principal, mapping_id))


def _request(body: LinkBody) -> service.LinkRequest:
    return service.LinkRequest(body.mapping_id, body.canonical_id, body.slug)


def _after(cursor: str) -> tuple[str | None, uuid.UUID]:
    values = decode_cursor(cursor)
    try:
        name, last_id = values
        if name is not None and not isinstance(name, str):
            raise ValueError(name)
        return name, uuid.UUID(last_id)
    except (ValueError, TypeError):
        raise Invalid("invalid cursor: pass back the next_cursor of a previous page") from None
