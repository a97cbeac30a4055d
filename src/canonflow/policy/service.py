"""Read and replace a tenant's ignore rules. Replacing them recomputes the ignored hashes
of every cell of the tenant in the same transaction (stored JSON only: no n8n, no Git)
and records the cells whose state changed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from canonflow.audit import Actor, record_by
from canonflow.catalogue import effective
from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.ignore_rules import InvalidRulePath, parse_rule_path
from canonflow.db.models import Environment, IgnoreRuleEntry, StateChange
from canonflow.db.types import utcnow
from canonflow.errors import Invalid
from canonflow.policy.schemas import (
    IgnoreRuleIn,
    IgnoreRuleOut,
    IgnoreRulesRead,
    IgnoreRulesWritten,
)


def read_rules(session: Session, tenant_id: uuid.UUID) -> IgnoreRulesRead:
    return IgnoreRulesRead(rules=_out(session, tenant_id))


def replace_rules(session: Session, actor: Actor, rules: list[IgnoreRuleIn]) -> IgnoreRulesWritten:
    """Validate every rule (422 naming the first bad one and why), store the list in its
    order, recompute the tenant's ignored hashes and record the state changes; audited."""
    tenant_id = actor.tenant_id
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
    recomputed = effective.refresh(session, tenant_id)
    now = utcnow()
    record_state_changes(session, tenant_id, StateCause.IGNORE_RULES, at=now)
    changed = _changes_at(session, tenant_id, now)
    record_by(
        session,
        actor,
        action="ignore_rules.replace",
        target_type="ignore_rules",
        details={"paths": paths, "cells_recomputed": recomputed, "state_changes": changed},
    )
    session.flush()
    return IgnoreRulesWritten(
        rules=_out(session, tenant_id), cells_recomputed=recomputed, state_changes=changed
    )


def _changes_at(session: Session, tenant_id: uuid.UUID, at: datetime) -> int:
    """The state changes this PUT recorded (counted: an INSERT ... SELECT's rowcount is
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
