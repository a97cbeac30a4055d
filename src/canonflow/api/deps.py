"""FastAPI dependencies: the request's unit of work and its principal.

The request's session is a `yield` dependency with scope "function": its teardown (the
commit) runs when the handler returns and *before* the response is sent. A `2xx` therefore
means committed, a job id returned can be read at once from any connection, and a commit
that fails becomes a `5xx` problem instead of a success that never happened. This is the
one place a request commits; handlers never do.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from canonflow.core.enums import Role
from canonflow.db.engine import read_transaction, transaction
from canonflow.errors import Forbidden, Unauthorized
from canonflow.runtime import Runtime
from canonflow.tenancy.service import (
    Principal,
    authenticate,
    authenticate_with_environments,
    record_use,
)
from canonflow.tenancy.tokens import hash_token

_bearer = HTTPBearer(auto_error=False, description="An API token: `canonflow token create`")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_runtime(request: Request) -> Runtime:
    # async: no I/O, so FastAPI need not hand it to a worker thread
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(request: Request, runtime: RuntimeDep) -> Iterator[Session]:
    """The request's unit of work. A read (GET, HEAD) gets one snapshot that takes no write
    lock; a write gets a transaction committed when the handler returns, before the
    response goes out, and rolled back on any error."""
    unit = read_transaction if request.method in READ_METHODS else transaction
    with unit(runtime.sessions) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_principal(runtime: RuntimeDep, credentials: BearerDep) -> Principal:
    """The caller, from the principal cache (PostgreSQL, see `tenancy.principal_cache`) or
    read in a short snapshot of its own: a handler that calls a remote (n8n, Git, a forge)
    holds no transaction while it waits."""
    secret = _bearer_secret(credentials)
    cache, token_hash = runtime.principals, hash_token(secret)
    generation = cache.generation  # taken first: a drop after it keeps what we read out
    principal = cache.get(token_hash)
    if principal is None:
        with read_transaction(runtime.sessions) as session:
            principal = authenticate(session, secret)
        cache.put(token_hash, principal, generation)
    used = record_use(runtime.sessions, principal)
    if used is not None:
        cache.put(token_hash, used, generation)
        principal = used
    return principal


def authorize(
    runtime: Runtime, session: Session, credentials: BearerDep, role: Role
) -> tuple[Principal, list[tuple[uuid.UUID, str]]]:
    """The caller, who must hold `role`, and its tenant's environments (id, name; by name),
    read in one statement in the handler's own session: for hot endpoints that do all
    their work in one worker thread (`Viewer` and the like cost a thread hop per
    dependency). Never cached: it reads the token in the request's own snapshot."""
    principal, environments = authenticate_with_environments(session, _bearer_secret(credentials))
    record_use(runtime.sessions, principal)
    return _allowed(principal, role), environments


def _bearer_secret(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    return credentials.credentials


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
