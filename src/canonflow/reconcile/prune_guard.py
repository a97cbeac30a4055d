"""The prune guard of a plan: deleting orphaned workflows from n8n is held where it would
delete more than `CANONFLOW_PRUNE_GUARD_PERCENT` % of an environment's live workflows, or
all of them (a repository emptied by mistake must not empty n8n too), unless the request
confirms it (`confirm_prune`)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canonflow.core.reconcile import Action, Decision, prune_guard_holds
from canonflow.core.status import MappingStatus
from canonflow.db.models import WorkflowEnvMap
from canonflow.reconcile.cells import PlanRow

LIVE = (MappingStatus.LINKED, MappingStatus.UNTRACKED, MappingStatus.IGNORED)


def held_environments(
    session: Session,
    tenant_id: uuid.UUID,
    rows: Sequence[PlanRow],
    decisions: Sequence[Decision],
    *,
    percent: float,
) -> dict[uuid.UUID, str]:
    """Environment id → why its deletes are held, for each environment the guard holds."""
    deletes = Counter(
        row.environment_id
        for row, decision in zip(rows, decisions, strict=True)
        if decision.action is Action.DELETE
    )
    if not deletes:
        return {}
    live = _live_counts(session, tenant_id, list(deletes))
    names = {row.environment_id: row.environment for row in rows}
    held = {}
    for environment_id, count in deletes.items():
        total = live.get(environment_id, 0)
        if prune_guard_holds(count, total, percent):
            share = "all" if count >= total else f"more than {percent:g} %"
            held[environment_id] = (
                f"prune guard: deleting {count} of the {total} live workflows in "
                f"{names[environment_id]} is {share} of them; send confirm_prune: true "
                "(canonflow reconcile --confirm-prune) to delete them"
            )
    return held


def _live_counts(
    session: Session, tenant_id: uuid.UUID, environment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    m = WorkflowEnvMap
    rows = session.execute(
        select(m.environment_id, func.count())
        .where(
            m.tenant_id == tenant_id,
            m.environment_id.in_(environment_ids),
            m.status.in_(LIVE),
        )
        .group_by(m.environment_id)
    )
    return {row[0]: int(row[1]) for row in rows}
