"""Jobs: the list (filters and pages in the query string), one job (progress, result, error,
cancel), and its live progress as server-sent events.

`/jobs/{id}/events` polls the job's row in short read snapshots (one every POLL_S, none held
between polls) and sends the progress block of job.html, the very block the page shows,
whenever it changes; once the job is finished a `done` event carries the last block and the
stream ends. It also ends when the client goes away or after STREAM_LIFETIME_S (the browser's
EventSource then connects again)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from jinja2_fragments import render_block

from canonflow.api.deps import RuntimeDep, SessionDep
from canonflow.api.pagination import decode_cursor, encode_cursor
from canonflow.core.enums import JobStatus, Role
from canonflow.db.engine import read_transaction
from canonflow.environments import repository as environments_repository
from canonflow.errors import Invalid
from canonflow.jobs import repository as jobs_repository
from canonflow.jobs import service as jobs
from canonflow.jobs.schemas import JobRead
from canonflow.web.deps import UiDep, csrf_protect
from canonflow.web.rendering import redirect, render, templates, with_query

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

PAGE_SIZE = 50
POLL_S = 0.5
STREAM_LIFETIME_S = 300.0
STATUSES = [status.value for status in JobStatus]
# the streams being served now, per job (changed on the event loop only)
watching: Counter[uuid.UUID] = Counter()
# a job's fields whose change is sent to a watching page
CHANGES = {"status", "progress_done", "progress_total", "result", "error", "abort_requested"}


@router.get("/jobs")
def jobs_page(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    ui: UiDep,
    type: str = "",
    status: str = "",
    environment: str = "",
    cursor: str = "",
) -> Response:
    wanted_status = _status(status)
    environment_id = _uuid("environment", environment)
    rows = jobs_repository.list_page(
        session,
        ui.tenant_id,
        limit=PAGE_SIZE + 1,
        after=_after(cursor) if cursor else None,
        status=wanted_status,
        job_type=type or None,
        environment_id=environment_id,
    )
    following = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        following = encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)])
    envs = environments_repository.list_all(session, ui.tenant_id)
    filters = {"type": type, "status": status, "environment": environment}
    context = {
        "jobs": [JobRead.model_validate(job) for job in rows],
        "filters": filters,
        "types": sorted(runtime.jobs.specs),
        "statuses": STATUSES,
        "environments": envs,
        "env_names": {str(e.id): e.name for e in envs},
        "next_url": with_query("/jobs", **filters, cursor=following) if following else "",
        "first_url": with_query("/jobs", **filters) if cursor else "",
    }
    return render(request, ui, "jobs.html", context, block="results")


def _status(value: str) -> JobStatus | None:
    if not value:
        return None
    try:
        return JobStatus(value)
    except ValueError:
        raise Invalid(f"status: one of {', '.join(STATUSES)}") from None


def _uuid(name: str, value: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Invalid(f"{name}: not a valid id") from None


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    values = decode_cursor(cursor)
    try:
        created_at, job_id = values
        return datetime.fromisoformat(created_at), uuid.UUID(job_id)
    except (TypeError, ValueError):
        raise Invalid("cursor: follow the page's own links") from None


def _job_context(job: JobRead, env_names: dict[str, str]) -> dict[str, Any]:
    environment_id = job.params.get("environment_id")
    return {
        "job": job,
        "environment_id": environment_id,
        "environment_name": env_names.get(str(environment_id), "") if environment_id else "",
    }


@router.get("/jobs/{job_id}")
def job_page(job_id: uuid.UUID, request: Request, session: SessionDep, ui: UiDep) -> Response:
    job = JobRead.model_validate(jobs.get_or_raise(session, ui.tenant_id, job_id))
    env_names = {str(e.id): e.name for e in environments_repository.list_all(session, ui.tenant_id)}
    return render(request, ui, "job.html", _job_context(job, env_names), block="progress")


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: uuid.UUID, session: SessionDep, ui: UiDep) -> Response:
    principal = ui.require(Role.OPERATOR)
    jobs.cancel(session, principal, job_id)
    return redirect(f"/jobs/{job_id}")


@router.get("/jobs/{job_id}/events")
async def job_events(
    job_id: uuid.UUID, request: Request, runtime: RuntimeDep, ui: UiDep
) -> Response:
    tenant_id = ui.tenant_id

    def snapshot() -> dict[str, Any]:
        with read_transaction(runtime.sessions) as session:
            job = JobRead.model_validate(jobs.get_or_raise(session, tenant_id, job_id))
            names = {
                str(e.id): e.name for e in environments_repository.list_all(session, tenant_id)
            }
        return _job_context(job, names)

    first = await run_in_threadpool(snapshot)  # another tenant's job: 404 before streaming

    def fragment(context: dict[str, Any]) -> str:
        full = {"request": request, "ui": ui, "csrf_token": ui.csrf_token, **context}
        return render_block(templates.env, "job.html", "progress", full)

    async def stream() -> AsyncIterator[str]:
        watching[job_id] += 1
        try:
            async for event in events():
                yield event
        finally:
            watching[job_id] -= 1
            if not watching[job_id]:
                del watching[job_id]

    async def events() -> AsyncIterator[str]:
        deadline = time.monotonic() + STREAM_LIFETIME_S
        context: dict[str, Any] = first
        sent: dict[str, Any] | None = None
        yield "retry: 2000\n\n"
        while True:
            job: JobRead = context["job"]
            if job.status.finished:
                yield sse_event("done", fragment(context))
                return
            state = job.model_dump(include=CHANGES)
            if state != sent:  # only what moved (relative times alone do not)
                yield sse_event("progress", fragment(context))
                sent = state
            if time.monotonic() >= deadline:
                return
            await asyncio.sleep(POLL_S)
            if await request.is_disconnected():
                return
            context = await run_in_threadpool(snapshot)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def sse_event(name: str, data: str) -> str:
    """One server-sent event: its name, and each line of `data` as a `data:` line."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {name}\n{lines}\n"
