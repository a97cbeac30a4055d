"""The tenant's Git repository: URL, branch, last sync and schedule; test it and sync now
(operator), pause / resume (admin, as `PATCH /api/v1/repository`), and configure it (admin,
as `PUT /api/v1/repository`: credentials are write-only, kept when the field is left empty)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from canonflow.api.deps import RuntimeDep, SessionDep
from canonflow.core.enums import CommitMode, Role
from canonflow.db.engine import read_transaction
from canonflow.errors import Invalid
from canonflow.jobs import repository as jobs_repository
from canonflow.jobs.schemas import JobRead
from canonflow.repo import service
from canonflow.repo.check import check_tenant_repository
from canonflow.repo.schemas import RepositoryCheck, RepositoryPut, RepositorySchedule
from canonflow.repo.tasks import REPOSITORY_SYNC, enqueue_repository_sync
from canonflow.web.deps import FormDep, Ui, UiDep, csrf_protect
from canonflow.web.rendering import redirect, render
from canonflow.web.views.environments import checkbox, form_error

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

RECENT_RUNS = 10
MODES = [mode.value for mode in CommitMode]


def _context(session: Session, ui: Ui) -> dict[str, Any]:
    found = service.get(session, ui.tenant_id)
    runs = jobs_repository.list_page(
        session, ui.tenant_id, limit=RECENT_RUNS, job_type=REPOSITORY_SYNC
    )
    repo = service.read(found) if found is not None else None
    return {
        "repo": repo,
        "runs": [JobRead.model_validate(job) for job in runs],
        "modes": MODES,
        "entered": repo.model_dump() if repo else {"branch": "main", "workflows_dir": "workflows"},
        "error": "",
    }


@router.get("/repository")
def repository_page(request: Request, session: SessionDep, ui: UiDep) -> Response:
    return render(request, ui, "repository.html", _context(session, ui))


@router.post("/repository")
def put_repository(
    request: Request, session: SessionDep, runtime: RuntimeDep, ui: UiDep, form: FormDep
) -> Response:
    principal = ui.require(Role.ADMIN)
    values: dict[str, Any] = {
        "url": form.get("url").strip(),
        "branch": form.get("branch").strip() or "main",
        "workflows_dir": form.get("workflows_dir").strip(),
        "commit_mode": form.get("commit_mode") or None,
    }
    if checkbox(form, "remove_credentials"):
        values["auth"] = {}
    elif form.get("token"):
        values["auth"] = {"token": form.get("token"), "username": form.get("username") or None}
    try:
        service.put(session, runtime.secrets, principal, RepositoryPut.model_validate(values))
    except (ValidationError, Invalid) as exc:
        message, status = form_error(exc)
        context = _context(session, ui)
        entered = {k: v for k, v in values.items() if k != "auth"}
        context.update(error=message, entered=entered)
        return render(request, ui, "repository.html", context, status=status)
    return redirect("/repository")


@router.post("/repository/test")
def test_repository(request: Request, runtime: RuntimeDep, ui: UiDep) -> Response:
    principal = ui.require(Role.OPERATOR)
    result: RepositoryCheck = check_tenant_repository(
        runtime.sessions,
        runtime.secrets,
        principal.tenant_id,
        runtime.settings.resolved_git_cache_dir,
    )
    with read_transaction(runtime.sessions) as session:
        context = _context(session, ui)
    return render(request, ui, "repository.html", {**context, "check": result}, block="check")


@router.get("/repository/sync")
def confirm_sync(request: Request, session: SessionDep, ui: UiDep) -> Response:
    ui.require(Role.OPERATOR)
    service.get_or_raise(session, ui.tenant_id)
    return render(request, ui, "repository_sync.html", _context(session, ui))


@router.post("/repository/sync")
def sync_now(session: SessionDep, runtime: RuntimeDep, ui: UiDep, form: FormDep) -> Response:
    principal = ui.require(Role.OPERATOR)
    service.get_or_raise(session, principal.tenant_id)
    job = enqueue_repository_sync(
        session, runtime.jobs, principal, confirm_prune=checkbox(form, "confirm_prune")
    )
    return redirect(f"/jobs/{job.id}")


@router.post("/repository/pause")
def pause(session: SessionDep, runtime: RuntimeDep, ui: UiDep) -> Response:
    return _schedule(session, runtime, ui, RepositorySchedule(paused=True))


@router.post("/repository/resume")
def resume(session: SessionDep, runtime: RuntimeDep, ui: UiDep) -> Response:
    return _schedule(session, runtime, ui, RepositorySchedule(paused=False))


def _schedule(session: Session, runtime: RuntimeDep, ui: Ui, data: RepositorySchedule) -> Response:
    principal = ui.require(Role.ADMIN)
    service.set_schedule(
        session, principal, data, min_interval_s=runtime.settings.min_sync_interval_s
    )
    return redirect("/repository")
