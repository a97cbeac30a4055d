"""The overview: each environment's counts, last and next sync."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from canonflow.api.deps import SessionDep
from canonflow.environments import repository as environments_repository
from canonflow.environments import service as environments
from canonflow.matrix import service as matrix
from canonflow.web.deps import UiDep, csrf_protect
from canonflow.web.rendering import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


@router.get("/")
def overview(request: Request, session: SessionDep, ui: UiDep) -> Response:
    found = environments_repository.list_all(session, ui.tenant_id)
    rows = environments.read_all(session, ui.tenant_id, found)
    counts = {
        row["id"]: row
        for row in matrix.summary(
            session, ui.tenant_id, matrix.environments_of(session, ui.tenant_id)
        )
    }
    return render(request, ui, "overview.html", {"environments": rows, "counts": counts})
