"""Environments: the list (admin: add), one environment (test connection, sync now, pause /
resume; admin: edit, rotate the key, remove). Every write calls the service the JSON API
calls; a refused form (422, 409) is shown again beside its error, the API key never echoed."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from canonflow.api.deps import RuntimeDep, SessionDep
from canonflow.core.enums import EnvironmentKind, Role
from canonflow.db.engine import read_transaction
from canonflow.environments import bindings
from canonflow.environments import repository as environments_repository
from canonflow.environments import service as environments
from canonflow.environments.connection import check_environment
from canonflow.environments.schemas import (
    ConnectionResult,
    EnvironmentCreate,
    EnvironmentRead,
    EnvironmentUpdate,
)
from canonflow.errors import AppError, Conflict, Invalid
from canonflow.jobs import repository as jobs_repository
from canonflow.jobs.schemas import JobRead
from canonflow.matrix import service as matrix
from canonflow.sync.tasks import ENVIRONMENT_SYNC, enqueue_environment_sync
from canonflow.web.deps import Form, FormDep, Ui, UiDep, csrf_protect
from canonflow.web.rendering import redirect, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

KINDS = [kind.value for kind in EnvironmentKind]
RECENT_RUNS = 10
ENVIRONMENT_FIELDS = ("name", "base_url", "kind", "batch_size", "sync_interval_s")


def form_error(exc: ValidationError | AppError) -> tuple[str, int]:
    """A refused form's message and status: the service's own (422, 409), or the schema's
    first complaints named by field (422), as the API's problem detail names them."""
    if isinstance(exc, AppError):
        return exc.message, exc.status
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "form"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts), 422


def checkbox(form: Form, name: str) -> bool:
    return form.get(name) in ("on", "true", "1", "yes")


def _entered(form: Form) -> dict[str, Any]:
    """What the person typed, to show the form again (never the API key)."""
    values: dict[str, Any] = {name: form.get(name) for name in ENVIRONMENT_FIELDS}
    values["is_anchor"] = checkbox(form, "is_anchor")
    values["paused"] = checkbox(form, "paused")
    return values


def _optional_int(form: Form, name: str) -> str | None:
    value = form.get(name).strip()
    return value or None


# --- the list --------------------------------------------------------------------------


@router.get("/environments")
def environments_page(request: Request, session: SessionDep, ui: UiDep) -> Response:
    return _list(request, session, ui)


