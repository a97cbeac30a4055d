"""The overview: per environment its counts by state and status, last and next sync and
whether it answered (from its last sync: n8n is never called while a page renders); the
running and failed jobs; what needs attention, each a link to the filtered page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from canonflow.api.deps import SessionDep
from canonflow.core.enums import JobStatus
from canonflow.environments import repository as environments_repository
from canonflow.environments import service as environments
from canonflow.jobs import repository as jobs_repository
from canonflow.jobs.schemas import JobRead
from canonflow.matrix import service as matrix
from canonflow.web.deps import UiDep, csrf_protect
from canonflow.web.rendering import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

JOBS_SHOWN = 10


@router.get("/")
def overview(request: Request, session: SessionDep, ui: UiDep) -> Response:
    found = environments_repository.list_all(session, ui.tenant_id)
    rows = environments.read_all(session, ui.tenant_id, found)
    summary = matrix.summary(session, ui.tenant_id, matrix.environments_of(session, ui.tenant_id))
    counts = {row["id"]: row for row in summary}
    running, failed = (
        [
            JobRead.model_validate(job)
            for job in jobs_repository.list_page(
                session, ui.tenant_id, limit=JOBS_SHOWN, status=status
            )
        ]
        for status in (JobStatus.RUNNING, JobStatus.FAILED)
    )
    attention = {
        "conflicts": sum(row["states"].get("conflict", 0) for row in summary),
        "failed_syncs": sum(
            1 for env in rows if env.last_sync is not None and env.last_sync.outcome == "failed"
        ),
        "failed_jobs": len(failed),
        "missing": sum(row["statuses"].get("missing", 0) for row in summary),
        "drafts_pending": sum(row.get("drafts_pending", 0) for row in summary),
        "untracked": sum(row["statuses"].get("untracked", 0) for row in summary),
    }
    context = {
        "environments": rows,
        "counts": counts,
        "running": running,
        "failed": failed,
        "attention": attention,
        "jobs_shown": JOBS_SHOWN,
    }
    return render(request, ui, "overview.html", context)
