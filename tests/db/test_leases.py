"""Leases: one holder at a time across sessions (and so across processes)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import timedelta

import pytest
from sqlalchemy import select

from canonflow.db import leases
from canonflow.db.engine import transaction
from canonflow.db.models import Lease, Tenant
from canonflow.errors import Conflict
from canonflow.runtime import Runtime
from tests.factories import make_tenant

TTL = timedelta(minutes=5)


@pytest.fixture
def tenant(runtime: Runtime) -> Tenant:
    with transaction(runtime.sessions) as session:
        return make_tenant(session)


def test_a_held_lease_refuses_a_second_holder(runtime: Runtime, tenant: Tenant) -> None:
    first = leases.try_acquire(runtime.sessions, name="sync:a", tenant_id=tenant.id, ttl=TTL)
    assert first is not None
    assert leases.try_acquire(runtime.sessions, name="sync:a", tenant_id=tenant.id, ttl=TTL) is None
    assert leases.try_acquire(runtime.sessions, name="sync:b", tenant_id=tenant.id, ttl=TTL)
    leases.release(first)
    assert leases.try_acquire(runtime.sessions, name="sync:a", tenant_id=tenant.id, ttl=TTL)


def test_an_expired_lease_is_taken_over(runtime: Runtime, tenant: Tenant) -> None:
    crashed = leases.try_acquire(
        runtime.sessions, name="sync:a", tenant_id=tenant.id, ttl=timedelta(seconds=-1)
    )
    assert crashed is not None
    taker = leases.try_acquire(runtime.sessions, name="sync:a", tenant_id=tenant.id, ttl=TTL)
    assert taker is not None
    leases.release(crashed)  # the crashed holder's release must not free the new holder's lease
    assert leases.try_acquire(runtime.sessions, name="sync:a", tenant_id=tenant.id, ttl=TTL) is None


def test_renew_pushes_the_expiry(runtime: Runtime, tenant: Tenant) -> None:
    lease = leases.try_acquire(runtime.sessions, name="sync:a", tenant_id=tenant.id, ttl=TTL)
    assert lease is not None
    with transaction(runtime.sessions) as session:
        before = session.get(Lease, "sync:a")
        assert before is not None
        expiry = before.expires_at
    lease.renew()  # too soon after acquiring: nothing to write
    with transaction(runtime.sessions) as session:
        same = session.get(Lease, "sync:a")
        assert same is not None and same.expires_at == expiry
    lease.renewed_at -= TTL.total_seconds()  # as if a long while had passed
    lease.renew()
    with transaction(runtime.sessions) as session:
        after = session.get(Lease, "sync:a")
        assert after is not None and after.expires_at > expiry


def test_held_raises_conflict_with_the_message(runtime: Runtime, tenant: Tenant) -> None:
    def hold(message: str) -> AbstractContextManager[leases.HeldLease]:
        return leases.held(
            runtime.sessions, name="x", tenant_id=tenant.id, ttl=TTL, busy_message=message
        )

    with hold("first"), pytest.raises(Conflict, match="busy now"), hold("busy now"):
        pass
    with hold("free again"):
        pass


def _taken_over(runtime: Runtime, tenant: Tenant) -> leases.HeldLease:
    """A lease whose holder stalled past its time to live while another run took it."""
    stalled = leases.try_acquire(
        runtime.sessions, name="sync:a", tenant_id=tenant.id, ttl=timedelta(seconds=-1)
    )
    assert stalled is not None
    assert leases.try_acquire(runtime.sessions, name="sync:a", tenant_id=tenant.id, ttl=TTL)
    return stalled


def test_a_renewal_that_finds_the_lease_taken_over_stops_the_holder(
    runtime: Runtime, tenant: Tenant
) -> None:
    stalled = _taken_over(runtime, tenant)
    with pytest.raises(leases.LeaseLost) as lost:
        stalled.renew()
    assert "taken over by another run" in lost.value.message
    with transaction(runtime.sessions) as session:  # the new holder keeps its lease
        row = session.get(Lease, "sync:a")
        assert row is not None and row.owner != stalled.owner


def test_a_write_checked_against_a_lost_lease_is_not_committed(
    runtime: Runtime, tenant: Tenant
) -> None:
    stalled = _taken_over(runtime, tenant)
    with pytest.raises(leases.LeaseLost), transaction(runtime.sessions) as session:
        session.add(Tenant(slug="written-by-the-stalled-run", name="x"))
        session.flush()
        stalled.hold_in(session)
    with transaction(runtime.sessions) as session:
        assert (
            session.scalars(
                select(Tenant).where(Tenant.slug == "written-by-the-stalled-run")
            ).first()
            is None
        )
