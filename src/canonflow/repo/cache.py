"""The tenant's local copy of its repository is used by one job at a time: repo syncs,
write-backs and checks take its lease (a row in `leases`, across processes)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from canonflow.db import leases

LEASE_TTL = timedelta(minutes=10)
BUSY = "the repository's local copy is in use (a sync or a write): try again shortly"


def cache_lease_name(tenant_id: uuid.UUID) -> str:
    return f"repo-sync:{tenant_id}"


@contextmanager
def cache_in_use(sessions: sessionmaker[Session], tenant_id: uuid.UUID) -> Iterator[None]:
    """Hold the cache for the block; `Conflict(BUSY)` if another job holds it."""
    with leases.held(
        sessions,
        name=cache_lease_name(tenant_id),
        tenant_id=tenant_id,
        ttl=LEASE_TTL,
        busy_message=BUSY,
    ):
        yield
