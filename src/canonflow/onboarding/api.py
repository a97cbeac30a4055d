"""`/api/v1/canonical/onboard/*`: preflight, inventory, migration pull request, completion."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, status

from canonflow.api.deps import Operator, RuntimeDep, SessionDep, Viewer
from canonflow.environments import repository as environments
from canonflow.errors import Conflict
from canonflow.jobs.schemas import JobAccepted
from canonflow.onboarding.completion import completion
from canonflow.onboarding.preflight import preflight
from canonflow.onboarding.pull_request import create_migration_pr
from canonflow.onboarding.schemas import CompletionRead, PreflightRead, PullRequestRead
from canonflow.onboarding.tasks import enqueue_inventory

router = APIRouter(prefix="/api/v1/canonical/onboard", tags=["onboarding"])


@router.get("/preflight", response_model=PreflightRead)
def get_preflight(runtime: RuntimeDep, principal: Operator) -> PreflightRead:
    # no request session: the checks open their own transactions around the remote calls
    report = preflight(
        runtime.sessions, runtime.secrets, principal, runtime.settings.resolved_git_cache_dir
    )
    return PreflightRead(
        ready=report.ready, errors=report.errors, warnings=report.warnings, checked=report.checked
    )


@router.post(
    "/inventory",
    response_model=JobAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Inventory the environments into canonical workflows, in the background",
)
def start_inventory(session: SessionDep, runtime: RuntimeDep, principal: Operator) -> JobAccepted:
    if not any(e.is_anchor for e in environments.list_all(session, principal.tenant_id)):
        raise Conflict("no anchor environment: mark one with is_anchor: true (see the preflight)")
    job = enqueue_inventory(session, runtime.jobs, principal)
    return JobAccepted(job_id=job.id, status=job.status, url=f"/api/v1/jobs/{job.id}")


@router.post("/create-pr", response_model=PullRequestRead)
def create_pr(runtime: RuntimeDep, principal: Operator) -> PullRequestRead:
    # no request session: the flow opens its own transactions around the push
    result = create_migration_pr(
        runtime.sessions,
        runtime.secrets,
        principal,
        cache_root=runtime.settings.resolved_git_cache_dir,
    )
    return PullRequestRead.model_validate(asdict(result))


@router.get("/completion", response_model=CompletionRead)
def get_completion(session: SessionDep, runtime: RuntimeDep, principal: Viewer) -> CompletionRead:
    report = completion(
        session, runtime.secrets, principal, runtime.settings.resolved_git_cache_dir
    )
    return CompletionRead.model_validate(asdict(report))
