"""Acquire, renew and release leases, each in its own short committed transaction."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from canonflow.db.engine import transaction
from canonflow.db.models import Lease
from canonflow.db.types import utcnow
from canonflow.errors import Conflict


@dataclass
class HeldLease:
    name: str
    owner: str
    ttl: timedelta
    sessions: sessionmaker[Session]
    renewed_at: float = field(default_factory=time.monotonic)

    def renew(self) -> None:
        """Push the expiry out; call it as often as convenient while the work goes on (it
        writes at most every tenth of the lease's time to live)."""
        if time.monotonic() - self.renewed_at < self.ttl.total_seconds() / 10:
            return
        self.renewed_at = time.monotonic()
        with transaction(self.sessions) as session:
            session.execute(
                update(Lease)
                .where(Lease.name == self.name, Lease.owner == self.owner)
                .values(expires_at=utcnow() + self.ttl)
            )


def try_acquire(
    sessions: sessionmaker[Session], *, name: str, tenant_id: uuid.UUID, ttl: timedelta
) -> HeldLease | None:
    """Take the lease unless someone holds an unexpired one."""
    owner = uuid.uuid4().hex
    now = utcnow()
    try:
        with transaction(sessions) as session:
            session.execute(delete(Lease).where(Lease.name == name, Lease.expires_at < now))
            session.add(
                Lease(
                    name=name,
                    tenant_id=tenant_id,
                    owner=owner,
                    acquired_at=now,
                    expires_at=now + ttl,
                )
            )
    except IntegrityError:
        return None
    return HeldLease(name=name, owner=owner, ttl=ttl, sessions=sessions)


def release(lease: HeldLease) -> None:
    with transaction(lease.sessions) as session:
        session.execute(delete(Lease).where(Lease.name == lease.name, Lease.owner == lease.owner))


@contextmanager
def held(
    sessions: sessionmaker[Session],
    *,
    name: str,
    tenant_id: uuid.UUID,
    ttl: timedelta,
    busy_message: str,
) -> Iterator[HeldLease]:
    """Hold the lease for the block, or raise `Conflict(busy_message)` if it is taken."""
    lease = try_acquire(sessions, name=name, tenant_id=tenant_id, ttl=ttl)
    if lease is None:
        raise Conflict(busy_message)
    try:
        yield lease
    finally:
        release(lease)
