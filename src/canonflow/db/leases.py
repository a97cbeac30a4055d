"""Acquire, renew and release leases, each in its own short committed transaction.

A holder that stalls past its lease's time to live may find, when it renews, that another
run took the lease over: the renewal raises `LeaseLost` and the holder stops at once,
rather than carrying on beside the new holder. `hold_in` makes the same check inside the
caller's own transaction, so a run's decisive write commits only while it holds the lease.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from canonflow.db.engine import transaction
from canonflow.db.models import Lease
from canonflow.db.types import utcnow
from canonflow.errors import Conflict

#: set by the job executor while a job runs: the leases it takes are named after it, so a
#: dead worker's leases can be released when its job is taken over (`release_held_by`)
holder: ContextVar[str | None] = ContextVar("lease_holder", default=None)


def owner_for(job_id: uuid.UUID) -> str:
    return f"job:{job_id}"


class LeaseLost(Conflict):
    """Another run holds the lease this one held: this one must stop."""


@dataclass
class HeldLease:
    name: str
    owner: str
    ttl: timedelta
    sessions: sessionmaker[Session]
    renewed_at: float = field(default_factory=time.monotonic)

    def renew(self) -> None:
        """Push the expiry out; call it as often as convenient while the work goes on (it
        writes at most every tenth of the lease's time to live: a lease can only be lost
        after a stall longer than its time to live, so the check is never skipped then).
        Raises `LeaseLost` when another holder took it over."""
        if time.monotonic() - self.renewed_at < self.ttl.total_seconds() / 10:
            return
        with transaction(self.sessions) as session:
            self.hold_in(session)

    def hold_in(self, session: Session) -> None:
        """Renew within the caller's transaction (what it writes then commits only while
        the lease is held); raises `LeaseLost` when another holder took it over."""
        result = session.execute(
            update(Lease)
            .where(Lease.name == self.name, Lease.owner == self.owner)
            .values(expires_at=utcnow() + self.ttl)
        )
        if not isinstance(result, CursorResult) or result.rowcount != 1:
            raise LeaseLost(
                f"stopped: the lease {self.name!r} was taken over by another run after this "
                f"one stalled for longer than its {self.ttl.total_seconds():g} s time to live; "
                "what this run had not yet written was left to the other"
            )
        self.renewed_at = time.monotonic()


def try_acquire(
    sessions: sessionmaker[Session], *, name: str, tenant_id: uuid.UUID | None, ttl: timedelta
) -> HeldLease | None:
    """Take the lease unless someone holds an unexpired one."""
    prefix = holder.get()
    owner = f"{prefix}:{uuid.uuid4().hex}" if prefix else uuid.uuid4().hex
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


def release_held_by(session: Session, prefix: str) -> int:
    """Drop the leases a dead holder took (its job was taken over)."""
    result = session.execute(delete(Lease).where(Lease.owner.startswith(f"{prefix}:")))
    return result.rowcount if isinstance(result, CursorResult) else 0


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
