"""`/api/v1/policy/ignore-rules`: the tenant's ignore rules (docs/ignore-rules.md)."""

from __future__ import annotations

from fastapi import APIRouter

from canonflow.api.deps import Admin, SessionDep, Viewer
from canonflow.policy import service
from canonflow.policy.schemas import IgnoreRulesPut, IgnoreRulesRead, IgnoreRulesWritten

router = APIRouter(prefix="/api/v1/policy", tags=["policy"])


@router.get("/ignore-rules", response_model=IgnoreRulesRead)
def get_ignore_rules(session: SessionDep, principal: Viewer) -> IgnoreRulesRead:
    """The tenant's ignore rules, in order."""
    return service.read_rules(session, principal.tenant_id)


@router.put("/ignore-rules", response_model=IgnoreRulesWritten)
def put_ignore_rules(
    data: IgnoreRulesPut, session: SessionDep, principal: Admin
) -> IgnoreRulesWritten:
    """Replace the tenant's ignore rules; every cell's ignored hashes are recomputed in
    this request and the cells whose state changed are counted (`state_changes`)."""
    return service.replace_rules(session, principal, data.rules)
