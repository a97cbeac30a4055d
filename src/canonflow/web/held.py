"""The notice a page shows after a write was held for approval (`?held_for_approval=<id>`:
a protected environment, docs/governance.md): what waits, and for whom."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from canonflow.errors import NotFound
from canonflow.governance.approvals import get_or_raise, waiting_for
from canonflow.web.deps import Ui

PARAMETER = "held_for_approval"


def held_notice(request: Request, session: Session, ui: Ui) -> dict[str, Any] | None:
    """The held write named in the URL, of the signed-in tenant; None when there is none
    (an id that is not the tenant's shows nothing, as if absent)."""
    raw = request.query_params.get(PARAMETER)
    if not raw:
        return None
    try:
        approval = get_or_raise(session, ui.tenant_id, uuid.UUID(raw))
    except (ValueError, NotFound):
        return None
    return {
        "id": str(approval.id),
        "summary": approval.summary,
        "status": approval.status.value,
        "waiting_for": waiting_for(approval),
    }
