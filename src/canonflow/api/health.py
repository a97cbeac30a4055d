"""Liveness, readiness, and who-am-I."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from canonflow.api.deps import RuntimeDep, Viewer
from canonflow.core.enums import Role
from canonflow.db.migrate import current_revision

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    schema_revision: str | None = None


class Me(BaseModel):
    tenant_id: uuid.UUID
    tenant: str
    token_name: str
    role: Role


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:  # no I/O: no worker-thread hop
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(runtime: RuntimeDep) -> Readiness | JSONResponse:
    """The database answers and is migrated."""
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(runtime.engine)
    except SQLAlchemyError:
        body = Readiness(status="unavailable", database="unreachable")
        return JSONResponse(body.model_dump(), status_code=503)
    if revision is None:
        body = Readiness(status="unavailable", database="not migrated")
        return JSONResponse(body.model_dump(), status_code=503)
    return Readiness(status="ok", database="ok", schema_revision=revision)


@router.get("/api/v1/me", response_model=Me)
async def me(principal: Viewer) -> Me:  # no I/O: no worker-thread hop
    """The tenant and role of the calling token."""
    return Me(
        tenant_id=principal.tenant_id,
        tenant=principal.tenant_slug,
        token_name=principal.name,
        role=principal.role,
    )