def _list(
    request: Request,
    session: Session,
    ui: Ui,
    *,
    error: str = "",
    entered: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    rows = environments.read_all(
        session, ui.tenant_id, environments_repository.list_all(session, ui.tenant_id)
    )
    context = {
        "environments": rows,
        "kinds": KINDS,
        "error": error,
        "entered": entered or {"kind": "other", "batch_size": 100, "sync_interval_s": 3600},
    }
    return render(request, ui, "environments.html", context, status=status)


@router.post("/environments")
def add_environment(
    request: Request, session: SessionDep, runtime: RuntimeDep, ui: UiDep, form: FormDep
) -> Response:
    principal = ui.require(Role.ADMIN)
    try:
        data = EnvironmentCreate.model_validate(
            {
                "name": form.get("name").strip(),
                "base_url": form.get("base_url"),
                "api_key": form.get("api_key"),
                "kind": form.get("kind") or "other",
                "is_anchor": checkbox(form, "is_anchor"),
                "batch_size": form.get("batch_size") or 100,
                "sync_interval_s": form.get("sync_interval_s") or 0,
                "paused": checkbox(form, "paused"),
            }
        )
        environment = environments.create(
            session,
            runtime.secrets,
            principal,
            data,
            min_interval_s=runtime.settings.min_sync_interval_s,
        )
    except (ValidationError, Invalid, Conflict) as exc:
        message, status = form_error(exc)
        return _list(request, session, ui, error=message, entered=_entered(form), status=status)
    return redirect(f"/environments/{environment.id}")


# --- one environment -------------------------------------------------------------------


def _detail_context(session: Session, ui: Ui, environment_id: uuid.UUID) -> dict[str, Any]:
    env = environments.read(
        session, environments.get_or_raise(session, ui.tenant_id, environment_id)
    )
    runs = jobs_repository.list_page(
        session,
        ui.tenant_id,
        limit=RECENT_RUNS,
        job_type=ENVIRONMENT_SYNC,
        environment_id=environment_id,
    )
    summary = matrix.summary(session, ui.tenant_id, [matrix.MatrixEnvironment(env.id, env.name)])
    return {
        "env": env,
        "runs": [JobRead.model_validate(job) for job in runs],
        "counts": summary[0],
        "kinds": KINDS,
    }


@router.get("/environments/{environment_id}")
def environment_page(
    environment_id: uuid.UUID, request: Request, session: SessionDep, ui: UiDep
) -> Response:
    return render(request, ui, "environment.html", _detail_context(session, ui, environment_id))


@router.post("/environments/{environment_id}/test-connection")
def test_connection(
    environment_id: uuid.UUID, request: Request, runtime: RuntimeDep, ui: UiDep
) -> Response:
    """Ask n8n now (no transaction held while it answers), then show the page with the
    answer. Nothing changes, so the answer is shown, not redirected to."""
    principal = ui.require(Role.OPERATOR)
    result: ConnectionResult = check_environment(
        runtime.sessions, runtime.secrets, principal.tenant_id, environment_id
    )
    with read_transaction(runtime.sessions) as session:
        context = _detail_context(session, ui, environment_id)
    return render(
        request, ui, "environment.html", {**context, "connection": result}, block="connection"
    )


@router.get("/environments/{environment_id}/sync")
def confirm_sync(
    environment_id: uuid.UUID, request: Request, session: SessionDep, ui: UiDep
) -> Response:
    ui.require(Role.OPERATOR)
    return render(
        request, ui, "environment_sync.html", _detail_context(session, ui, environment_id)
    )


@router.post("/environments/{environment_id}/sync")
def sync_now(
    environment_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, ui: UiDep
) -> Response:
    principal = ui.require(Role.OPERATOR)
    environments.get_or_raise(session, principal.tenant_id, environment_id)
    job = enqueue_environment_sync(session, runtime.jobs, principal, environment_id)
    return redirect(f"/jobs/{job.id}")


@router.post("/environments/{environment_id}/pause")
def pause(
    environment_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, ui: UiDep
) -> Response:
    return _set_paused(environment_id, session, runtime, ui, paused=True)


@router.post("/environments/{environment_id}/resume")
def resume(
    environment_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, ui: UiDep
) -> Response:
    return _set_paused(environment_id, session, runtime, ui, paused=False)


def _set_paused(
    environment_id: uuid.UUID, session: Session, runtime: RuntimeDep, ui: Ui, *, paused: bool
) -> Response:
    """As `PATCH /api/v1/environments/{id}` with `paused` (an admin's change there too)."""
    principal = ui.require(Role.ADMIN)
    environments.update(
        session,
        runtime.secrets,
        principal,
        environment_id,
        EnvironmentUpdate(paused=paused),
        min_interval_s=runtime.settings.min_sync_interval_s,
    )
    return redirect(f"/environments/{environment_id}")


# --- admin: edit, rotate the key, remove -------------------------------------------------


@router.get("/environments/{environment_id}/edit")
def edit_page(
    environment_id: uuid.UUID, request: Request, session: SessionDep, ui: UiDep
) -> Response:
    ui.require(Role.ADMIN)
    return _edit(request, session, ui, environment_id)


def _edit(
    request: Request,
    session: Session,
    ui: Ui,
    environment_id: uuid.UUID,
    *,
    error: str = "",
    entered: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    context = _detail_context(session, ui, environment_id)
    env: EnvironmentRead = context["env"]
    context["entered"] = entered or env.model_dump()
    context["error"] = error
    return render(request, ui, "environment_edit.html", context, status=status)


@router.post("/environments/{environment_id}/edit")
def edit(
    environment_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    ui: UiDep,
    form: FormDep,
) -> Response:
    principal = ui.require(Role.ADMIN)
    values: dict[str, Any] = {
        "name": form.get("name").strip() or None,
        "base_url": form.get("base_url").strip() or None,
        "kind": form.get("kind") or None,
        "is_anchor": checkbox(form, "is_anchor"),
        "batch_size": _optional_int(form, "batch_size"),
        "sync_interval_s": _optional_int(form, "sync_interval_s"),
        "paused": checkbox(form, "paused"),
    }
    if form.get("api_key"):
        values["api_key"] = form.get("api_key")
    try:
        data = EnvironmentUpdate.model_validate(values)
        environments.update(
            session,
            runtime.secrets,
            principal,
            environment_id,
            data,
            min_interval_s=runtime.settings.min_sync_interval_s,
        )
    except (ValidationError, Invalid, Conflict) as exc:
        message, status = form_error(exc)
        return _edit(
            request,
            session,
            ui,
            environment_id,
            error=message,
            entered=_entered(form),
            status=status,
        )
    return redirect(f"/environments/{environment_id}")


@router.post("/environments/{environment_id}/rotate-key")
def rotate_key(
    environment_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    ui: UiDep,
    form: FormDep,
) -> Response:
    principal = ui.require(Role.ADMIN)
    try:
        data = EnvironmentUpdate.model_validate({"api_key": form.get("api_key")})
        environments.update(
            session,
            runtime.secrets,
            principal,
            environment_id,
            data,
            min_interval_s=runtime.settings.min_sync_interval_s,
        )
    except (ValidationError, Invalid) as exc:
        message, status = form_error(exc)
        return _edit(request, session, ui, environment_id, error=message, status=status)
    return redirect(f"/environments/{environment_id}")


@router.get("/environments/{environment_id}/remove")
def confirm_remove(
    environment_id: uuid.UUID, request: Request, session: SessionDep, ui: UiDep
) -> Response:
    principal = ui.require(Role.ADMIN)
    context = _detail_context(session, ui, environment_id)
    statuses: dict[str, int] = context["counts"]["statuses"]
    context["mappings"] = sum(n for status, n in statuses.items() if status != "absent")
    context["bindings"] = len(bindings.list_bindings(session, principal, environment_id))
    return render(request, ui, "environment_remove.html", context)


@router.post("/environments/{environment_id}/remove")
def remove(environment_id: uuid.UUID, session: SessionDep, ui: UiDep) -> Response:
    principal = ui.require(Role.ADMIN)
    environments.delete(session, principal, environment_id)
    return redirect("/environments")
