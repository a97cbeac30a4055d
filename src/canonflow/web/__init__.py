"""The web UI, served by the same app as the API: server-rendered Jinja2 pages, htmx for
partial updates, server-sent events for live jobs. Views call the same services as the API
and hold no logic of their own. `install_ui` mounts it all on an app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from canonflow.config import Settings
from canonflow.crypto import resolve_secret_key
from canonflow.web.deps import SignInRequired
from canonflow.web.errors import error_page, is_ui_request, sign_in_required
from canonflow.web.headers import UiSecurityHeaders
from canonflow.web.session import SessionSigner
from canonflow.web.views import (
    auth,
    environments,
    jobs,
    matrix,
    onboarding,
    overview,
    reconcile,
    repository,
    snapshots,
    untracked,
    workflows,
)

STATIC_DIR = Path(__file__).parent / "static"


def install_ui(app: FastAPI, settings: Settings) -> None:
    app.state.ui_signer = SessionSigner(resolve_secret_key(settings))
    app.state.html_errors = (is_ui_request, error_page)
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_middleware(UiSecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(auth.router)
    app.include_router(overview.router)
    app.include_router(reconcile.router)
    app.include_router(snapshots.router)
    app.include_router(workflows.router)
    app.include_router(untracked.router)
    app.include_router(onboarding.router)
    app.include_router(environments.router)
    app.include_router(repository.router)
    app.include_router(jobs.router)
    app.include_router(matrix.router)
