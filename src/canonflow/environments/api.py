"""`/api/v1/environments`: configure n8n environments and test them (`canonflow.sync.api`
syncs them)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from canonflow.api.deps import Admin, Operator, RuntimeDep, SessionDep, Viewer
from canonflow.environments import bindings, repository, service
from canonflow.environments.bindings import BindingPut, BindingRead
from canonflow.environments.connection import check_environment
from canonflow.environments.schemas import (
    ConnectionResult,
    EnvironmentCreate,
    EnvironmentRead,
    EnvironmentUpdate,
)

router = APIRouter(prefix="/api/v1/environments", tags=["environments"])


@router.get("", response_model=list[EnvironmentRead])
def list_environments(session: SessionDep, principal: Viewer) -> list[EnvironmentRead]:
    """Each environment with its schedule (`sync_interval_s`, `paused`, `next_sync_at`) and
    `last_sync`."""
    return service.read_all(
        session, principal.tenant_id, repository.list_all(session, principal.tenant_id)
    )


@router.post("", response_model=EnvironmentRead, status_code=status.HTTP_201_CREATED)
def create_environment(
    data: EnvironmentCreate, session: SessionDep, runtime: RuntimeDep, principal: Admin
) -> EnvironmentRead:
    environment = service.create(
        session,
        runtime.secrets,
        principal,
        data,
        min_interval_s=runtime.settings.min_sync_interval_s,
    )
    return service.read(session, environment)


@router.get("/{environment_id}", response_model=EnvironmentRead)
def get_environment(
    environment_id: uuid.UUID, session: SessionDep, principal: Viewer
) -> EnvironmentRead:
    return service.read(session, service.get_or_raise(session, principal.tenant_id, environment_id))


@router.patch("/{environment_id}", response_model=EnvironmentRead)
def update_environment(
    environment_id: uuid.UUID,
    data: EnvironmentUpdate,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Admin,
) -> EnvironmentRead:
    """Change an environment; `sync_interval_s` (0: manual only, else at least
    CANONFLOW_MIN_SYNC_INTERVAL_S) and `paused` change its schedule."""
    environment = service.update(
        session,
        runtime.secrets,
        principal,
        environment_id,
        data,
        min_interval_s=runtime.settings.min_sync_interval_s,
    )
    return service.read(session, environment)


@router.delete("/{environment_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_environment(
    environment_id: uuid.UUID, session: SessionDep, principal: Admin
) -> Response:
    service.delete(session, principal, environment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{environment_id}/test-connection", response_model=ConnectionResult)
def test_environment_connection(
    environment_id: uuid.UUID, runtime: RuntimeDep, principal: Operator
) -> ConnectionResult:
    return check_environment(runtime.sessions, runtime.secrets, principal.tenant_id, environment_id)


@router.get("/{environment_id}/credential-bindings", response_model=list[BindingRead])
def list_credential_bindings(
    environment_id: uuid.UUID, session: SessionDep, principal: Viewer
) -> list[BindingRead]:
    return [
        BindingRead.model_validate(b)
        for b in bindings.list_bindings(session, principal, environment_id)
    ]


@router.put("/{environment_id}/credential-bindings", response_model=BindingRead)
def put_credential_binding(
    environment_id: uuid.UUID, data: BindingPut, session: SessionDep, principal: Admin
) -> BindingRead:
    """Bind (credential type, name) to one n8n credential id of this environment."""
    return BindingRead.model_validate(
        bindings.put_binding(session, principal, environment_id, data)
    )


@router.delete(
    "/{environment_id}/credential-bindings/{binding_id}", status_code=status.HTTP_204_NO_CONTENT
)
def delete_credential_binding(
    environment_id: uuid.UUID, binding_id: uuid.UUID, session: SessionDep, principal: Admin
) -> Response:
    bindings.delete_binding(session, principal, environment_id, binding_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
