"""Environment sync in the background: `POST /api/v1/environments/{id}/sync` (and its
older name `POST /api/v1/canonical/sync-environment/{id}`). The route lives with the sync,
above `environments` in the feature layers (see the import-linter contracts)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from canonflow.api.deps import Operator, RuntimeDep, SessionDep
from canonflow.environments import service as environments
from canonflow.jobs.schemas import JobAccepted
from canonflow.sync.tasks import enqueue_environment_sync

router = APIRouter(prefix="/api/v1/environments", tags=["environments"])
canonical_router = APIRouter(prefix="/api/v1/canonical", tags=["canonical"])
SUMMARY = "Sync an environment (n8n → canonflow) in the background"


def _enqueue_sync(
    environment_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> JobAccepted:
    environments.get_or_raise(session, principal.tenant_id, environment_id)
    job = enqueue_environment_sync(session, runtime.jobs, principal, environment_id)
    return JobAccepted(job_id=job.id, status=job.status, url=f"/api/v1/jobs/{job.id}")


router.post(
    "/{environment_id}/sync",
    response_model=JobAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary=SUMMARY,
)(_enqueue_sync)
canonical_router.post(
    "/sync-environment/{environment_id}",
    response_model=JobAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary=SUMMARY,
)(_enqueue_sync)
