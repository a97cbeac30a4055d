"""Queries on `environments`. Every query filters by tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from canonflow.db.models import Environment


def get(session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID) -> Environment | None:
    return session.scalars(
        select(Environment).where(
            Environment.tenant_id == tenant_id, Environment.id == environment_id
        )
    ).one_or_none()


def get_by_name(session: Session, tenant_id: uuid.UUID, name: str) -> Environment | None:
    return session.scalars(
        select(Environment).where(Environment.tenant_id == tenant_id, Environment.name == name)
    ).one_or_none()


def list_all(session: Session, tenant_id: uuid.UUID) -> list[Environment]:
    return list(
        session.scalars(
            select(Environment).where(Environment.tenant_id == tenant_id).order_by(Environment.name)
        )
    )


def clear_anchor(session: Session, tenant_id: uuid.UUID) -> None:
    session.execute(
        update(Environment)
        .where(Environment.tenant_id == tenant_id, Environment.is_anchor.is_(True))
        .values(is_anchor=False)
    )
