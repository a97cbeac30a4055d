"""The grouped reads behind the database-derived metrics.

These are the operator's view across tenants, so unlike every other query in canonflow
they are not filtered by tenant; they return counts only (no rows, no ids), and each is one
grouped statement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Table, case, cast, func, literal, select
from sqlalchemy.orm import Session

from canonflow.core.enums import JobStatus
from canonflow.core.status import MappingStatus
from canonflow.db.models import BackgroundJob, Environment, SyncRun, Tenant
from canonflow.matrix.queries import MAPPINGS, derived_state

NO_ENVIRONMENT = "none"  # the environment kind label of a repository sync


def jobs_by_type_and_status(session: Session) -> list[tuple[str, str, int, datetime | None]]:
    """(type, status, count, oldest `created_at`) per type and status, in one scan: the
    queued rows give the queue's depth and its oldest job too."""
    job = BackgroundJob
    rows = session.execute(
        select(job.type, job.status, func.count(), func.min(job.created_at)).group_by(
            job.type, job.status
        )
    )
    return [(kind, JobStatus(status).value, count, oldest) for kind, status, count, oldest in rows]


def sync_runs_by_outcome(session: Session) -> list[tuple[str, str, str, int]]:
    """(sync kind, environment kind or `none`, outcome, count) over the recorded runs."""
    run = SyncRun.__table__
    outcome = case(
        (run.c.finished_at.is_(None), literal("running")),
        (run.c.error.is_not(None), literal("failed")),
        (run.c.complete.is_(False), literal("incomplete")),
        else_=literal("succeeded"),
    )
    # as plain text: the enum type would refuse `none` when it reads the rows back
    env_kind = func.coalesce(cast(Environment.__table__.c.kind, String), literal(NO_ENVIRONMENT))
    statement = (
        select(run.c.kind, env_kind, outcome, func.count())
        .select_from(run.outerjoin(Environment, Environment.id == run.c.environment_id))
        .group_by(run.c.kind, env_kind, outcome)
    )
    return [
        (_value(kind), _value(env), str(out), n) for kind, env, out, n in session.execute(statement)
    ]


def mappings_by_tenant_and_state(session: Session) -> list[tuple[str, str, int]]:
    """(tenant slug, state, count): a linked mapping counts under its derived sync state,
    others under their stored status; deleted mappings are left out."""
    m: Table = MAPPINGS
    state = func.coalesce(derived_state(m), cast(m.c.status, String))
    statement = (
        select(Tenant.slug, state, func.count())
        .select_from(m.join(Tenant, Tenant.id == m.c.tenant_id))
        .where(m.c.status != MappingStatus.DELETED.value)
        .group_by(Tenant.slug, state)
    )
    return [(slug, _value(value), count) for slug, value, count in session.execute(statement)]


def _value(value: Any) -> str:
    return str(getattr(value, "value", value))
