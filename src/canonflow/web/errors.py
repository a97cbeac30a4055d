"""Errors on UI pages: the same typed errors the API renders as problem JSON, shown as a
readable page (or, for an htmx request, a notice the page shows in place)."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from canonflow.web.deps import SignInRequired, signin_url
from canonflow.web.rendering import is_htmx, templates

_MACHINE_PREFIXES = ("/api/", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz", "/metrics")


def is_ui_path(path: str) -> bool:
    """A UI page's path (not the API or a machine endpoint)."""
    return not path.startswith(_MACHINE_PREFIXES)


def is_ui_request(request: Request) -> bool:
    return is_ui_path(request.url.path)


def error_page(request: Request, status: int, detail: str) -> Response:
    context = {
        "request": request,
        "ui": None,
        "csrf_token": "",
        "status": status,
        "title": HTTPStatus(status).phrase,
        "detail": detail,
        "static_version": "",
    }
    if is_htmx(request):
        response: Response = templates.TemplateResponse(
            request, "error.html", context, status_code=status, block_name="notice"
        )
        return response
    page: Response = templates.TemplateResponse(request, "error.html", context, status_code=status)
    return page


async def sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = signin_url(exc.next_url)
    if is_htmx(request):  # htmx follows HX-Redirect with a full page load
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
