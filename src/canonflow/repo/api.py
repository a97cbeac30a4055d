"""`/api/v1/repository` and `/api/v1/canonical/sync-repo`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, status

from canonflow.api.deps import Admin, Operator, RuntimeDep, SessionDep, Viewer
from canonflow.jobs.schemas import JobAccepted
from canonflow.repo import service
from canonflow.repo.check import check_tenant_repository
from canonflow.repo.schemas import (
    RepositoryCheck,
    RepositoryPut,
    RepositoryRead,
    RepositorySchedule,
    RepositorySyncRequest,
)
from canonflow.repo.tasks import enqueue_repository_sync

router = APIRouter(tags=["repository"])


@router.get("/api/v1/repository", response_model=RepositoryRead)
def get_repository(session: SessionDep, principal: Viewer) -> RepositoryRead:
    return service.read(service.get_or_raise(session, principal.tenant_id))


@router.put("/api/v1/repository", response_model=RepositoryRead)
def put_repository(
    data: RepositoryPut, session: SessionDep, runtime: RuntimeDep, principal: Admin
) -> RepositoryRead:
    return service.read(service.put(session, runtime.secrets, principal, data))


@router.patch("/api/v1/repository", response_model=RepositoryRead)
def patch_repository_schedule(
    data: RepositorySchedule, session: SessionDep, runtime: RuntimeDep, principal: Admin
) -> RepositoryRead:
    """Change the repository's schedule: `sync_interval_s` (0: manual only) and `paused`."""
    repository = service.set_schedule(
        session, principal, data, min_interval_s=runtime.settings.min_sync_interval_s
    )
    return service.read(repository)


@router.post("/api/v1/repository/test", response_model=RepositoryCheck)
def test_repository(runtime: RuntimeDep, principal: Operator) -> RepositoryCheck:
    return check_tenant_repository(
        runtime.sessions,
        runtime.secrets,
        principal.tenant_id,
        runtime.settings.resolved_git_cache_dir,
    )


@router.post(
    "/api/v1/canonical/sync-repo",
    response_model=JobAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Sync the repository (Git → canonical workflows) in the background",
)
def sync_repo(
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
    data: Annotated[RepositorySyncRequest | None, Body()] = None,
) -> JobAccepted:
    service.get_or_raise(session, principal.tenant_id)
    confirm = data is not None and data.confirm_prune
    job = enqueue_repository_sync(session, runtime.jobs, principal, confirm_prune=confirm)
    return JobAccepted(job_id=job.id, status=job.status, url=f"/api/v1/jobs/{job.id}")
