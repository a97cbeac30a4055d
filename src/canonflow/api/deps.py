"""FastAPI dependencies: the request's session (it owns the transaction) and its principal."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.errors import Forbidden, Unauthorized
from canonflow.runtime import Runtime
from canonflow.tenancy.service import Principal, authenticate

_bearer = HTTPBearer(auto_error=False, description="An API token: `canonflow token create`")


async def get_runtime(request: Request) -> Runtime:
    # async: no I/O, so FastAPI need not hand it to a worker thread
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, else rolled back."""
    with transaction(runtime.sessions) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_principal(session: SessionDep, credentials: BearerDep) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    return authenticate(session, credentials.credentials)


def authorize(session: Session, credentials: BearerDep, role: Role) -> Principal:
    """The caller, who must hold `role`: for hot endpoints that do all their work in one
    worker thread (`Viewer` and the like cost a thread hop per dependency)."""
    return _allowed(get_principal(session, credentials), role)


def require_role(role: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    # async: no I/O here, so FastAPI need not hand it to a worker thread
    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        return _allowed(principal, role)

    return check


def _allowed(principal: Principal, role: Role) -> Principal:
    if not principal.role.allows(role):
        raise Forbidden(
            f"this action needs the {role.value} role; the token has {principal.role.value}"
        )
    return principal


Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
