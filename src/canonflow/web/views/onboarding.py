"""The onboarding wizard: preflight → inventory (live) → link resolution → migration pull
request → completion. The step comes from the server's state (the onboarding service's
completion report), so a reload, or a return a day later, shows where things stand."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from canonflow.api.deps import RuntimeDep, SessionDep
from canonflow.core.enums import JobStatus, Role
from canonflow.db.engine import read_transaction
from canonflow.environments import repository as environments
from canonflow.errors import Conflict, Invalid
from canonflow.jobs import service as jobs
from canonflow.onboarding.completion import Completion, completion
from canonflow.onboarding.preflight import preflight
from canonflow.onboarding.pull_request import create_migration_pr
from canonflow.onboarding.tasks import enqueue_inventory
from canonflow.repo import service as repositories
from canonflow.web.deps import Form, FormDep, UiDep, csrf_protect
from canonflow.web.rendering import redirect, render, with_query
from canonflow.web.views.untracked import DONE, listing

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

STEPS = (
    ("preflight", "Preflight"),
    ("inventory", "Inventory"),
    ("links", "Link resolution"),
    ("pull_request", "Migration pull request"),
    ("done", "Completion"),
)
ORDER = [key for key, _title in STEPS]


def server_step(state: Completion, untracked: int) -> str:
    """Where onboarding stands."""
    if state.status == "not_started":
        return "preflight"
    if state.status == "inventory_running":
        return "inventory"
    if state.pull_request is not None:
        return "done"
    return "links" if untracked else "pull_request"


@router.get("/onboarding")
def wizard(request: Request, runtime: RuntimeDep, ui: UiDep, form: FormDep) -> Response:
    cache_root = runtime.settings.resolved_git_cache_dir
    with read_transaction(runtime.sessions) as session:
        state = completion(session, runtime.secrets, ui.principal, cache_root)
        untracked = sum(e["untracked"] for e in state.environments)
        current = server_step(state, untracked)
        step = _step(form.get("step"), current)
        context: dict[str, Any] = {
            "steps": STEPS,
            "step": step,
            "current": current,
            "reached": ORDER[: max(ORDER.index(current), ORDER.index(step)) + 1],
            "state": state,
            "untracked": untracked,
        }
        if step == "inventory":
            job_id = form.get("job") or (str(state.inventory_job_id or ""))
            context["job"] = _job(session, ui.tenant_id, job_id) if job_id else None
        if step == "links":
            context["listing"] = listing(
                session, ui, env=form.get("env"), show="", after=form.get("after")
            )
            context["result"] = _result(form)
        if step == "pull_request":
            repository = repositories.get(session, ui.tenant_id)
            context["repository"] = repositories.read(repository) if repository else None
        has_anchor = any(e.is_anchor for e in environments.list_all(session, ui.tenant_id))
        context["has_anchor"] = has_anchor
    if step == "preflight" and ui.can(Role.OPERATOR):
        # outside the snapshot: the checks reach every environment and the Git remote
        context["preflight"] = preflight(
            runtime.sessions, runtime.secrets, ui.principal, cache_root
        )
    headers = None
    job = context.get("job")
    if step == "inventory" and job is not None and job.status.finished and _polling(request):
        headers = {"HX-Redirect": "/onboarding"}  # the job ended: on to the server's step
    return render(request, ui, "onboarding.html", context, block="inventory", headers=headers)


@router.post("/onboarding/inventory")
def start_inventory(session: SessionDep, runtime: RuntimeDep, ui: UiDep) -> Response:
    principal = ui.require(Role.OPERATOR)
    if not any(e.is_anchor for e in environments.list_all(session, principal.tenant_id)):
        raise Conflict("no anchor environment: mark one as the anchor (see the preflight)")
    job = enqueue_inventory(session, runtime.jobs, principal)
    return redirect(with_query("/onboarding", step="inventory", job=str(job.id)))


@router.post("/onboarding/pull-request")
def create_pull_request(runtime: RuntimeDep, ui: UiDep) -> Response:
    principal = ui.require(Role.OPERATOR)
    # as the API: the flow opens its own transactions around the push
    result = create_migration_pr(
        runtime.sessions,
        runtime.secrets,
        principal,
        cache_root=runtime.settings.resolved_git_cache_dir,
    )
    return redirect(with_query("/onboarding", step="done", files=result.files, notes=result.notes))


def _step(asked: str, current: str) -> str:
    """The step asked for when it has been reached (or is the pull request, which may come
    before every untracked workflow is resolved); else the server's."""
    if asked not in ORDER:
        return current
    if ORDER.index(asked) <= ORDER.index(current):
        return asked
    if asked == "pull_request" and current == "links":
        return asked
    return current


@dataclass(frozen=True)
class JobView:
    """The inventory job as the step shows it (read inside the snapshot)."""

    id: uuid.UUID
    status: JobStatus
    progress_done: int
    progress_total: int | None
    result: dict[str, Any] | None
    error: str | None


def _job(session: Session, tenant_id: uuid.UUID, job_id: str) -> JobView:
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        raise Invalid("job: not a valid id") from None
    job = jobs.get_or_raise(session, tenant_id, parsed)
    return JobView(job.id, job.status, job.progress_done, job.progress_total, job.result, job.error)


def _polling(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _result(form: Form) -> dict[str, str] | None:
    if form.get("done") not in DONE:
        return None
    return {
        "ok": form.get("ok", "0"),
        "failed": form.get("failed", "0"),
        "error": form.get("error"),
        "done": DONE[form.get("done")],
    }
