"""Read and replace a tenant's ignore rules. Replacing them stores the list and queues the
job that recomputes the ignored hashes of the tenant's cells (stored JSON only: no n8n, no
Git), one environment per transaction, and records the cells whose state changed: a
tenant of 200,000 cells must not hold a request, nor SQLite's write lock, for minutes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from canonflow.audit import record_by
from canonflow.catalogue import effective
from canonflow.catalogue.states import MAPPINGS, StateCause, record_state_changes
from canonflow.core.ignore_rules import InvalidRulePath, parse_rule_path
from canonflow.db.engine import transaction
from canonflow.db.models import Environment, IgnoreRuleEntry, StateChange
from canonflow.db.types import utcnow
from canonflow.errors import Invalid
from canonflow.jobs import service as jobs
from canonflow.jobs.registry import JobRegistry
from canonflow.policy.schemas import (
    IgnoreRuleIn,
    IgnoreRuleOut,
    IgnoreRulesRead,
    IgnoreRulesWritten,
)
from canonflow.tenancy.service import Principal

IGNORE_RULES_APPLY = "policy.ignore_rules.apply"


def read_rules(session: Session, tenant_id: uuid.UUID) -> IgnoreRulesRead:
    return IgnoreRulesRead(rules=_out(session, tenant_id))


def replace_rules(
    session: Session, registry: JobRegistry, actor: Principal, rules: list[IgnoreRuleIn]
) -> IgnoreRulesWritten:
    """Validate every rule (422 naming the first bad one and why), store the list in its
    order and queue its application (`apply_rules`, a job: one waits per tenant, and a
    waiting one answers a second PUT, reading the rules when it runs); audited."""
    tenant_id = actor.tenant_id
    paths = store_rules(session, tenant_id, rules)
    job = jobs.enqueue(
        session, registry, tenant_id=tenant_id, job_type=IGNORE_RULES_APPLY, created_by=actor
    )
    record_by(
        session,
        actor,
        action="ignore_rules.replace",
        target_type="ignore_rules",
        details={"paths": paths, "job_id": str(job.id)},
    )
    session.flush()
    return IgnoreRulesWritten(
        rules=_out(session, tenant_id), job_id=job.id, url=f"/api/v1/jobs/{job.id}"
    )


def store_rules(session: Session, tenant_id: uuid.UUID, rules: list[IgnoreRuleIn]) -> list[str]:
    """Validate and store the tenant's rule list in its order; the paths as stored."""
    paths = [_checked_path(index, rule.path) for index, rule in enumerate(rules)]
    _check_environments(session, tenant_id, rules)
    session.execute(delete(IgnoreRuleEntry).where(IgnoreRuleEntry.tenant_id == tenant_id))
    session.flush()
    for position, (rule, path) in enumerate(zip(rules, paths, strict=True)):
        session.add(
            IgnoreRuleEntry(
                tenant_id=tenant_id,
                position=position,
                path=path,
                workflows=list(rule.workflows),
                environments=[str(e) for e in rule.environments],
                note=rule.note,
            )
        )
    session.flush()
    return paths


def apply_rules(
    sessions: sessionmaker[Session],
    tenant_id: uuid.UUID,
    progress: Callable[[int, int | None], None] | None = None,
) -> dict[str, int]:
    """Make every cell's ignored hashes current under the tenant's rules as they are now,
    and record the state changes (cause `ignore_rules`): one transaction per environment,
    so syncs and requests interleave. Safe to run again: a cell whose rules and raw hashes
    did not change is left alone."""
    with transaction(sessions) as session:
        environment_ids = list(
            session.scalars(
                select(Environment.id)
                .where(Environment.tenant_id == tenant_id)
                .order_by(Environment.name)
            )
        )
    recomputed = changed = 0
    for done, environment_id in enumerate(environment_ids, start=1):
        with transaction(sessions) as session:
            recomputed += effective.refresh(
                session, tenant_id, [MAPPINGS.c.environment_id == environment_id]
            )
            now = utcnow()
            record_state_changes(
                session, tenant_id, StateCause.IGNORE_RULES, environment_id=environment_id, at=now
            )
            changed += _changes_at(session, tenant_id, now)
        if progress is not None:
            progress(done, len(environment_ids))
    return {"cells_recomputed": recomputed, "state_changes": changed}


def _changes_at(session: Session, tenant_id: uuid.UUID, at: datetime) -> int:
    """The state changes recorded at `at` (counted: an INSERT ... SELECT's rowcount is
    not reliable on every driver)."""
    return (
        session.scalar(
            select(func.count()).where(
                StateChange.tenant_id == tenant_id,
                StateChange.cause == StateCause.IGNORE_RULES.value,
                StateChange.at == at,
            )
        )
        or 0
    )


def _checked_path(index: int, path: str) -> str:
    """The path in its canonical spelling; Invalid with the reason."""
    try:
        return str(parse_rule_path(path))
    except InvalidRulePath as error:
        raise Invalid(f"rules[{index}].path {path!r}: {error}") from None


def _check_environments(session: Session, tenant_id: uuid.UUID, rules: list[IgnoreRuleIn]) -> None:
    wanted = {e for rule in rules for e in rule.environments}
    if not wanted:
        return
    found = set(
        session.scalars(
            select(Environment.id).where(
                Environment.tenant_id == tenant_id, Environment.id.in_(wanted)
            )
        )
    )
    unknown = sorted(str(e) for e in wanted - found)
    if unknown:
        raise Invalid(f"unknown environment ids: {', '.join(unknown)}")


def _out(session: Session, tenant_id: uuid.UUID) -> list[IgnoreRuleOut]:
    rows = session.scalars(
        select(IgnoreRuleEntry)
        .where(IgnoreRuleEntry.tenant_id == tenant_id)
        .order_by(IgnoreRuleEntry.position)
    )
    return [
        IgnoreRuleOut(
            path=r.path,
            workflows=list(r.workflows or ()),
            environments=[uuid.UUID(e) for e in r.environments or ()],
            note=r.note,
        )
        for r in rows
    ]
