"""`/api/v1/policy/ignore-rules`: the tenant's ignore rules (docs/ignore-rules.md)."""

from __future__ import annotations

from fastapi import APIRouter, status

from canonflow.api.deps import Admin, RuntimeDep, SessionDep, Viewer
from canonflow.policy import service
from canonflow.policy.schemas import IgnoreRulesPut, IgnoreRulesRead, IgnoreRulesWritten

router = APIRouter(prefix="/api/v1/policy", tags=["policy"])


@router.get("/ignore-rules", response_model=IgnoreRulesRead)
def get_ignore_rules(session: SessionDep, principal: Viewer) -> IgnoreRulesRead:
    """The tenant's ignore rules, in order."""
    return service.read_rules(session, principal.tenant_id)


@router.put(
    "/ignore-rules",
    response_model=IgnoreRulesWritten,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Replace the ignore rules; a job applies them to every cell",
)
def put_ignore_rules(
    data: IgnoreRulesPut, session: SessionDep, runtime: RuntimeDep, principal: Admin
) -> IgnoreRulesWritten:
    """Replace the tenant's ignore rules (stored when this answers); the job it names
    recomputes every cell's ignored hashes and records the cells whose state changed
    (its result: `cells_recomputed`, `state_changes`)."""
    return service.replace_rules(session, runtime.jobs, principal, data.rules)
