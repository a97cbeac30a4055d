"""Where the sync and apply jobs emit: each call opens its own short transaction, after
the work it reports on committed, and costs one query when nobody listens."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any, ParamSpec

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from canonflow.core.sync_state import SyncState
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, Environment, StateChange, SyncRun
from canonflow.jobs.executor import is_transient
from canonflow.jobs.registry import JobRegistry
from canonflow.notifications import events
from canonflow.notifications.catalog import (
    APPLY_FINISHED,
    CONFLICT_DETECTED,
    DRIFT_DETECTED,
    SYNC_FAILED,
)

log = structlog.get_logger(__name__)
P = ParamSpec("P")


def _never_fails(hook: Callable[P, None]) -> Callable[P, None]:
    """A notification that cannot be queued is logged, and never fails the job it reports
    on (the sync or the apply did its work)."""

    @functools.wraps(hook)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            hook(*args, **kwargs)
        except Exception:
            log.exception("notification not queued", hook=hook.__name__)

    return guarded


ENV_SYNC_CAUSE = "env_sync"  # canonflow.catalogue.states.StateCause.ENV_SYNC
_EVENT_OF_STATE = {
    SyncState.DRIFT.value: DRIFT_DETECTED,
    SyncState.CONFLICT.value: CONFLICT_DETECTED,
}


@_never_fails
def environment_synced(
    sessions: sessionmaker[Session],
    registry: JobRegistry,
    *,
    tenant_id: uuid.UUID,
    environment_id: uuid.UUID,
    run_id: uuid.UUID,
) -> None:
    """After an env sync: one `drift.detected` listing every cell this run moved to drift,
    one `conflict.detected` likewise (none when no destination takes them)."""
    with transaction(sessions) as session:
        wanted = events.listened(session, tenant_id) & {DRIFT_DETECTED, CONFLICT_DETECTED}
        if not wanted:  # the one query a sync costs when nobody listens
            return
        run = session.get(SyncRun, run_id)
        environment = session.get(Environment, environment_id)
        if run is None or environment is None or environment.tenant_id != tenant_id:
            return
        moved = _moved_cells(session, tenant_id, environment_id, run)
        for state, event in _EVENT_OF_STATE.items():
            workflows = [
                {k: v for k, v in cell.items() if k != "_state"}
                for cell in moved.values()
                if cell["_state"] == state
            ]
            if event in wanted and workflows:
                events.emit(session, registry, tenant_id, event, {
                    "environment_id": str(environment_id),
                    "environment": environment.name,
                    "run_id": str(run_id),
                    "workflows": workflows,
                })  # fmt: skip


def _moved_cells(
    session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID, run: SyncRun
) -> dict[uuid.UUID, dict[str, Any]]:
    """The cells whose last state change in this run went to drift or conflict."""
    rows = session.execute(
        select(
            StateChange.mapping_id,
            StateChange.to_state,
            CanonicalWorkflow.id,
            CanonicalWorkflow.canonical_slug,
            CanonicalWorkflow.name,
        )
        .join(CanonicalWorkflow, CanonicalWorkflow.id == StateChange.canonical_id)
        .where(
            StateChange.tenant_id == tenant_id,
            CanonicalWorkflow.tenant_id == tenant_id,
            StateChange.environment_id == environment_id,
            StateChange.cause == ENV_SYNC_CAUSE,
            StateChange.at >= run.started_at,
            StateChange.mapping_id.is_not(None),
        )
        .order_by(StateChange.at, StateChange.id)
    )
    cells: dict[uuid.UUID, dict[str, Any]] = {}
    for mapping_id, to_state, canonical_id, slug, name in rows:
        if mapping_id is None:
            continue
        if to_state in _EVENT_OF_STATE:
            cells[mapping_id] = {
                "_state": to_state,
                "mapping_id": str(mapping_id),
                "canonical_id": str(canonical_id),
                "slug": slug,
                "name": name,
            }
        else:
            cells.pop(mapping_id, None)  # moved on again in the same run
    return dict(sorted(cells.items(), key=lambda item: item[1]["slug"]))


def retry_follows(
    sessions: sessionmaker[Session], job_id: uuid.UUID | None, exc: BaseException, attempts: int
) -> bool:
    """Whether the job engine runs this failed sync again (a transient error before its
    last attempt): `sync.failed` waits for the last one. Each attempt records a run."""
    if job_id is None or not is_transient(exc):
        return False
    with transaction(sessions) as session:
        runs = session.scalar(select(func.count()).where(SyncRun.job_id == job_id)) or 0
    return runs < attempts


@_never_fails
def sync_failed(
    sessions: sessionmaker[Session],
    registry: JobRegistry,
    *,
    tenant_id: uuid.UUID,
    payload: dict[str, Any],
) -> None:
    """`sync.failed` with `payload` (`kind`, the error text, what failed)."""
    with transaction(sessions) as session:
        events.emit(session, registry, tenant_id, SYNC_FAILED, payload)


@_never_fails
def apply_finished(
    sessions: sessionmaker[Session],
    registry: JobRegistry,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    result: dict[str, Any],
    error: str | None,
) -> None:
    """`apply.finished`: counts by outcome and the job's link."""
    payload = {
        "job_id": str(job_id),
        "link": f"/api/v1/jobs/{job_id}",
        "status": "failed" if error else "succeeded",
        "total": result.get("total", 0),
        "counts": result.get("counts", {}),
        "not_attempted": result.get("not_attempted", 0),
        "error": error,
    }
    with transaction(sessions) as session:
        events.emit(session, registry, tenant_id, APPLY_FINISHED, payload)
