"""`/api/v1/canonical/templates`: list the templates, instantiate one."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from canonflow.api.deps import Operator, RuntimeDep, SessionDep, Viewer
from canonflow.jobs.schemas import JobAccepted
from canonflow.templates import service
from canonflow.templates.schemas import InstantiateRequest, TemplateList

router = APIRouter(prefix="/api/v1/canonical", tags=["templates"])


@router.get(
    "/templates",
    response_model=TemplateList,
    summary="Workflow templates, as the last repo sync read them",
)
def list_templates(session: SessionDep, principal: Viewer) -> TemplateList:
    """The templates under `<workflows_dir>/_templates/`, by slug. They are not canonical
    workflows: a template becomes one through `POST .../{slug}/instantiate`."""
    rows = service.list_templates(session, principal.tenant_id)
    return TemplateList(items=[service.read(row) for row in rows])


@router.post(
    "/templates/{template_slug}/instantiate",
    response_model=JobAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Write a new canonical workflow file from a template, in the background",
    responses={
        404: {"description": "no such template (or no repository)"},
        409: {"description": "the slug is taken by a canonical workflow"},
        422: {"description": "bad slug or parameters, or the result is not a valid workflow"},
    },
)
def instantiate(
    template_slug: str,
    body: InstantiateRequest,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
) -> JSONResponse:
    """Checks the parameters (undeclared, missing without a default, a result that is not a
    valid workflow: `422` naming each) and the slug (`409` when taken), then a job commits
    `<workflows_dir>/<slug>.json` (pushed, or as a pull request, as the repository's
    `commit_mode` says). The next repo sync makes it a canonical workflow."""
    job = service.instantiate_template(
        session,
        runtime.jobs,
        principal,
        template_slug,
        slug=body.slug,
        parameters=body.parameters,
    )
    accepted = JobAccepted(job_id=job.id, status=job.status, url=f"/api/v1/jobs/{job.id}")
    return JSONResponse(accepted.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)
