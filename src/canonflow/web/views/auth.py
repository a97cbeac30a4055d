"""Sign in with an API token, sign out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from canonflow.api.deps import RuntimeDep
from canonflow.config import Mode
from canonflow.db.engine import read_transaction
from canonflow.db.types import utcnow
from canonflow.errors import Unauthorized
from canonflow.tenancy.service import authenticate
from canonflow.web.deps import (
    FormDep,
    UiDep,
    csrf_protect,
    current_session,
    session_lifetime,
    signer,
)
from canonflow.web.rendering import redirect, render
from canonflow.web.session import COOKIE_NAME, UiSession

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def safe_next(value: str | None) -> str:
    """Only a local path: never an open redirect to another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@router.get("/signin")
def signin_page(request: Request, runtime: RuntimeDep, next: str = "/") -> Response:
    session = current_session(request)
    fresh = session is None
    if session is None:
        session = signer(request).anonymous(utcnow(), session_lifetime(request))
    response = _signin_form(request, session, safe_next(next))
    if fresh:
        _set_cookie(response, request, runtime.settings.mode, session)
    return response


@router.post("/signin")
def signin(request: Request, runtime: RuntimeDep, form: FormDep) -> Response:
    token = form.get("token").strip()
    target = safe_next(form.get("next"))
    try:
        with read_transaction(runtime.sessions) as db:
            principal = authenticate(db, token)
    except Unauthorized:
        session = current_session(request)
        assert session is not None  # csrf_protect passed, so there is one
        return _signin_form(
            request, session, target, error="That token is unknown or revoked.", status=401
        )
    assert principal.token_id is not None
    session = signer(request).signed_in(
        utcnow(),
        session_lifetime(request),
        token_id=principal.token_id,
        tenant_id=principal.tenant_id,
    )
    response = redirect(target)
    _set_cookie(response, request, runtime.settings.mode, session)
    return response


@router.post("/signout")
def signout(request: Request, ui: UiDep) -> Response:
    response = redirect("/signin")
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response


def _signin_form(
    request: Request, session: UiSession, target: str, *, error: str = "", status: int = 200
) -> Response:
    return render(
        request,
        None,
        "signin.html",
        {
            "csrf_token": signer(request).csrf_token(session),
            "next": target,
            "error": error,
        },
        status=status,
    )


def _set_cookie(response: Response, request: Request, mode: Mode, session: UiSession) -> None:
    max_age = int(session_lifetime(request).total_seconds())
    response.set_cookie(
        COOKIE_NAME,
        signer(request).dump(session),
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=mode is Mode.PRODUCTION,
    )
