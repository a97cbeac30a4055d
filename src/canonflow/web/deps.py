"""The UI's request dependencies: who is signed in, the CSRF check, the form body.

A page declares `ui: UiDep` (signed in, any role) and calls `ui.require(Role.OPERATOR)` before
it does what needs more. Every UI router carries `csrf_protect`: a POST without the session's
CSRF token (form field `csrf_token`, or the `X-CSRF-Token` header htmx sends) is a 403 and
nothing runs. Forms are `application/x-www-form-urlencoded`, parsed here (no multipart).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request

from canonflow.api.deps import READ_METHODS, RuntimeDep
from canonflow.core.enums import Role
from canonflow.db.engine import read_transaction
from canonflow.db.types import utcnow
from canonflow.errors import Forbidden, Invalid, Unauthorized
from canonflow.tenancy.service import Principal, authenticate_token_id, record_use
from canonflow.web.session import COOKIE_NAME, SessionSigner, UiSession

MAX_FORM_BYTES = 1024 * 1024


class SignInRequired(Exception):
    """No valid signed-in session: the visitor is sent to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass(frozen=True, slots=True)
class Form:
    """A parsed urlencoded body: `get` for one value, `all` for a repeated field."""

    values: Mapping[str, list[str]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        found = self.values.get(name)
        return found[0] if found else default

    def all(self, name: str) -> list[str]:
        return list(self.values.get(name, ()))

    def uuid(self, name: str) -> uuid.UUID:
        try:
            return uuid.UUID(self.get(name))
        except ValueError:
            raise Invalid(f"{name}: not a valid id") from None


@dataclass(frozen=True, slots=True)
class Ui:
    """The signed-in person: their token's principal, session and CSRF token."""

    principal: Principal
    session: UiSession
    csrf_token: str

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.principal.tenant_id

    def can(self, role: Role | str) -> bool:
        return self.principal.role.allows(Role(role))

    def require(self, role: Role) -> Principal:
        if not self.can(role):
            raise Forbidden(
                f"this action needs the {role.value} role; you signed in with "
                f"{self.principal.role.value}"
            )
        return self.principal


def signer(request: Request) -> SessionSigner:
    found: SessionSigner = request.app.state.ui_signer
    return found


def session_lifetime(request: Request) -> timedelta:
    hours: float = request.app.state.runtime.settings.ui_session_hours
    return timedelta(hours=hours)


def current_session(request: Request) -> UiSession | None:
    return signer(request).load(request.cookies.get(COOKIE_NAME), utcnow())


def local_path(request: Request) -> str:
    """Where the request was going, as a local path with its query (for `next=`)."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def signin_url(next_url: str) -> str:
    return "/signin?next=" + quote(next_url, safe="/")


def get_ui(request: Request, runtime: RuntimeDep) -> Ui:
    session = current_session(request)
    if session is None or session.token_id is None or session.tenant_id is None:
        raise SignInRequired(local_path(request))
    with read_transaction(runtime.sessions) as db:
        try:
            principal = authenticate_token_id(db, session.tenant_id, session.token_id)
        except Unauthorized as exc:  # revoked or gone: the session is over
            raise SignInRequired(local_path(request)) from exc
    record_use(runtime.sessions, principal)
    return Ui(principal=principal, session=session, csrf_token=signer(request).csrf_token(session))


UiDep = Annotated[Ui, Depends(get_ui)]


async def read_form(request: Request) -> Form:
    """The urlencoded body (cached by Starlette, so the CSRF check and the view share it)."""
    if request.method in READ_METHODS:
        return Form(parse_qs(request.url.query))
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Invalid("the form is too large")
    if content_type not in ("", "application/x-www-form-urlencoded"):
        raise Invalid("forms are sent as application/x-www-form-urlencoded")
    try:
        return Form(parse_qs(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        raise Invalid("the form is not valid UTF-8") from None


FormDep = Annotated[Form, Depends(read_form)]


async def csrf_protect(request: Request, form: FormDep) -> None:
    """Every UI write carries the session's CSRF token, or nothing runs (403)."""
    if request.method in READ_METHODS:
        return
    session = current_session(request)
    sent = request.headers.get("x-csrf-token") or form.get("csrf_token")
    if session is None or not signer(request).csrf_matches(session, sent):
        raise Forbidden("the form's CSRF token is missing or does not match your session")
